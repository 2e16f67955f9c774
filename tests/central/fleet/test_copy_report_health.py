"""Receipt-copy print reports (kiosk_app.services.printing.copy_outcomes) waiting on the kiosk or
refused by the server reach the technician: the kiosk's health report counts them from the real
queue file, the heartbeat carries them to the real central server over HTTP on loopback (a fault
proxy keeps the reports from it), and the fleet dashboard raises an alert in words (a copy that
did not print is given back to the citizen's daily allowance only once its report is applied)."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from central_server.embedded import EmbeddedServer
from central_server.fleet.alerts import COPY_REPORTS_LATE_S
from kiosk_app.central import CentralClient
from kiosk_app.services.health import HealthReporter, RecordingSystemActions
from kiosk_app.services.printing.copy_outcomes import CLEARED, PENDING, REJECTED, CopyOutcomes
from tests.central.conftest import ADMIN_TOKEN, OFFICE
from tests.central.fleet.helpers import Technician, beat, enrol, heartbeat_body, kiosks
from tests.services.faultproxy import FaultProxy

OUTCOME = b"POST /api/v1/card-holder/receipt-copy/"  # the report's request line
WAITING = "Laporan hasil cetak salinan tanda terima tertahan di anjungan lebih dari 30 menit"
REFUSED = "Laporan hasil cetak salinan tanda terima ditolak server"
NO_SUCH_COPY = 987_654  # a copy this kiosk never made: the server refuses its report (404)


def dashboard(server: EmbeddedServer, kiosk_id: str) -> tuple[str, str]:
    """The fleet overview's row of the kiosk and the kiosk's page, as a technician reads them."""
    staff = requests.Session()
    login = staff.post(f"{server.base_url}/fleet/login", data={"token": ADMIN_TOKEN}, timeout=10)
    assert login.status_code == 200
    overview = staff.get(f"{server.base_url}/fleet/", timeout=10).text
    row = overview.split(f'data-kiosk="{kiosk_id}"')[1].split("</tr>")[0]
    page = staff.get(f"{server.base_url}/fleet/kiosks/{kiosk_id}", timeout=10).text
    return row, page


def copy_alerts(server: EmbeddedServer, kiosk_id: str) -> list[str]:
    return [a for a in kiosks(server)[kiosk_id]["alerts"] if a.startswith("copy_reports")]


def test_waiting_then_refused_reports_reach_the_fleet_from_the_queue_file(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    proxy = FaultProxy(int(server.base_url.rsplit(":", 1)[1]))
    proxy.only = OUTCOME  # the reports are the ones held up
    central = CentralClient(proxy.base_url, "kiosk-c", OFFICE, timeout=10)
    central.register("Lobi")
    # The heartbeats go straight to the server (a dropped proxy also drops kept-alive ones).
    direct = CentralClient(server.base_url, "kiosk-c", OFFICE, timeout=10, token=central.token)
    now = [time.time()]  # the queue's clock: "waited an hour" without waiting an hour
    path = tmp_path / "copy-outcomes.db"
    outcomes = CopyOutcomes(path, central, clock=lambda: now[0])

    def health() -> HealthReporter:
        return HealthReporter(
            central=direct,
            devices={"copy_reports": outcomes},
            app_version="test",
            data_dir=tmp_path,
            system=RecordingSystemActions(),
        )

    try:
        assert outcomes.status() == {"state": "ok", "waiting": "0", "refused": "0"}
        proxy.set_mode("down")  # the network drops before the report
        answer = outcomes.report(
            NO_SUCH_COPY, ticket_printed=False, receipt_printed=False, failure="ticket: PaperOut"
        )
        assert answer is None
        outcomes.drain_once()
        assert [e.status for e in outcomes.entries()] == [PENDING]
        health().beat_once()
        reported = kiosks(server)["kiosk-c"]["devices"]["copy_reports"]
        assert (reported["state"], reported["waiting"], reported["refused"]) == (
            "waiting",
            "1",
            "0",
        )
        assert copy_alerts(server, "kiosk-c") == []  # waiting a moment is not an alert yet
        # An hour on, after a restart of the kiosk: the report is still on disk, still waiting.
        outcomes.close()
        now[0] += 3600
        outcomes = CopyOutcomes(path, central, clock=lambda: now[0])
        outcomes.drain_once()  # the network is still down
        health().beat_once()
        reported = kiosks(server)["kiosk-c"]["devices"]["copy_reports"]
        assert reported["waiting"] == "1" and int(reported["oldest_waiting_s"]) >= 3600
        assert copy_alerts(server, "kiosk-c") == ["copy_reports_waiting"]
        row, page = dashboard(server, "kiosk-c")
        assert WAITING in row and WAITING in page
        # The network is back: the server refuses the report (no such copy of this kiosk).
        proxy.set_mode("forward")
        now[0] += 3600  # past any backoff
        outcomes.drain_once()
        assert [e.status for e in outcomes.entries()] == [REJECTED]
        health().beat_once()
        reported = kiosks(server)["kiosk-c"]["devices"]["copy_reports"]
        assert (reported["state"], reported["waiting"], reported["refused"]) == (
            "refused",
            "0",
            "1",
        )
        assert "oldest_waiting_s" not in reported
        assert copy_alerts(server, "kiosk-c") == ["copy_reports_refused"]
        row, page = dashboard(server, "kiosk-c")
        assert REFUSED in row and WAITING not in row
        assert 'data-code="copy_reports_refused">' + REFUSED in page
        assert "copy_reports" in page and "refused=1" in page  # the devices table
        # A refused report stays in the health report a week (kept on disk longer).
        now[0] += 8 * 86400
        assert outcomes.status()["refused"] == "0"
        assert [e.status for e in outcomes.entries()] == [REJECTED]
    finally:
        outcomes.close()
        central.close()
        direct.close()
        proxy.close()


@pytest.mark.parametrize(
    ("reports", "alerts"),
    [
        ({"state": "ok", "waiting": "0", "refused": "0"}, []),
        ({"state": "waiting", "waiting": "3", "refused": "0", "oldest_waiting_s": "60"}, []),
        (
            {"state": "waiting", "waiting": "3", "refused": "0",
             "oldest_waiting_s": str(COPY_REPORTS_LATE_S)},
            ["copy_reports_waiting"],
        ),
        (
            {"state": "refused", "waiting": "2", "refused": "1", "oldest_waiting_s": "99999"},
            ["copy_reports_waiting", "copy_reports_refused"],
        ),
        ({"state": "refused", "waiting": "x", "refused": "-1", "oldest_waiting_s": "9e9"}, []),
    ],
)  # fmt: skip
def test_the_fleet_reads_copy_reports_from_any_heartbeat(
    server: EmbeddedServer, reports: dict[str, Any], alerts: list[str]
) -> None:
    auth = enrol(server, "kiosk-r")
    devices = heartbeat_body()["devices"] | {"copy_reports": reports}
    assert beat(server, auth, devices=devices).status_code == 200
    k = kiosks(server)["kiosk-r"]
    assert (k["alerts"], k["colour"]) == (alerts, "amber" if alerts else "green")
    row, page = dashboard(server, "kiosk-r")
    assert (WAITING in row, REFUSED in row) == (
        "copy_reports_waiting" in alerts,
        "copy_reports_refused" in alerts,
    )
    if alerts:
        assert set(kiosks(server, problem=alerts[-1])) == {"kiosk-r"}
        assert f'data-code="{alerts[-1]}"' in page


def test_a_technician_clears_refused_reports_and_the_alert_goes(
    server: EmbeddedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The alert of refused reports cannot go by itself (a resend changes nothing): the
    technician confirms on the kiosk's page that they were read, the kiosk takes the command
    with its next heartbeat and sets them aside in its queue file (kept, nothing personal), and
    the alert clears. One refused after the page was read keeps the alert until it is read."""
    central = CentralClient(server.base_url, "kiosk-k", OFFICE, timeout=10)
    central.register("Lobi")
    path = tmp_path / "copy-outcomes.db"
    outcomes = CopyOutcomes(path, central)
    health = HealthReporter(
        central=central,
        devices={"copy_reports": outcomes},
        app_version="test",
        data_dir=tmp_path,
        system=RecordingSystemActions(),
        clear_copy_reports=outcomes.clear_refused,
    )
    tech = Technician(server.base_url, ADMIN_TOKEN)
    action = f"{server.base_url}/fleet/kiosks/kiosk-k/copy-reports/clear"
    try:
        [csrf] = set(re.findall(r'name="csrf" value="([^"]+)"', tech.page("kiosk-k")))
        none = tech.http.post(action, data={"csrf": csrf}, timeout=10)  # nothing refused yet
        assert 'id="command-error"' in none.text and "no refused" in none.text
        outcomes.report(NO_SUCH_COPY, ticket_printed=False, receipt_printed=False, wait=True)
        assert [e.status for e in outcomes.entries()] == [REJECTED]
        health.beat_once()
        assert copy_alerts(server, "kiosk-k") == ["copy_reports_refused"]
        page = tech.page("kiosk-k")
        assert 'id="clear-copies-form" data-refused="1"' in page
        seen = dict(
            re.findall(r'name="(csrf|through)" value="([^"]*)"', page.split("clear-copies-form")[1])
        )
        # The generic command form does not take it: it would skip the confirmation.
        forged = tech.http.post(
            f"{server.base_url}/fleet/kiosks/kiosk-k/commands",
            data={"csrf": csrf, "kind": "clear_copy_reports", "confirmed": "1"},
            timeout=10,
        )
        assert 'id="command-error"' in forged.text and 'data-status="queued"' not in forged.text
        asked = tech.http.post(action, data=seen, timeout=10)
        assert asked.status_code == 200 and 'id="confirm-clear-copies"' in asked.text
        assert "tidak dikoreksi" in asked.text and "not corrected" in asked.text
        assert 'data-status="queued"' not in tech.page("kiosk-k")  # asked first, nothing queued
        stale = tech.http.post(action, data=seen | {"csrf": "forged", "confirmed": "1"}, timeout=10)
        assert 'id="command-error"' in stale.text and 'data-status="queued"' not in stale.text
        # Another copy's report is refused after the technician read the page.
        outcomes.report(NO_SUCH_COPY + 1, ticket_printed=False, receipt_printed=False, wait=True)
        with caplog.at_level(logging.WARNING, logger="central_server.audit"):
            done = tech.http.post(action, data=seen | {"confirmed": "1"}, timeout=10)
        assert done.status_code == 200 and 'id="copies-cleared"' in done.text
        assert 'data-status="queued"' in done.text
        assert any(
            "technician cleared the refused receipt-copy reports of kiosk kiosk-k" in r.getMessage()
            for r in caplog.records
            if r.name == "central_server.audit"
        )
        assert [c["kind"] for c in health.beat_once()] == ["clear_copy_reports"]
        assert [e.status for e in outcomes.entries()] == [CLEARED, REJECTED]
        health.beat_once()  # beat_soon's heartbeat: the second refusal is still shown
        assert copy_alerts(server, "kiosk-k") == ["copy_reports_refused"]
        page = tech.page("kiosk-k")
        assert "1 refused receipt-copy report(s) cleared" in page  # the command's result
        seen = dict(
            re.findall(r'name="(csrf|through)" value="([^"]*)"', page.split("clear-copies-form")[1])
        )
        assert tech.http.post(action, data=seen | {"confirmed": "1"}, timeout=10).status_code == 200
        health.beat_once()
        health.beat_once()
        assert copy_alerts(server, "kiosk-k") == []
        assert 'id="clear-copies-form"' not in tech.page("kiosk-k")
        assert 'data-code="copy_reports_refused"' not in tech.page("kiosk-k")
        # Kept aside on disk, through a restart of the kiosk: no longer in its health report.
        outcomes.close()
        outcomes = CopyOutcomes(path, central)
        assert outcomes.status() == {"state": "ok", "waiting": "0", "refused": "0"}
        assert [(e.copy_id, e.status) for e in outcomes.entries()] == [
            (NO_SUCH_COPY, CLEARED),
            (NO_SUCH_COPY + 1, CLEARED),
        ]
        with sqlite3.connect(path) as db:  # what it keeps: the server's copy id, what printed,
            columns = [d[1] for d in db.execute("PRAGMA table_info(copy_outcomes)")]
        assert "nik" not in columns and "name" not in columns  # the failed device, the answer
    finally:
        outcomes.close()
        central.close()


def refusing(
    server: EmbeddedServer, kiosk_id: str, refused: int, through: int
) -> tuple[dict[str, str], dict[str, Any], Technician, str]:
    """A kiosk whose heartbeat reports `refused` refused copy reports, the newest row
    `through`; its auth, the heartbeat's devices, a technician on its page and the CSRF."""
    auth = enrol(server, kiosk_id)
    reports = {"state": "ok", "waiting": "0", "refused": str(refused)}
    devices = heartbeat_body()["devices"] | {
        "copy_reports": reports | {"refused_through": str(through)}
    }
    assert beat(server, auth, devices=devices).status_code == 200
    tech = Technician(server.base_url, ADMIN_TOKEN)
    [csrf] = set(re.findall(r'name="csrf" value="([^"]+)"', tech.page(kiosk_id)))
    return auth, devices, tech, csrf


@pytest.mark.parametrize(
    "through",
    [
        "8",  # one past the newest the page showed: a report refused after it, never read
        "999999999",  # the largest the route reads
        "",  # none at all, from a kiosk that names its newest: it would clear every one
        "-1",
        "7 ",
        "0x7",
        "7" * 40,
    ],
)
def test_a_clear_never_goes_past_the_newest_refused_report_the_kiosk_named(
    server: EmbeddedServer, through: str
) -> None:
    """A forged or replayed form (a larger `through`, none, garbage) queues nothing: the
    kiosk would set aside reports refused after the page was read, which nobody saw."""
    _auth, _devices, tech, csrf = refusing(server, "kiosk-f", refused=2, through=7)
    action = f"{server.base_url}/fleet/kiosks/kiosk-f/copy-reports/clear"
    for confirmed in ("", "1"):
        answer = tech.http.post(
            action, data={"csrf": csrf, "through": through, "confirmed": confirmed}, timeout=10
        )
        assert answer.status_code in (200, 422), answer.status_code
        assert 'id="confirm-clear-copies"' not in answer.text
        assert answer.status_code == 422 or 'id="command-error"' in answer.text
    assert 'data-status="queued"' not in tech.page("kiosk-f")
    # What the page showed is taken (and one before it: the page of an earlier heartbeat).
    for shown in ("7", "5"):
        done = tech.http.post(
            action, data={"csrf": csrf, "through": shown, "confirmed": "1"}, timeout=10
        )
        assert done.status_code == 200 and 'id="copies-cleared"' in done.text
    assert tech.page("kiosk-f").count('data-status="queued"') == 2


def test_a_confirmed_clear_sent_twice_queues_one_command(server: EmbeddedServer) -> None:
    """A double click on "Ya, hapus", or the confirmed form replayed (back, resend): while the
    kiosk has not taken the first command, the same clear is not queued and audited again."""
    auth, devices, tech, csrf = refusing(server, "kiosk-d", refused=1, through=4)
    form = {"csrf": csrf, "through": "4", "confirmed": "1"}
    action = f"{server.base_url}/fleet/kiosks/kiosk-d/copy-reports/clear"
    for _ in range(3):
        done = tech.http.post(action, data=form, timeout=10)
        assert done.status_code == 200 and 'id="copies-cleared"' in done.text
    assert tech.page("kiosk-d").count('data-status="queued"') == 1
    # Handed out and done, the kiosk still naming a refused report: the next clear is queued.
    [command] = beat(server, auth, devices=devices).json()["commands"]
    assert command["kind"] == "clear_copy_reports" and command["args"] == {"through": 4}
    result = {"ok": True, "detail": "1 refused receipt-copy report(s) cleared"}
    answer = requests.post(
        f"{server.base_url}/api/v1/fleet/commands/{command['id']}/result",
        json=result,
        headers=auth,
        timeout=10,
    )
    assert answer.status_code == 204, answer.text
    assert tech.http.post(action, data=form, timeout=10).status_code == 200
    assert tech.page("kiosk-d").count('data-status="queued"') == 1
