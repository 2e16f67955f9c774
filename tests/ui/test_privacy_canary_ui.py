"""Privacy canary through the real Kivy app and a real cupsd with cups-pdf.

The canary's card goes through whole journeys by touch (receipt printed by cupsd's cups-pdf
queue), ending by completion and by card removal (and once by inactivity from 3 sessions on);
then no byte of the canary's NIK or name is left in the kiosk's log, Kivy's home (logs,
config), the kiosk's data folder, temporary files or the CUPS spool. The PDF cups-pdf wrote is
the printed paper (the citizen's document, leaving the machine): it is excluded, and so is the
embedded central server's database.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import drivers.card_reader.simulator as simulated_reader
from kiosk_app.domain.session import Timeouts
from tests.drivers.cups.fixtures import cups_testbed  # noqa: F401  (session fixture)
from tests.drivers.cups.testbed import PDF_QUEUE, CupsTestbed
from tests.services.canary import Canary, scan, system_temp_roots

pytestmark = [pytest.mark.ui, pytest.mark.slow]

# Soak: CI runs a few sessions; the full run is CANARY_UI_SESSIONS=1000.
SESSIONS = int(os.environ.get("CANARY_UI_SESSIONS", "2"))


@pytest.fixture
def canary_kiosk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 cups_testbed: CupsTestbed) -> Iterator[tuple[Any, Canary, Path]]:  # noqa: F811
    """The app on simulators, but receipts go to cupsd; every card is the canary's."""
    from kiosk_app.bootstrap import build_kiosk
    from kiosk_app.config import load_config
    from kiosk_app.ui.app import AnjunganApp
    from kiosk_app.ui.pilot import Pilot

    canary = Canary.fresh()
    monkeypatch.setattr(simulated_reader, "citizen", canary.identity)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    log_path = tmp_path / "log" / "kiosk.log"
    log_path.parent.mkdir()
    handler = logging.FileHandler(log_path, encoding="utf-8")
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    timeouts = Timeouts(goodbye_s=0.5)  # inactivity_session() shortens its own
    config = load_config(None, data_dir=tmp_path / "data", output_dir=tmp_path / "printed",
                         headless=True, fullscreen=False, timeouts=timeouts)
    config.devices.card_read_delay_s = 0.1
    config.devices.document_printer = "cups"
    config.devices.cups_queue = PDF_QUEUE
    config.devices.cups_server = cups_testbed.socket
    config.devices.cups_job_timeout_s = 30.0
    kiosk = build_kiosk(config)
    app = AnjunganApp(kiosk, animate=False)
    try:
        app.start_embedded()
        pilot = Pilot(app)
        pilot.kiosk = kiosk
        pilot.wait_for_state("attract", timeout=30)
        yield pilot, canary, log_path
    finally:
        try:
            app.stop_embedded()
        finally:
            kiosk.close()
            root.removeHandler(handler)
            root.setLevel(level)
            handler.close()


def to_form(pilot: Any) -> None:
    """The canary's card on the reader, then the menu's akta kelahiran tile, by touch."""
    from kiosk_app.ui.demo import SERVICE

    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")
    pilot.tap("next")
    pilot.wait_for_state("menu")
    pilot.tap(f"service_{SERVICE}")
    pilot.wait_for_state("form")


def fill_form(pilot: Any, pages: int | None = None) -> None:
    """Enter the form's values (through the session: typing each key on the on-screen
    keyboard costs minutes here and is covered by the journey tests), pages left by touch."""
    from kiosk_app.demo_data import sample_birth_values

    app, values = pilot.app, sample_birth_values()
    form = app.view.service.form
    for index, page in enumerate(form.pages[:pages]):
        pilot.wait_until(lambda i=index: app.view.page == i, what=f"form page {index}")
        shown = dict(app.view.values)
        for spec in page.fields:
            if values.get(spec.name) and not shown.get(spec.name):
                pilot.kiosk.session.set_value(spec.name, values[spec.name])
        if pages is None:
            pilot.tap("next")
            pilot.wait_until(lambda i=index: app.view.state.value != "form"
                             or app.view.page != i or bool(app.view.errors), what="next page")
            assert not app.view.errors, sorted(app.view.errors)


def completed_session(pilot: Any) -> None:
    """The whole journey: form, scan skipped, slot, submit, ticket and receipt (cupsd)."""
    to_form(pilot)
    fill_form(pilot)
    app = pilot.app
    if pilot.state == "scan":  # the documents to bring: skipped (scans never hold the canary)
        pilot.tap("scan_skip_all")
    pilot.wait_for_state("schedule")
    pilot.wait_until(lambda: pilot.exists("slot_0"), timeout=20, what="first slot button")
    pilot.tap("slot_0")
    pilot.wait_for_state("review")
    pilot.tap("submit")
    pilot.wait_for_state("result", timeout=60)
    outcome = app.view.outcome
    assert outcome is not None and outcome.receipt_printed, outcome
    pilot.tap("finish")
    pilot.wait_until(lambda: pilot.state in ("survey", "goodbye"), what="survey or goodbye")
    if pilot.state == "survey":
        pilot.tap("survey_skip")
    pilot.wait_until(lambda: pilot.app.view.state.value in ("goodbye", "attract"), what="end")
    pilot.kiosk.session.simulate_card_removal()
    pilot.wait_for_state("attract", timeout=30)


def removal_session(pilot: Any) -> None:
    """Card read, the form's first page, then the card is taken away."""
    to_form(pilot)
    fill_form(pilot, pages=1)
    pilot.kiosk.session.simulate_card_removal()
    pilot.wait_until(lambda: pilot.app.view.state.value in ("goodbye", "attract"), what="end")
    pilot.wait_for_state("attract", timeout=30)


def inactivity_session(pilot: Any) -> None:
    """Card read, then nobody touches anything: the warning, then the end."""
    machine = pilot.kiosk.session._machine  # noqa: SLF001 - a short wait for this session only
    usual, machine.timeouts = machine.timeouts, Timeouts(inactivity_s=1.0, goodbye_s=0.5)
    try:
        pilot.tap("sim_tap")
        pilot.wait_for_state("identity")
        pilot.wait_for_state("goodbye", timeout=60)
    finally:
        machine.timeouts = usual
    pilot.kiosk.session.simulate_card_removal()
    pilot.wait_for_state("attract", timeout=30)


def test_canary_leaves_no_trace_through_the_app_and_cups(
    canary_kiosk: tuple[Any, Canary, Path], tmp_path: Path, cups_testbed: CupsTestbed,  # noqa: F811
) -> None:
    pilot, canary, log_path = canary_kiosk
    started = time.time() - 1
    printed_before = len(cups_testbed.new_pdfs())
    for n in range(SESSIONS):
        if n == 2:
            inactivity_session(pilot)
        elif n % 2 == 1:
            removal_session(pilot)
        else:
            completed_session(pilot)
    deadline = time.monotonic() + 30
    while len(cups_testbed.new_pdfs()) <= printed_before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(cups_testbed.new_pdfs()) > printed_before, "cups-pdf printed no receipt"
    pilot.app.stop_embedded()
    pilot.kiosk.close()  # the kiosk stops: its files are flushed and closed
    assert "card read: NIK" in log_path.read_text(encoding="utf-8")
    data = tmp_path / "data"
    roots = [log_path.parent, data, tmp_path / "tmp", Path(os.environ["KIVY_HOME"]),
             cups_testbed.spool, cups_testbed.root / "log", Path("/var/spool/cups"),
             Path("/var/spool/cups-pdf"), *system_temp_roots(started)]
    server_files = tuple(data / f"central.db{suffix}" for suffix in ("", "-wal", "-shm"))
    leaks = scan(canary, roots, since=started, skip=(cups_testbed.pdf_out, *server_files))
    assert leaks == {}, f"the canary was found in: {leaks}"
    assert scan(canary, [cups_testbed.pdf_out], since=started), "the scan misses the receipts"
