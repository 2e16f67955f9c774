"""Privacy canary through the real Kivy app and a real cupsd with cups-pdf.

Every session puts the canary's card on the reader: the kiosk's services read the NIK and name
and the identity screen shows the name (and the masked NIK) in its labels' textures. Most
sessions are short and rotate over the ways a visit ends: the card taken away on the identity
screen, "Selesai" there or on the menu, the own-applications status check (a look-up by NIK at
the central server), the form opened (prefilled with the NIK and name) and the card taken away.
Every FULL_EVERY-th session (the first one included) is the whole journey by touch, submitted,
with its receipt printed by cupsd's cups-pdf queue; every INACTIVITY_EVERY-th (from the fourth)
is left alone until the inactivity warning and the end. Afterwards no byte of the canary's NIK
or name is left in the kiosk's log, Kivy's home (logs, config), the kiosk's data folder,
temporary files or the CUPS spool. The PDF cups-pdf wrote is the printed paper (the citizen's
document, leaving the machine): it is excluded, and so is the embedded central server's database.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import drivers.card_reader.simulator as simulated_reader
from kiosk_app.domain.session import EndReason, Timeouts
from tests.drivers.cups.fixtures import cups_testbed  # noqa: F401  (session fixture)
from tests.drivers.cups.testbed import PDF_QUEUE, CupsTestbed
from tests.services.canary import MAX_FILE_BYTES, Canary, scan, system_temp_roots

pytestmark = [pytest.mark.ui, pytest.mark.slow]

# Soak: CI runs one session of each kind; the full run is CANARY_UI_SESSIONS=1000 (on the 2-core
# machine a whole journey takes ~10-15 s, a short session ~1-2.5 s: ~30 min). The own-applications
# look-up is rate-limited by the server (20 a minute per card): one short session in 5 keeps under.
SESSIONS = int(os.environ.get("CANARY_UI_SESSIONS", "7"))
FULL_EVERY = int(os.environ.get("CANARY_UI_FULL_EVERY", "25"))
INACTIVITY_EVERY = int(os.environ.get("CANARY_UI_INACTIVITY_EVERY", "100"))


@pytest.fixture
def canary_kiosk(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cups_testbed: CupsTestbed,  # noqa: F811 - the imported session fixture
) -> Iterator[tuple[Any, Canary, Path]]:
    """The app on simulators, but receipts go to cupsd; every card is the canary's."""
    from kiosk_app.bootstrap import build_kiosk
    from kiosk_app.config import load_config
    from kiosk_app.ui import app as app_module
    from kiosk_app.ui.app import AnjunganApp
    from kiosk_app.ui.pilot import Pilot

    monkeypatch.setattr(app_module, "TICK_S", 0.1)  # the app's timer ticks: a short goodbye
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
    timeouts = Timeouts(goodbye_s=0.1)  # inactivity_session() skips over the idle minutes
    config = load_config(
        None,
        data_dir=tmp_path / "data",
        output_dir=tmp_path / "printed",
        headless=True,
        fullscreen=False,
        timeouts=timeouts,
    )
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
        pilot.wait_for_state("attract")
        yield pilot, canary, log_path
    finally:
        try:
            app.stop_embedded()
        finally:
            kiosk.close()
            root.removeHandler(handler)
            root.setLevel(level)
            handler.close()


def card_read(pilot: Any, canary: Canary) -> None:
    """The canary's card on the reader: the identity screen renders their name."""
    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")
    name = pilot.find("holder_name")
    pilot.wait_until(lambda: name.texture is not None, what="the name's texture")
    assert name.text == canary.name, name.text
    assert canary.nik not in pilot.find("holder_nik").text  # shown masked


def ended(pilot: Any) -> None:
    """The goodbye (or the survey, skipped), the card taken away, the attract screen again."""
    pilot.wait_until(lambda: pilot.state in ("survey", "goodbye", "attract"), what="the end")
    if pilot.state == "survey":
        pilot.wait_for_state("survey")
        pilot.tap("survey_skip")
        pilot.wait_until(lambda: pilot.state in ("goodbye", "attract"), what="goodbye")
    pilot.kiosk.session.simulate_card_removal()
    pilot.wait_for_state("attract")


def to_menu(pilot: Any, canary: Canary) -> None:
    """The card read, then "Lanjut" to the menu."""
    card_read(pilot, canary)
    pilot.tap("next")
    pilot.wait_for_state("menu")


def to_form(pilot: Any, canary: Canary) -> None:
    """The canary's card on the reader, then the menu's akta kelahiran tile, by touch: the
    form opens prefilled with the card holder's NIK and name."""
    from kiosk_app.ui.demo import SERVICE

    to_menu(pilot, canary)
    pilot.tap(f"service_{SERVICE}")
    pilot.wait_for_state("form")
    assert canary.nik in pilot.app.view.values.values()


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
            pilot.wait_until(
                lambda i=index: (
                    app.view.state.value != "form" or app.view.page != i or bool(app.view.errors)
                ),
                what="next page",
            )
            assert not app.view.errors, sorted(app.view.errors)


def completed_session(pilot: Any, canary: Canary) -> None:
    """The whole journey: form, scan skipped, slot, submit, ticket and receipt (cupsd)."""
    to_form(pilot, canary)
    fill_form(pilot)
    app = pilot.app
    if pilot.state == "scan":  # the documents to bring: skipped (scans never hold the canary)
        pilot.tap("scan_skip_all")
    pilot.wait_for_state("schedule")
    pilot.wait_until(lambda: pilot.exists("slot_0"), what="first slot button")
    pilot.tap("slot_0")
    pilot.wait_for_state("review")
    pilot.tap("submit")
    pilot.wait_for_state("result")
    outcome = app.view.outcome
    assert outcome is not None and outcome.receipt_printed, outcome
    pilot.tap("finish")
    ended(pilot)


def removal_on_identity(pilot: Any, canary: Canary) -> None:
    """Card read, then taken away while the identity screen shows the name."""
    card_read(pilot, canary)
    pilot.kiosk.session.simulate_card_removal()
    pilot.wait_until(lambda: pilot.state in ("goodbye", "attract"), what="the end")
    pilot.wait_for_state("attract")


def finish_on_identity(pilot: Any, canary: Canary) -> None:
    """Card read, then "Selesai" on the identity screen."""
    card_read(pilot, canary)
    pilot.tap("cancel")
    ended(pilot)


def finish_on_menu(pilot: Any, canary: Canary) -> None:
    """Card read, the menu, then "Selesai"."""
    to_menu(pilot, canary)
    pilot.tap("finish")
    pilot.tap("confirm_yes")
    ended(pilot)


def own_applications(pilot: Any, canary: Canary) -> None:
    """The status check of the card holder's own applications (looked up by NIK), back to the
    menu, then "Selesai"."""
    to_menu(pilot, canary)
    pilot.tap("service_status")
    pilot.wait_for_state("status")
    pilot.tap("status_mine")
    pilot.wait_until(
        lambda: pilot.exists("own_title_0"), timeout=30, what="the canary's applications"
    )
    pilot.tap("own_close")
    pilot.wait_until(lambda: not pilot.app.root.get_screen("status").own_shown, what="closed")
    pilot.tap("status_back")
    pilot.wait_for_state("menu")
    pilot.tap("finish")
    pilot.tap("confirm_yes")
    ended(pilot)


def removal_in_form(pilot: Any, canary: Canary) -> None:
    """Card read, the form's first page filled, then the card is taken away."""
    to_form(pilot, canary)
    fill_form(pilot, pages=1)
    pilot.kiosk.session.simulate_card_removal()
    pilot.wait_until(lambda: pilot.state in ("goodbye", "attract"), what="the end")
    pilot.wait_for_state("attract")


def inactivity_session(pilot: Any, canary: Canary) -> None:
    """The form opened, then nobody touches anything: the warning, then the end. The session's
    clock jumps over the idle minutes (its timers run on that clock, ticked by the app)."""
    session = pilot.kiosk.session
    timeouts = session.core.machine.timeouts
    real_clock = session.core.clock
    try:
        to_form(pilot, canary)
        with pilot.hold_clock(skip_s=timeouts.inactivity_s + 1):
            pilot.wait_until(lambda: pilot.exists("inactivity_warning"), what="the warning")
        with pilot.hold_clock(skip_s=timeouts.warning_s + 1):  # the goodbye waits while held
            pilot.wait_for_state("goodbye")
            assert session.core.machine.end_reason is EndReason.INACTIVITY
        session.simulate_card_removal()
        pilot.wait_for_state("attract")  # the goodbye's timer runs on that clock too
    finally:
        session.core.clock = real_clock


Session = Callable[[Any, Canary], None]
SHORT: tuple[Session, ...] = (
    removal_on_identity,
    finish_on_identity,
    finish_on_menu,
    own_applications,
    removal_in_form,
)


def plan(sessions: int) -> list[Session]:
    """Whole journeys every FULL_EVERY-th (the first included), inactivity every
    INACTIVITY_EVERY-th (from the fourth), the short endings in turn in between."""
    kinds: list[Session] = []
    short = 0
    for n in range(sessions):
        if n % FULL_EVERY == 0:
            kinds.append(completed_session)
        elif n % INACTIVITY_EVERY == 3:
            kinds.append(inactivity_session)
        else:
            kinds.append(SHORT[short % len(SHORT)])
            short += 1
    return kinds


def test_canary_leaves_no_trace_through_the_app_and_cups(
    canary_kiosk: tuple[Any, Canary, Path],
    tmp_path: Path,
    cups_testbed: CupsTestbed,  # noqa: F811
) -> None:
    pilot, canary, log_path = canary_kiosk
    started = time.time() - 1
    printed_before = len(cups_testbed.new_pdfs())
    kinds = plan(SESSIONS)
    spent: dict[str, list[float]] = {}
    for session in kinds:
        began = time.monotonic()
        session(pilot, canary)
        spent.setdefault(session.__name__, []).append(time.monotonic() - began)
    print(
        "sessions, mean seconds:",
        {k: f"{len(v)} x {sum(v) / len(v):.1f}" for k, v in spent.items()},
    )
    receipts = printed_before + kinds.count(completed_session)
    deadline = time.monotonic() + 120  # a hang detector: slow only on a busy machine
    while len(cups_testbed.new_pdfs()) < receipts and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(cups_testbed.new_pdfs()) >= receipts, "cups-pdf did not print every receipt"
    pilot.app.stop_embedded()
    pilot.kiosk.close()  # the kiosk stops: its files are flushed and closed
    log_text = log_path.read_text(encoding="utf-8")
    assert log_text.count("card read: NIK") == len(kinds)  # every session read the card
    assert log_path.stat().st_size < MAX_FILE_BYTES  # the scan reads it whole
    data = tmp_path / "data"
    roots = [
        log_path.parent,
        data,
        tmp_path / "tmp",
        Path(os.environ["KIVY_HOME"]),
        cups_testbed.spool,
        cups_testbed.root / "log",
        Path("/var/spool/cups"),
        Path("/var/spool/cups-pdf"),
        *system_temp_roots(started),
    ]
    server_files = tuple(data / f"central.db{suffix}" for suffix in ("", "-wal", "-shm"))
    leaks = scan(canary, roots, since=started, skip=(cups_testbed.pdf_out, *server_files))
    assert leaks == {}, f"the canary was found in: {leaks}"
    assert scan(canary, [cups_testbed.pdf_out], since=started), "the scan misses the receipts"
    planted = [root / "planted-canary.txt" for root in roots[:4]]  # the scan does walk them
    try:
        for path in planted:
            path.write_text(f"x {canary.name.split()[-1]} y", encoding="utf-8")
        found = scan(canary, roots, since=started, skip=(cups_testbed.pdf_out, *server_files))
        assert sorted(found) == sorted(str(p.resolve()) for p in planted), found
    finally:
        for path in planted:
            path.unlink(missing_ok=True)
