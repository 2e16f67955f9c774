"""A technician cancels a remote command ("Batalkan perintah / Cancel command"), over HTTP on
SQLite and PostgreSQL against the kiosk's real health reporter (through a fault proxy losing
answers or results): one still queued is never handed out; one handed out whose answer was lost
is handed out no more, no longer flagged unacknowledged, its spell in the alert history ends at
the cancellation, and the page says the kiosk may have run it; a result reported afterwards is
kept and shown as coming after the cancellation; one with a result is refused, nothing changes.
The cancellation is a confirmed form (CSRF), audited, and the same operation in the JSON API."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi import FastAPI

from central_server.embedded import EmbeddedServer
from kiosk_app.central import CentralError
from tests.central.conftest import ADMIN_TOKEN
from tests.central.fleet.helpers import (
    KIOSK,
    STAFF,
    Technician,
    answer,
    beat,
    command,
    enrol,
    kiosk_rig,
    kiosks,
    queue,
    status_on_page,
)
from tests.central.fleet.test_alert_history import when
from tests.central.fleet.test_command_redelivery import HEARTBEAT, RESULTS, Kiosk, app, server
from tests.central.fleet.test_unacknowledged_alert import CODE, handed_out_ago, spells

__all__ = ["app", "server"]  # the fixtures: the app (its database at hand) and its server
MAY_HAVE_RUN = "Mungkin sudah dijalankan anjungan"
AFTER = "Hasil masuk setelah dibatalkan"


@pytest.fixture
def kiosk(server: EmbeddedServer, tmp_path: Path) -> Any:
    yield from kiosk_rig(Kiosk, server, tmp_path)


def cancel_api(server: EmbeddedServer, cid: int, **headers: str) -> requests.Response:
    """POST the JSON API's cancellation as the admin token (or `headers`)."""
    return requests.post(
        f"{server.base_url}/api/v1/fleet/commands/{cid}/cancel",
        headers=headers or STAFF,
        timeout=10,
    )


class Canceller(Technician):
    """A technician cancelling from the kiosk page: asked first, then confirming."""

    def ask(self, cid: int, kiosk_id: str = KIOSK, **data: str) -> requests.Response:
        page = self.page(kiosk_id)
        [csrf] = set(re.findall(r'name="csrf" value="([^"]+)"', page))
        assert f'id="cancel-command-{cid}"' in page  # the row's button
        action = f"{self.base_url}/fleet/kiosks/{kiosk_id}/commands/{cid}/cancel"
        return self.http.post(action, data={"csrf": csrf} | data, timeout=10)

    def cancel(self, cid: int, kiosk_id: str = KIOSK) -> requests.Response:
        asked = self.ask(cid, kiosk_id)
        assert asked.status_code == 200 and 'id="confirm-cancel-command"' in asked.text
        return self.ask(cid, kiosk_id, confirmed="1")


def test_a_queued_command_cancelled_is_never_handed_out(
    server: EmbeddedServer, kiosk: Kiosk, caplog: pytest.LogCaptureFixture
) -> None:
    health = kiosk.start()
    cid = queue(server, "reboot")  # the wrong kiosk, during opening hours
    technician = Canceller(server.base_url, ADMIN_TOKEN)
    asked = technician.ask(cid)
    assert asked.status_code == 200 and "Batalkan perintah" in asked.text
    assert 'data-handed-out="0"' in asked.text and "tidak akan pernah dikirim" in asked.text
    assert command(server, cid)["status"] == "queued"  # asked first, nothing changed yet
    with caplog.at_level(logging.WARNING, logger="central_server.audit"):
        done = technician.ask(cid, confirmed="1")
    assert done.status_code == 200 and 'id="command-cancelled"' in done.text
    audit = [r.getMessage() for r in caplog.records if r.name == "central_server.audit"]
    assert audit == [f"technician cancelled command {cid} (reboot) of kiosk {KIOSK} while queued"]

    assert health.beat_once() == [] and health.beat_once() == []
    assert kiosk.system.calls == []
    cancelled = command(server, cid)
    assert (cancelled["status"], cancelled["sent_at"], cancelled["deliveries"]) == (
        "cancelled",
        None,
        0,
    )
    assert cancelled["cancelled_by"] == "technician" and cancelled["cancelled_at"]
    row = status_on_page(server, cid)
    assert 'data-status="cancelled"' in row and "Dibatalkan teknisi" in row
    assert "Tidak pernah dikirim" in row and f'id="cancel-command-{cid}"' not in row


def test_an_older_kiosk_s_lost_command_cancelled_is_no_longer_flagged_and_a_late_result_kept(
    app: FastAPI, server: EmbeddedServer
) -> None:
    old = enrol(server, "kiosk-old")
    lost = queue(server, "upload_logs", "kiosk-old")
    assert [c["id"] for c in beat(server, old).json()["commands"]] == [lost]  # answer lost
    handed_out_ago(app, lost, 11)
    assert CODE in kiosks(server)["kiosk-old"]["alerts"]
    [spell] = spells(server, "kiosk-old", state="open")

    before = datetime.now(UTC)
    r = cancel_api(server, lost)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["unacknowledged"], body["cancelled_by"]) == (
        "cancelled",
        False,
        "admin-token",
    )
    assert CODE not in kiosks(server)["kiosk-old"]["alerts"]
    assert kiosks(server, problem=CODE) == {}
    assert spells(server, "kiosk-old", state="open") == []
    [ended] = spells(server, "kiosk-old", state="cleared")
    assert ended["raised_at"] == spell["raised_at"]
    assert when(ended["cleared_at"]) >= before - timedelta(seconds=1)
    row = status_on_page(server, lost, "kiosk-old")
    assert MAY_HAVE_RUN in row and "data-unacknowledged" not in row
    assert beat(server, old).json()["commands"] == []
    assert beat(server, old, received_commands=[]).json()["commands"] == []  # updated since

    answer(server, old, lost, "logs uploaded")  # it had run after all: the truth is kept
    late = command(server, lost)
    assert (late["status"], late["result_detail"]) == ("done", "logs uploaded")
    assert late["cancelled_at"] == body["cancelled_at"]
    row = status_on_page(server, lost, "kiosk-old")
    assert 'data-status="done"' in row and 'data-cancelled="1"' in row and AFTER in row
    assert "logs uploaded" in row
    assert len(spells(server, "kiosk-old")) == 1  # the spell ended once, at the cancellation
    assert CODE not in kiosks(server)["kiosk-old"]["alerts"]


def test_a_current_kiosk_s_lost_answer_cancelled_is_not_handed_out_again(
    server: EmbeddedServer, kiosk: Kiosk
) -> None:
    health = kiosk.start()
    cid = queue(server, "print_test_ticket")
    kiosk.proxy.only, kiosk.proxy.mode = HEARTBEAT, "reset_after_forward"
    with pytest.raises(CentralError):  # both answers lost (the client resends once)
        health.beat_once()
    assert (command(server, cid)["status"], command(server, cid)["deliveries"]) == ("sent", 2)
    technician = Canceller(server.base_url, ADMIN_TOKEN)
    asked = technician.ask(cid)
    assert 'data-handed-out="1"' in asked.text and MAY_HAVE_RUN in asked.text
    assert technician.ask(cid, confirmed="1").status_code == 200

    kiosk.proxy.mode = "forward"
    assert health.beat_once() == [] and health.beat_once() == []
    assert kiosk.printed == 0
    cancelled = command(server, cid)
    assert (cancelled["status"], cancelled["deliveries"]) == ("cancelled", 2)
    assert MAY_HAVE_RUN in status_on_page(server, cid)


def test_a_received_command_cancelled_shows_the_result_the_kiosk_reports_afterwards(
    server: EmbeddedServer, kiosk: Kiosk
) -> None:
    health = kiosk.start()
    cid = queue(server, "print_test_ticket")
    kiosk.proxy.only, kiosk.proxy.mode = RESULTS, "reset"  # its result report lost
    assert [c["id"] for c in health.beat_once()] == [cid]
    assert health.beat_once() == [] and command(server, cid)["status"] == "received"
    assert Canceller(server.base_url, ADMIN_TOKEN).cancel(cid).status_code == 200
    assert command(server, cid)["status"] == "cancelled"
    assert MAY_HAVE_RUN in status_on_page(server, cid)

    kiosk.proxy.mode = "forward"
    assert health.beat_once() == []  # the recorded result reported, the ticket not printed again
    assert kiosk.printed == 1
    late = command(server, cid)
    assert (late["status"], late["result_detail"]) == ("done", "test ticket printed")
    assert late["cancelled_at"] is not None
    row = status_on_page(server, cid)
    assert AFTER in row and "test ticket printed" in row and 'id="cancel-command' not in row


def test_a_command_with_a_result_is_not_cancelled_and_nothing_changes(
    app: FastAPI, server: EmbeddedServer
) -> None:
    auth, other = enrol(server, KIOSK), enrol(server, "kiosk-02")
    done = queue(server, "screenshot")
    assert [c["id"] for c in beat(server, auth).json()["commands"]] == [done]
    technician = Canceller(server.base_url, ADMIN_TOKEN)
    page = technician.page(KIOSK)
    [csrf] = set(re.findall(r'name="csrf" value="([^"]+)"', page))
    answer(server, auth, done, "captured")  # while the page was open
    before = command(server, done)

    refused = cancel_api(server, done)
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "already_finished"
    action = f"{server.base_url}/fleet/kiosks/{KIOSK}/commands/{{}}/cancel".format
    for data in ({"csrf": csrf}, {"csrf": csrf, "confirmed": "1"}):
        r = technician.http.post(action(done), data=data, timeout=10)
        assert r.status_code == 200 and 'id="command-error"' in r.text
        assert "tidak bisa dibatalkan" in r.text and 'id="command-cancelled"' not in r.text
    assert command(server, done) == before

    queued = queue(server, "reboot")
    assert cancel_api(server, queued).status_code == 200
    again = cancel_api(server, queued)
    assert again.status_code == 409 and again.json()["detail"]["code"] == "already_cancelled"
    assert "sudah dibatalkan" in technician.http.post(action(queued),
        data={"csrf": csrf, "confirmed": "1"}, timeout=10).text  # fmt: skip
    assert cancel_api(server, 999_999).status_code == 404
    mine = queue(server, "reboot")
    elsewhere = f"{server.base_url}/fleet/kiosks/kiosk-02/commands/{mine}/cancel"
    r = technician.http.post(
        elsewhere, data={"csrf": csrf, "confirmed": "1"}, timeout=10, allow_redirects=False
    )
    assert r.status_code == 404  # not the other kiosk's command
    stale = technician.http.post(action(mine), data={"csrf": "x", "confirmed": "1"}, timeout=10)
    assert stale.status_code == 200 and "formulir kedaluwarsa" in stale.text
    assert cancel_api(server, mine, Authorization="Bearer " + "k" * 20).status_code == 401
    assert cancel_api(server, mine, Authorization=other["Authorization"]).status_code == 401
    assert command(server, mine)["status"] == "queued"  # the kiosk's own token may not
