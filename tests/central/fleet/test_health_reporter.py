"""The kiosk's health reporter against a real central server: heartbeats and every command."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from central_server.embedded import EmbeddedServer
from drivers.card_reader.simulator import SimulatedCardReader
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.scanner.simulator import SimulatedScanner
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.services.health import (
    HealthReporter,
    RecordingSystemActions,
    cpu_temperature,
    make_test_ticket,
)
from tests.central.conftest import ADMIN_TOKEN, OFFICE
from tests.central.fleet.helpers import STAFF, kiosks

PNG = b"\x89PNG\r\n\x1a\nblurred"


@pytest.fixture
def reporter(server: EmbeddedServer, tmp_path: Path) -> Iterator[HealthReporter]:
    """A health reporter of kiosk-01 on simulated devices, with recording system actions."""
    central = CentralClient(server.base_url, "kiosk-01", OFFICE, timeout=10)
    central.register("Lobi")
    ticket = SimulatedTicketPrinter()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "kiosk.log").write_text("INFO started nik=3517********0001\n")
    health = HealthReporter(
        central=central,
        devices={
            "card_reader": SimulatedCardReader(),
            "ticket_printer": ticket,
            "document_printer": SimulatedDocumentPrinter(),
            "scanner": SimulatedScanner(),
        },
        app_version="0.1.0",
        data_dir=tmp_path,
        log_dir=tmp_path / "logs",
        system=RecordingSystemActions(),
        last_transaction=lambda: datetime(2026, 11, 19, 3, 0, tzinfo=UTC),
        print_test_ticket=lambda: ticket.print_ticket(
            make_test_ticket("kiosk-01", datetime.now(UTC))
        ),
        screenshot=lambda: PNG,
    )
    yield health
    health.stop()
    central.close()


def queue(server: EmbeddedServer, kind: str, args: dict[str, object] | None = None) -> int:
    """Queue a command for kiosk-01 as a technician."""
    r = requests.post(
        f"{server.base_url}/api/v1/fleet/kiosks/kiosk-01/commands",
        json={"kind": kind, "args": args or {}},
        headers=STAFF,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def command(server: EmbeddedServer, cid: int) -> dict[str, object]:
    """A command's status as the dashboard sees it."""
    return dict(
        requests.get(f"{server.base_url}/api/v1/fleet/commands/{cid}", headers=STAFF).json()
    )


def test_heartbeat_reports_driver_states(server: EmbeddedServer, reporter: HealthReporter) -> None:
    body = reporter.collect()
    assert body["devices"]["ticket_printer"]["paper"] == "ok"
    assert body["disk_total_bytes"] >= body["disk_free_bytes"] > 0
    assert body["outbox_depth"] == 0 and body["uptime_s"] > 0
    reporter.devices["card_reader"].set_available(False)  # type: ignore[attr-defined]
    assert reporter.beat_once() == []
    k = kiosks(server)["kiosk-01"]
    assert k["alerts"] == ["reader_missing"] and k["colour"] == "red"
    assert k["last_transaction_at"].startswith("2026-11-19T03:00")


def test_every_command_runs_and_reports(server: EmbeddedServer, reporter: HealthReporter) -> None:
    ids = {
        kind: queue(server, kind, args)
        for kind, args in [
            ("print_test_ticket", None),
            ("upload_logs", None),
            ("screenshot", None),
            ("push_config", {"config": {"timeouts": {"inactivity_s": 120}}}),
            ("restart_app", None),
            ("reboot", None),
        ]
    }
    assert len(reporter.beat_once()) == 6
    assert reporter.system.calls == ["restart_app", "reboot"]  # type: ignore[attr-defined]
    # a restart or reboot is done once the app is back: its next heartbeat says so
    assert {command(server, ids[k])["status"] for k in ("restart_app", "reboot")} == {"sent"}
    assert reporter.beat_once() == []
    for cid in ids.values():
        assert command(server, cid)["status"] == "done", command(server, cid)
    assert str(command(server, ids["restart_app"])["result_detail"]).startswith("restarted")
    assert str(command(server, ids["reboot"])["result_detail"]).startswith("rebooted")
    ticket = reporter.devices["ticket_printer"]
    assert ticket.tickets[0].registration_number.startswith("TES-")  # type: ignore[attr-defined]
    assert (reporter.data_dir / "config.pushed.json").read_text().count("inactivity_s") == 1
    staff = requests.Session()
    login = staff.post(f"{server.base_url}/fleet/login", data={"token": ADMIN_TOKEN}, timeout=10)
    assert login.status_code == 200 and login.url.endswith("/fleet/")
    logs = staff.get(f"{server.base_url}/fleet/commands/{ids['upload_logs']}/attachment")
    shot = staff.get(f"{server.base_url}/fleet/commands/{ids['screenshot']}/attachment")
    data, content_type = logs.content, logs.headers["content-type"]
    assert content_type == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == ["kiosk.log"]
    assert (shot.content, shot.headers["content-type"]) == (PNG, "image/png")


def test_failures_are_reported_not_raised(server: EmbeddedServer, reporter: HealthReporter) -> None:
    reporter.screenshot = None
    reporter.devices["ticket_printer"].set_paper(False)  # type: ignore[attr-defined]
    shot, ticket, bad = (
        queue(server, "screenshot"),
        queue(server, "print_test_ticket"),
        queue(server, "push_config", {"config": "nope"}),
    )
    reporter.beat_once()
    assert command(server, shot)["status"] == "failed"
    assert "PaperOut" in str(command(server, ticket)["result_detail"])
    assert command(server, bad)["status"] == "failed"
    assert "paper_out" in kiosks(server)["kiosk-01"]["alerts"]


def test_clear_copy_reports_takes_only_a_row_number(
    server: EmbeddedServer, reporter: HealthReporter
) -> None:
    """The kiosk's side of the dashboard's "clear refused copy reports": a row number, or
    none (every refused report); anything else is a failed command, nothing cleared."""
    asked: list[int | None] = []
    none = queue(server, "clear_copy_reports")
    reporter.beat_once()  # this reporter has no copy reports: failed, said so
    assert command(server, none)["status"] == "failed"
    reporter.clear_copy_reports = lambda through: asked.append(through) or 2
    bad = [queue(server, "clear_copy_reports", {"through": x}) for x in ("7", -1, True, 1.5)]
    good = [
        queue(server, "clear_copy_reports", {"through": 7}),
        queue(server, "clear_copy_reports"),
    ]
    reporter.beat_once()
    assert [command(server, c)["status"] for c in bad] == ["failed"] * 4
    assert [command(server, c)["result_detail"] for c in good] == [
        "2 refused receipt-copy report(s) cleared"
    ] * 2
    assert asked == [7, None]


def test_background_loop_survives_a_dead_server(
    server: EmbeddedServer, reporter: HealthReporter
) -> None:
    reporter.interval_s = 0.05
    reporter.start()
    deadline = time.monotonic() + 60
    while kiosks(server)["kiosk-01"]["last_seen"] is None:
        assert time.monotonic() < deadline, "no heartbeat arrived"
        time.sleep(0.05)
    reporter.central.base_url = "http://127.0.0.1:9"  # nothing listens: connection refused
    time.sleep(0.3)
    assert reporter._thread is not None and reporter._thread.is_alive()
    reporter.stop(timeout=5)
    assert reporter._thread is None


def test_cpu_temperature_reads_thermal_zones(tmp_path: Path) -> None:
    assert cpu_temperature(tmp_path) is None
    for n, milli in enumerate(("41000", "67500", "garbage")):
        (tmp_path / f"thermal_zone{n}").mkdir()
        (tmp_path / f"thermal_zone{n}" / "temp").write_text(milli)
    assert cpu_temperature(tmp_path) == 67.5
