"""Attendant mode: PINs and lockout, assisted sessions reaching the server, reprints on a pty."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from central_server.embedded import start_embedded
from drivers.card_reader.simulator import SimulatedCardReader
from drivers.document_printer.protocol import ResumeRefused
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.errors import PaperOut, PrinterOffline
from drivers.ticket_printer.emulator import EscposEmulator
from drivers.ticket_printer.escpos_serial import EscposSerialTicketPrinter
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.__main__ import main as cli_main
from kiosk_app.central import CentralClient
from kiosk_app.config import ConfigError, load_config
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.session import SessionState, Timeouts
from kiosk_app.services.attendant import texts as T
from kiosk_app.services.attendant.auth import (
    Attendant,
    AttendantSettings,
    CredentialChecker,
    CredentialError,
    hash_pin,
    verify_pin,
)
from kiosk_app.services.attendant.service import AttendantService
from kiosk_app.services.printing.journal import PrintJournal, ticket_payload
from kiosk_app.services.printing.receipt_pdf import render_receipt_pdf
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.session.card import UID_ONLY
from kiosk_app.services.session.service import SessionService
from kiosk_app.services.session.views import SessionView
from tests.drivers.test_ticket_printer_contract import make_ticket
from tests.services.printing.test_print_journal import crash_mid_print
from tests.services.printing.test_receipt_pdf import PDFTOTEXT, make_receipt, pdf_text

ROOT = Path(__file__).resolve().parents[3]
PIN = "482913"
CARD = "04:A1:B2:C3:D4"
REG = "AKTA-35.17.261122.0007"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def settings() -> AttendantSettings:
    """One attendant with a PIN and a card (hashing once per module: scrypt is slow on purpose)."""
    return AttendantSettings(staff=[Attendant("PTG-07", hash_pin(PIN), (CARD,))])


# -- PINs -------------------------------------------------------------------------------------


def test_pin_hash_verifies_and_holds_no_pin() -> None:
    stored = hash_pin(PIN)
    assert stored.startswith("scrypt$n=16384,r=8,p=1$") and PIN not in stored
    assert verify_pin(PIN, stored) and not verify_pin("482914", stored)
    assert hash_pin(PIN) != stored  # salted
    for broken in ("", "scrypt$x", stored.replace("scrypt", "md5"), stored[:-8]):
        assert not verify_pin(PIN, broken)
    with pytest.raises(ValueError):
        hash_pin("12a4")
    with pytest.raises(CredentialError, match="never a plain PIN"):
        Attendant("PTG-07", pin_hash="482913")


def test_lockout_after_five_wrong_pins(
    settings: AttendantSettings, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    checker = CredentialChecker(settings, clock=clock)
    assert [checker.check_pin("000000").tries_left for _ in range(4)] == [4, 3, 2, 1]
    with caplog.at_level(logging.WARNING):
        fifth = checker.check_pin("111111")
    assert fifth.outcome == "locked" and fifth.locked_for_s == 60
    assert "locked for 60 s after 5 wrong PINs" in caplog.text
    clock.now += 59
    assert checker.check_pin(PIN).outcome == "locked"  # even the right PIN waits
    clock.now += 1.5
    ok = checker.check_pin(PIN)
    assert ok.outcome == "ok" and ok.attendant is not None and ok.attendant.id == "PTG-07"
    assert (checker.failures, checker.lockouts) == (5, 1)
    assert checker.check_card("04a1b2c3d4") is not None and checker.check_card("0411") is None


def test_cli_prints_config_lines_that_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PIN + "\n"))
    assert cli_main(["attendant-pin", "--id", "PTG-07"]) == 0
    lines = capsys.readouterr().out
    assert PIN not in lines
    path = tmp_path / "kiosk.toml"
    path.write_text("[attendant]\nidle_lock_s = 90\n" + lines, encoding="utf-8")
    config = load_config(path)
    [member] = config.attendant.staff
    assert member.id == "PTG-07" and verify_pin(PIN, member.pin_hash)
    assert config.attendant.idle_lock_s == 90
    path.write_text('[[attendant.staff]]\nid = "PTG-07"\npin_hash = "1234"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="plain PIN"):
        load_config(path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("12\n"))
    assert cli_main(["attendant-pin", "--id", "PTG-07"]) == 2


# -- the session rig: simulated reader, real central server over loopback HTTP ----------------


@dataclass
class Rig:
    session: SessionService
    attendant: AttendantService
    ticket: SimulatedTicketPrinter
    a4: SimulatedDocumentPrinter
    clock: FakeClock
    db_path: Path
    changed: threading.Condition

    def wait(self, predicate, timeout: float = 60.0) -> SessionView:
        with self.changed:
            ok = self.changed.wait_for(lambda: predicate(self.session.view), timeout)
        assert ok, f"timed out; last view state {self.session.view.state}"
        return self.session.view

    def fill_and_submit(self) -> SessionView:
        self.session.choose_service("akta_kelahiran")
        form = SERVICES["akta_kelahiran"].form
        assert form is not None
        values = sample_birth_values()
        for index in range(len(form.pages)):
            for name in form.page_fields(index):
                self.session.set_value(name, values[name])
            self.session.next_page()
            assert not self.session.view.errors, self.session.view.errors
        view = self.wait(lambda v: v.state is SessionState.SCHEDULE and v.slots)
        self.session.choose_slot(view.slots[0].slot)
        self.session.submit()
        return self.wait(lambda v: v.state is SessionState.RESULT)

    def stored_data(self, registration_number: str) -> dict[str, str]:
        with sqlite3.connect(self.db_path) as db:
            row = db.execute(
                "SELECT data_json FROM applications WHERE registration_number=?",
                (registration_number,),
            ).fetchone()
        return json.loads(row[0])


@pytest.fixture
def rig(tmp_path: Path, settings: AttendantSettings) -> Iterator[Rig]:
    db_path = tmp_path / "central.db"
    server = start_embedded(f"sqlite:///{db_path}")
    central = CentralClient(server.base_url, "KIOSK-TEST-01", "3517")
    central.register("test kiosk")
    ticket = SimulatedTicketPrinter(tmp_path / "out")
    journal = PrintJournal(tmp_path / "journal.db", "KIOSK-TEST-01")
    a4 = SimulatedDocumentPrinter(tmp_path / "out")
    printing = PrintingService(ticket, a4, kiosk_id="KIOSK-TEST-01", journal=journal)
    clock = FakeClock()
    session = SessionService(
        card_reader=SimulatedCardReader(read_delay_s=0.01),
        central=central,
        printing=printing,
        clock=clock,
        timeouts=Timeouts(inactivity_s=60, warning_s=25, goodbye_s=5),
    )
    attendant = AttendantService(
        settings,
        kiosk_id="KIOSK-TEST-01",
        session=session,
        journal=journal,
        ticket_printer=ticket,
        printing=printing,
        devices={"ticket_printer": ticket},
        clock=clock,
    )
    changed = threading.Condition()

    def listener(_view: SessionView) -> None:
        with changed:
            changed.notify_all()

    session.subscribe(listener)
    session.start()
    try:
        yield Rig(session, attendant, ticket, a4, clock, db_path, changed)
    finally:
        attendant.close()
        session.close()
        journal.close()
        server.stop()


def test_assisted_session_reaches_the_server_and_the_paper(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    assert not rig.attendant.assist()  # locked: nothing happens
    assert not rig.attendant.unlock_with_pin("000000")
    assert rig.attendant.view().message == T.WRONG_PIN.format(tries=4)
    assert rig.attendant.unlock_with_pin(PIN)
    assert not rig.attendant.assist()  # nobody to assist yet
    assert rig.attendant.view().message == T.NO_CITIZEN
    rig.session.simulate_card_tap(0)
    rig.wait(lambda v: v.state is SessionState.IDENTITY)
    name = rig.session.view.name
    rig.session.continue_to_menu()
    assert rig.attendant.view().can_assist
    caplog.set_level(logging.INFO, logger="anjungan.audit")
    assert rig.attendant.assist()
    line = next(r.getMessage() for r in caplog.records if "assist_form" in r.getMessage())
    assert line == (
        "AUDIT kiosk=KIOSK-TEST-01 attendant=PTG-07 action=assist_form nik=3517********0001"
    )
    assert rig.session.view.assisted_by == "PTG-07"
    view = rig.fill_and_submit()
    assert view.assisted_by == "PTG-07" and view.outcome is not None
    data = rig.stored_data(view.outcome.registration_number)
    assert data["assisted_by"] == "PTG-07" and data["assisted_kind"] == "form"
    [printed] = rig.ticket.tickets
    assert any("dibantu petugas PTG-07" in note("id") for note in printed.notes)
    [(_title, pdf)] = rig.a4.printed
    if PDFTOTEXT:  # poppler-utils, as in tests/services/printing/test_receipt_pdf.py
        assert "dibantu petugas PTG-07" in pdf_text(pdf)  # the receipt says so too
    assert (
        "AUDIT kiosk=KIOSK-TEST-01 attendant=PTG-07 action=submit_assisted "
        "nik=3517********0001 kind=form"
    ) in caplog.text
    assert name and all(name not in r.getMessage() for r in caplog.records)
    assert rig.attendant.status()["assisted_sessions"] == "1"
    rig.session.finish()
    assert rig.session.view.assisted_by == ""  # the next citizen starts unassisted


def test_uid_only_card_continued_by_the_attendant(rig: Rig) -> None:
    rig.session.simulate_uid_card("E0040150AABBCCDD")
    view = rig.wait(lambda v: v.state is SessionState.ATTRACT and v.message == UID_ONLY)
    assert rig.session.uid_card_waiting()
    assert rig.attendant.continue_uid_card("3517014501950001", "SITI") == {"nik": T.LOCKED}
    assert rig.attendant.unlock_with_pin(PIN)
    assert rig.attendant.view().uid_card_waiting
    errors = rig.attendant.continue_uid_card("3517", "")
    assert set(errors) == {"nik", "name"} and "16" in errors["nik"]("id")
    assert rig.attendant.continue_uid_card("3517 0145 0195 0001", "siti  aminah") == {}
    view = rig.session.view
    assert view.state is SessionState.IDENTITY and view.name == "SITI AMINAH"
    assert view.masked_nik == "3517********0001" and view.assisted_by == "PTG-07"
    rig.session.simulate_uid_card_removal()  # the card was never the source of the data
    assert rig.session.view.state is SessionState.IDENTITY
    rig.session.continue_to_menu()
    view = rig.fill_and_submit()
    assert view.outcome is not None
    data = rig.stored_data(view.outcome.registration_number)
    assert (data["assisted_by"], data["assisted_kind"]) == ("PTG-07", "uid_card")


def test_attendant_card_unlocks_and_mode_locks_when_idle(rig: Rig) -> None:
    rig.session.simulate_uid_card("04a1b2c3d4")
    rig.wait(lambda v: v.state is SessionState.ATTRACT)
    view = rig.attendant.view()
    assert view.unlocked and view.unlocked_by == "card" and view.attendant_id == "PTG-07"
    assert rig.session.view.message is None  # no "ask an attendant" for the attendant
    assert not rig.session.uid_card_waiting()
    rig.clock.now += 119
    rig.attendant.tick()
    assert rig.attendant.view().unlocked
    rig.clock.now += 2
    rig.attendant.tick()
    assert not rig.attendant.view().unlocked and rig.attendant.status()["state"] == "locked"


# -- reprints and paper through the real ESC/POS emulator on a pty ------------------------------


@pytest.fixture
def emulated(tmp_path: Path) -> Iterator[tuple[EscposEmulator, EscposSerialTicketPrinter]]:
    with EscposEmulator(tmp_path / "tty", tmp_path / "png") as emulator:
        printer = EscposSerialTicketPrinter(str(emulator.link), status_timeout_s=1.0)
        try:
            yield emulator, printer
        finally:
            printer.close()


def _service(
    settings: AttendantSettings, journal: PrintJournal, printer: object, printing: object = None
) -> AttendantService:
    service = AttendantService(
        settings,
        kiosk_id="KIOSK-3517-01",
        session=None,
        journal=journal,
        ticket_printer=printer,
        printing=printing,
        devices={"ticket_printer": printer},
    )
    assert service.unlock_with_pin(PIN)
    return service


def test_reprint_of_a_crash_interrupted_ticket(
    tmp_path: Path, settings: AttendantSettings, emulated: tuple
) -> None:
    emulator, printer = emulated
    ticket = make_ticket(registration_number=REG)
    crash_mid_print(tmp_path / "j.db", ticket, REG)
    journal = PrintJournal(tmp_path / "j.db", "KIOSK-3517-01")
    [interrupted] = journal.recover()
    service = _service(settings, journal, printer)
    [item] = service.view().reprints
    assert (item.job_id, item.reference, item.state) == (interrupted.id, REG, "interrupted")
    assert service.reprint(item.job_id)
    assert service.view().message == T.REPRINTED.format(reference=REG)
    assert len(emulator.tickets) == 1
    assert REG in emulator.tickets[0].text and emulator.tickets[0].qr_payloads
    assert not service.reprint(item.job_id)  # a second touch prints nothing
    assert service.view().message == T.NOTHING_TO_REPRINT and len(emulator.tickets) == 1
    assert service.view().reprints == ()
    states = [(j.state, j.actor, j.reprint_of) for j in journal.log()]
    assert states == [("reprinted", "citizen", None), ("done", "attendant:PTG-07", interrupted.id)]
    service.close()
    journal.close()


def test_paper_out_cleared_then_reprinted(
    tmp_path: Path, settings: AttendantSettings, emulated: tuple
) -> None:
    emulator, printer = emulated
    journal = PrintJournal(tmp_path / "j.db", "KIOSK-3517-01")
    ticket = make_ticket(registration_number=REG)
    emulator.set_fault("paper_out", True)
    with pytest.raises(PaperOut), journal.track("ticket", REG, payload=ticket_payload(ticket)):
        printer.print_ticket(ticket)
    service = _service(settings, journal, printer)
    [line] = service.check_devices()
    assert (line.name, line.state, line.ok) == ("ticket_printer", "paper_out", False)
    assert line.advice == T.ADVICE["paper_out"]
    assert service.view().message == T.DEVICES_NOT_OK.format(count=1)
    [item] = service.view().reprints
    assert item.state == "failed" and item.reason == "PaperOut"
    assert not service.reprint(item.job_id)  # still no paper: it says so, job stays owed
    assert service.view().message == PaperOut.citizen_message and not emulator.tickets
    emulator.set_fault("paper_out", False)  # the attendant loads paper
    [line] = service.check_devices()
    assert line.ok and service.view().message == T.DEVICES_OK
    [item] = service.view().reprints  # the failed reprint is the one owed now
    assert service.reprint(item.job_id) and len(emulator.tickets) == 1
    assert [j.state for j in journal.log()] == ["reprinted", "reprinted", "done"]
    assert service.status()["reprints"] == "2"
    service.close()
    journal.close()


# -- resuming the A4 printer's stopped queue --------------------------------------------------


class RefusingA4(SimulatedDocumentPrinter):
    """An A4 printer whose print system does not let the kiosk user resume the queue."""

    def resume(self) -> dict[str, str]:
        raise ResumeRefused("cupsd refused to resume A4: (1025) not-authorized")


def _a4_service(settings: AttendantSettings, a4: object) -> AttendantService:
    service = AttendantService(
        settings,
        kiosk_id="KIOSK-3517-01",
        session=None,
        journal=None,
        ticket_printer=None,
        devices={"document_printer": a4},
    )
    assert service.unlock_with_pin(PIN)
    return service


def test_stopped_a4_queue_resumed_by_the_attendant(
    tmp_path: Path, settings: AttendantSettings, caplog: pytest.LogCaptureFixture
) -> None:
    a4 = SimulatedDocumentPrinter(tmp_path / "out")
    a4.set_stopped(True)  # CUPS stopped the queue after a jam and rejects jobs
    receipt = render_receipt_pdf(make_receipt())
    with pytest.raises(PrinterOffline, match="queue stopped"):
        a4.print_pdf(receipt, "receipt-before")
    service = _a4_service(settings, a4)
    [line] = service.check_devices()
    assert line.resumable and not line.ok and line.advice == T.ADVICE_QUEUE_STOPPED
    with caplog.at_level(logging.INFO, logger="anjungan.audit"):
        assert service.resume_a4()
    assert service.view().message == T.A4_RESUMED and service.view().message_ok
    [line] = service.view().devices
    assert line.ok and not line.resumable
    audit = [r.getMessage() for r in caplog.records if r.name == "anjungan.audit"]
    assert audit == ["AUDIT kiosk=KIOSK-3517-01 attendant=PTG-07 action=resume_a4 nik=- outcome=ok"]
    assert a4.print_pdf(receipt, "receipt-after") and [t for t, _ in a4.printed] == [
        "receipt-after"
    ]
    assert service.status()["a4_resumes"] == "1"

    # Resumed with the paper still out: said so, and the queue's own fault stays on the list.
    a4.set_stopped(True)
    a4.set_paper(False)
    assert not service.resume_a4()
    message = service.view().message
    assert message is not None and not service.view().message_ok
    assert message.id.startswith(T.A4_RESUMED_BUT.id) and T.ADVICE["paper_out"].en in message.en
    assert a4.status()["queue_state"] == "idle"
    service.lock()
    assert not service.resume_a4() and service.view().message == T.LOCKED
    service.close()


def test_resume_refused_or_impossible_says_so(
    tmp_path: Path, settings: AttendantSettings, caplog: pytest.LogCaptureFixture
) -> None:
    refusing = RefusingA4(tmp_path)
    refusing.set_stopped(True)
    service = _a4_service(settings, refusing)
    with caplog.at_level(logging.INFO, logger="anjungan.audit"):
        assert not service.resume_a4()
    assert service.view().message == T.A4_RESUME_REFUSED
    assert "action=resume_a4 nik=- outcome=refused" in caplog.text
    [line] = service.view().devices
    assert line.resumable  # still stopped: the button stays
    service.close()
    service = _a4_service(settings, SimulatedTicketPrinter(tmp_path))  # no queue to resume
    assert not service.resume_a4() and service.view().message == T.NO_A4_PRINTER
    service.close()
