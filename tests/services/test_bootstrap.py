"""The composition root builds a working kiosk from the default (simulated) configuration."""

from __future__ import annotations

from pathlib import Path

from kiosk_app.bootstrap import build_kiosk
from kiosk_app.config import load_config


def test_default_kiosk_runs_on_simulators_and_reports_health(tmp_path: Path) -> None:
    kiosk = build_kiosk(load_config(None, data_dir=tmp_path, output_dir=tmp_path / "out"))
    try:
        assert kiosk.embedded_server is not None  # no central_url: an embedded server
        assert kiosk.session.simulated_reader
        assert kiosk.health is not None
        report = kiosk.health.collect()
        assert set(report["devices"]) == {
            "card_reader",
            "ticket_printer",
            "document_printer",
            "scanner",
            "barcode_scanner",
            "attendant",  # attendant mode: locked or not, and counts of assisted actions
            "storage",  # the durable files: ok, or which one is damaged, unwritable or full
            "seal_key",  # the receipt seal key: in force, or waiting for a technician's approval
            "copy_reports",  # receipt-copy print reports waiting for or refused by the server
        }
        # a first key needs no approval: registered with the kiosk's token, or not yet sent
        assert report["devices"]["seal_key"]["state"] in ("unregistered", "in_force")
        assert report["devices"]["attendant"]["state"] == "locked"
        assert report["devices"]["storage"] == {"state": "ok"}
        assert report["devices"]["copy_reports"] == {"state": "ok", "waiting": "0", "refused": "0"}
        assert report["devices"]["ticket_printer"]["state"] == "online"
        # The embedded server is a child process; its socket accepts at once, but it answers
        # once started (2 s on a loaded machine; CI once saw the first beat's 5 s read timeout
        # pass). A kiosk's reporter beats again later; this test's one beat waits for it.
        kiosk.embedded_server.wait_healthy(120)
        assert kiosk.health.beat_once() == []  # delivered; no remote command queued
        assert kiosk.central.token  # enrolled on first use
        assert (tmp_path / "print-journal.db").exists()
    finally:
        kiosk.close()
    kiosk.close()  # idempotent


def test_a_sam_fault_calls_an_attendant_and_beats_at_once(tmp_path: Path) -> None:
    import threading

    from drivers.errors import SamFault

    kiosk = build_kiosk(load_config(None, data_dir=tmp_path, output_dir=tmp_path / "out"))
    try:
        assert kiosk.health is not None and kiosk.attendant is not None
        beat = threading.Event()
        kiosk.health.beat_soon = beat.set  # type: ignore[method-assign]
        kiosk.devices.card_reader.fail_next_read(SamFault("SAM does not answer"))  # type: ignore[attr-defined]
        kiosk.session.simulate_card_tap(0)
        assert beat.wait(30)  # only against hangs
        assert "SamFault" in kiosk.attendant.status()["called"]
    finally:
        kiosk.close()
