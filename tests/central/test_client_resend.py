"""The kiosk's client resends, once, a request whose kept-alive connection the server closed
before any byte of the answer came (an nginx reload's old worker closes its idle connections
at once: tests/central/test_production_reload.py), when resending is safe: a GET, a POST with
an Idempotency-Key, a call whose contract makes it idempotent (the heartbeat, a batch of
keyed submissions). A POST without one is not resent, and its error says so."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from central_server.embedded import EmbeddedServer
from kiosk_app.central import CentralClient, CentralUnavailable
from tests.central.conftest import OFFICE, count_rows
from tests.central.test_client import MONDAY, NIK, submit
from tests.services.faultproxy import FaultProxy

HEARTBEAT = {
    "app_version": "0.1.0",
    "uptime_s": 60.0,
    "disk_free_bytes": 10 << 30,
    "disk_total_bytes": 64 << 30,
}
CALLS: dict[str, Callable[[CentralClient], Any]] = {
    "GET": lambda kiosk: kiosk.slots("akta_kelahiran", days=5),
    "POST with a key": lambda kiosk: submit(kiosk, "resent-key-1"),
    "heartbeat": lambda kiosk: kiosk.heartbeat(HEARTBEAT),
    "batch of keyed items": lambda kiosk: kiosk.submit_batch(
        [("resent-key-2", {"service": "akta_kelahiran", "applicant_nik": NIK,
                           "applicant_name": "Dewi Lestari", "data": {"child_name": "Rina"},
                           "slot": MONDAY})]
    ),
}  # fmt: skip


@pytest.fixture
def proxy(server: EmbeddedServer) -> Iterator[FaultProxy]:
    running = FaultProxy(server.port)
    yield running
    running.close()


@pytest.fixture
def kiosk(proxy: FaultProxy, client: CentralClient) -> Iterator[CentralClient]:
    """The registered kiosk, through the proxy, its connection kept alive by one heartbeat."""
    through = CentralClient(proxy.base_url, client.kiosk_id, OFFICE, token=client.token, timeout=10)
    through.heartbeat(HEARTBEAT)
    yield through
    through.close()


@pytest.mark.parametrize("call", CALLS)
def test_a_safe_request_whose_connection_closed_unanswered_is_sent_again_once(
    kiosk: CentralClient, proxy: FaultProxy, db_path: str, call: str
) -> None:
    before = proxy.forwarded
    proxy.set_mode("reset_once")
    CALLS[call](kiosk)  # answered: the caller never saw the closed connection
    assert proxy.mode == "forward"  # the reset happened
    assert proxy.forwarded == before + 1  # the server got it once (the reset one never)
    assert count_rows(db_path) == (call in ("POST with a key", "batch of keyed items"))


def test_a_post_without_a_key_is_not_resent_and_says_so(
    kiosk: CentralClient, proxy: FaultProxy
) -> None:
    before = proxy.requests
    proxy.set_mode("reset_once")
    with pytest.raises(CentralUnavailable, match="not resent .*POST without an idempotency key"):
        kiosk.checkin(field="registration_number", value="AKTA-35.17.261119.0001")
    assert proxy.requests == before + 1
    kiosk.heartbeat(HEARTBEAT)  # the next call goes through again
