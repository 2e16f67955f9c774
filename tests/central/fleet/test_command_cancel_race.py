"""A cancellation racing a heartbeat's hand-out, or another technician's cancellation, on
PostgreSQL with two app servers on one database, over HTTP on loopback: exactly one outcome,
no error page. The order is made without a clock: a test connection holds the command's row
(FOR UPDATE) while the first request, then the second, wait for it (pg_locks); released, they
go on in that order."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import requests

from central_server.app import create_app
from central_server.embedded import EmbeddedServer
from tests.central.conftest import ADMIN_TOKEN, TODAY, wait_for
from tests.central.fleet.helpers import KIOSK, STAFF, beat, command, enrol, queue, status_on_page
from tests.central.fleet.test_command_cancel import MAY_HAVE_RUN, Canceller
from tests.central.fleet.test_command_redelivery import app, server
from tests.central.officer.test_queue_lock_order import _locks_waited

__all__ = ["app", "server"]
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def server_b(database_url: str) -> Iterator[EmbeddedServer]:
    """A second app server on the same PostgreSQL database."""
    other = create_app(
        database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN, open_enrolment=True
    )
    with EmbeddedServer(other, "127.0.0.1", 0).start() as running:
        yield running


def in_order(dsn: str, cid: int, first: Callable[[], Any], second: Callable[[], Any]) -> list[Any]:
    """Run `first` then `second`, each on its own thread, both waiting for the command's row
    held by a test connection until both wait; then release it. Their answers, in order."""
    answers: list[Any] = [None, None]

    def run(i: int, request: Callable[[], Any]) -> threading.Thread:
        def call() -> None:
            try:
                answers[i] = request()
            except Exception as exc:  # asserted by the test, not lost in a thread
                answers[i] = exc

        thread = threading.Thread(target=call, daemon=True)
        thread.start()
        wait_for(lambda: not thread.is_alive() or _locks_waited(dsn) >= i + 1)
        assert thread.is_alive(), f"request {i + 1} did not wait for the row: {answers[i]!r}"
        return thread

    with psycopg.connect(dsn) as gate:
        gate.execute("SELECT 1 FROM fleet_commands WHERE id = %s FOR UPDATE", (cid,))
        threads = [run(0, first), run(1, second)]
        gate.commit()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def cancel_on(base_url: str, cid: int) -> Callable[[], requests.Response]:
    return lambda: requests.post(
        f"{base_url}/api/v1/fleet/commands/{cid}/cancel", headers=STAFF, timeout=60
    )


def test_a_cancellation_first_keeps_the_command_from_the_heartbeat_waiting_for_it(
    server: EmbeddedServer, server_b: EmbeddedServer, database_url: str
) -> None:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    auth = enrol(server, KIOSK)
    cid = queue(server, "reboot")
    cancelled, answered = in_order(
        dsn, cid, cancel_on(server.base_url, cid), lambda: beat(server_b, auth)
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert answered.status_code == 200 and answered.json()["commands"] == []
    final = command(server, cid)
    assert (final["status"], final["sent_at"], final["deliveries"]) == ("cancelled", None, 0)
    assert "Tidak pernah dikirim" in status_on_page(server, cid)


def test_a_hand_out_first_is_cancelled_after_it_and_the_page_says_it_may_have_run(
    server: EmbeddedServer, server_b: EmbeddedServer, database_url: str
) -> None:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    auth = enrol(server, KIOSK)
    cid = queue(server, "reboot")
    answered, cancelled = in_order(
        dsn,
        cid,
        lambda: beat(server_b, auth, received_commands=[]),
        cancel_on(server.base_url, cid),
    )
    assert answered.status_code == 200 and [c["id"] for c in answered.json()["commands"]] == [cid]
    assert cancelled.status_code == 200
    final = command(server, cid)
    assert (final["status"], final["deliveries"]) == ("cancelled", 1)
    assert final["sent_at"] is not None
    assert MAY_HAVE_RUN in status_on_page(server, cid)
    assert beat(server_b, auth, received_commands=[]).json()["commands"] == []  # not again


def test_two_technicians_cancelling_at_once_on_two_app_servers_see_one_cancellation(
    server: EmbeddedServer, server_b: EmbeddedServer, database_url: str
) -> None:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    auth = enrol(server, KIOSK)
    cid = queue(server, "upload_logs")
    assert [c["id"] for c in beat(server, auth).json()["commands"]] == [cid]
    on_a, on_b = Canceller(server.base_url, ADMIN_TOKEN), Canceller(server_b.base_url, ADMIN_TOKEN)
    for technician in (on_a, on_b):  # both asked, both confirm
        assert technician.ask(cid).status_code == 200
    first, second = in_order(
        dsn,
        cid,
        lambda: on_a.ask(cid, confirmed="1"),
        lambda: on_b.ask(cid, confirmed="1"),
    )
    assert first.status_code == second.status_code == 200
    assert 'id="command-cancelled"' in first.text and 'id="command-error"' not in first.text
    assert 'id="command-error"' in second.text and "sudah dibatalkan" in second.text
    assert 'id="command-cancelled"' not in second.text
    final = command(server, cid)
    assert (final["status"], final["cancelled_by"]) == ("cancelled", "technician")
