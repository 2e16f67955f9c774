"""The server's "commands unacknowledged" warning as a technician meets it, over HTTP on
SQLite and PostgreSQL: a kiosk holding a command unacknowledged for 10 minutes sorts with the
other warnings on the fleet overview (JSON and page), and the alert history shows each spell,
open while it lasts, then cleared at the acknowledgement or the answer (an older kiosk's
answer, a newer kiosk naming it in its heartbeat)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import update

from central_server.embedded import EmbeddedServer
from central_server.fleet.models import FleetCommand
from tests.central.conftest import ADMIN_TOKEN
from tests.central.fleet.helpers import GIB, Technician, answer, beat, enrol, kiosks, queue
from tests.central.fleet.test_alert_history import PAPER_OUT, history, when
from tests.central.fleet.test_command_redelivery import app, overview_rows, server

__all__ = ["app", "server"]  # the fixtures: the app (its database at hand) and its server
CODE = "commands_unacknowledged"


def handed_out_ago(app: FastAPI, cid: int, minutes: int) -> datetime:
    """Move the command's hand-out `minutes` back (as if the kiosk had it that long); the
    new hand-out time."""
    sent = datetime.now(UTC) - timedelta(minutes=minutes)
    with app.state.db.transaction() as session:
        session.execute(update(FleetCommand).where(FleetCommand.id == cid).values(sent_at=sent))
    return sent


def spells(server: EmbeddedServer, kiosk_id: str, **params: str) -> list[dict[str, Any]]:
    """The kiosk's unacknowledged-command spells in the history, newest first."""
    return history(server, kiosk_id=kiosk_id, code=CODE, **params)


def test_a_kiosk_holding_unacknowledged_commands_sorts_with_the_warnings(
    app: FastAPI, server: EmbeddedServer
) -> None:
    """Most troubled first: the critical kiosks (a heartbeat's alert; one never heard from,
    offline too long), then the warnings (a heartbeat's, the server's), in kiosk order, then
    the healthy one; the same on the overview page."""
    fine, stuck = enrol(server, "kiosk-a-fine"), enrol(server, "kiosk-c-stuck")
    disk, paper = enrol(server, "kiosk-b-disk"), enrol(server, "kiosk-d-paper")
    enrol(server, "kiosk-e-silent")
    lost = queue(server, "upload_logs", "kiosk-c-stuck")
    assert [c["id"] for c in beat(server, stuck).json()["commands"]] == [lost]  # older kiosk
    beat(server, fine)
    beat(server, disk, disk_free_bytes=GIB // 2)
    beat(server, paper, devices=PAPER_OUT)
    before = ["kiosk-d-paper", "kiosk-e-silent", "kiosk-b-disk", "kiosk-a-fine", "kiosk-c-stuck"]
    assert list(kiosks(server)) == before  # not yet 10 minutes: healthy

    handed_out_ago(app, lost, 11)
    order = ["kiosk-d-paper", "kiosk-e-silent", "kiosk-b-disk", "kiosk-c-stuck", "kiosk-a-fine"]
    listed = kiosks(server)
    assert list(listed) == order  # was last, below the healthy kiosk
    assert listed["kiosk-c-stuck"]["alerts"] == [CODE]
    assert listed["kiosk-c-stuck"]["colour"] == listed["kiosk-b-disk"]["colour"] == "amber"
    assert list(kiosks(server, problem="any")) == order[:4]
    technician = Technician(server.base_url, ADMIN_TOKEN)
    assert list(overview_rows(technician)) == order


def test_the_alert_history_shows_when_commands_went_unacknowledged_and_when_they_cleared(
    app: FastAPI, server: EmbeddedServer
) -> None:
    """An older kiosk's command (it never names what it received) is open in the history
    from 10 minutes after its hand-out until the kiosk's answer; a newer kiosk's clears when
    its heartbeat names it; one acknowledged in time leaves nothing."""
    old, new = enrol(server, "kiosk-old"), enrol(server, "kiosk-new")
    lost = queue(server, "upload_logs", "kiosk-old")
    late, prompt = queue(server, "screenshot", "kiosk-new"), queue(server, "reboot", "kiosk-new")
    assert [c["id"] for c in beat(server, old).json()["commands"]] == [lost]
    handed = beat(server, new, received_commands=[]).json()["commands"]
    assert [c["id"] for c in handed] == [late, prompt]
    assert beat(server, new, received_commands=[prompt]).status_code == 200  # in time
    assert spells(server, "kiosk-old") == spells(server, "kiosk-new") == []

    sent_old, sent_new = handed_out_ago(app, lost, 11), handed_out_ago(app, late, 25)
    [open_old] = spells(server, "kiosk-old")
    assert open_old["open"] and open_old["cleared_at"] is None
    assert abs(when(open_old["raised_at"]) - (sent_old + timedelta(minutes=10))) < timedelta(
        seconds=1
    )
    assert open_old["severity"] == "warning" and "not acknowledged by the kiosk" in open_old["text"]
    [open_new] = spells(server, "kiosk-new", state="open")
    assert abs(when(open_new["raised_at"]) - (sent_new + timedelta(minutes=10))) < timedelta(
        seconds=1
    )
    assert {e["kiosk_id"] for e in history(server, code=CODE, state="open")} == {
        "kiosk-old",
        "kiosk-new",
    }
    assert history(server, code=CODE, state="cleared") == []
    assert [e["kiosk_id"] for e in history(server, office="3578", code=CODE)] == []

    answered = datetime.now(UTC)
    answer(server, old, lost, "uploaded")
    assert beat(server, new, received_commands=[late]).status_code == 200  # acknowledged
    for kiosk_id, spell in (("kiosk-old", open_old), ("kiosk-new", open_new)):
        [cleared] = spells(server, kiosk_id)
        assert not cleared["open"] and cleared["raised_at"] == spell["raised_at"]
        assert when(cleared["cleared_at"]) >= answered - timedelta(seconds=1)
        assert spells(server, kiosk_id, state="open") == []
        assert spells(server, kiosk_id, state="cleared") == [cleared]
    assert "kiosk-new" in kiosks(server) and CODE not in kiosks(server)["kiosk-new"]["alerts"]

    technician = Technician(server.base_url, ADMIN_TOKEN)
    page = technician.http.get(
        f"{server.base_url}/fleet/alerts", params={"code": CODE}, timeout=10
    ).text
    table = page.split('id="alert-history"')[1]
    for kiosk_id in ("kiosk-old", "kiosk-new"):
        assert f'data-kiosk="{kiosk_id}" data-code="{CODE}" data-state="cleared"' in table
    assert "Perintah dikirim lebih dari 10 menit lalu belum dikonfirmasi anjungan" in table
    assert "reboot" not in table and table.count('class="alert-event') == 2
