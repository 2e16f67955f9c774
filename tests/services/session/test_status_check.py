"""Status check and ticket reprint through the session service: real central server on loopback,
the real barcode scanner driver on a pty emulator, the real print journal."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from central_server.embedded import start_embedded
from central_server.ratelimit import StatusLookupLimiter
from drivers.barcode_scanner.emulator import BarcodeScannerEmulator
from drivers.barcode_scanner.serial import SerialBarcodeScanner
from drivers.card_reader.citizens import citizen
from drivers.card_reader.simulator import SimulatedCardReader
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.domain.registration import (
    DIGITS,
    NEXT_STEPS,
    format_entry,
    number_from,
    split_number,
)
from kiosk_app.domain.session import SessionState, Timeouts
from kiosk_app.services.printing.journal import PrintJournal, ticket_payload
from kiosk_app.services.printing.reprint import (
    MSG_PRINTER_NOT_READY,
    TicketReprint,
    report_interrupted,
)
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.session import status_check as sc
from kiosk_app.services.session.service import SessionService
from kiosk_app.services.session.views import SessionView
from tests.drivers.test_ticket_printer_contract import make_ticket

KIOSK = "KIOSK-STATUS-01"
WAIT_S = 60.0  # a hang detector for a busy machine: a passing wait ends when its view comes


@dataclass
class Rig:
    service: SessionService
    central: CentralClient
    reader: SimulatedCardReader
    ticket: SimulatedTicketPrinter
    journal: PrintJournal
    changed: threading.Condition

    def wait(self, predicate: Callable[[SessionView], bool], what: str = "") -> SessionView:
        """Wait (bounded) until the current view satisfies `predicate`."""
        with self.changed:
            ok = self.changed.wait_for(lambda: predicate(self.service.view), WAIT_S)
        view = self.service.view
        assert ok, f"timed out waiting for {what}; state {view.state}, {view.status_check}"
        return self.service.view

    def to_menu(self) -> None:
        self.service.simulate_card_tap(0)
        self.wait(lambda v: v.state is SessionState.IDENTITY, "identity")
        self.service.continue_to_menu()
        assert self.service.view.state is SessionState.MENU

    def submit_application(self) -> str:
        """File one application directly on the server; return its registration number."""
        person = citizen(1)
        slot = self.central.slots("akta_kelahiran")[0].slot
        receipt = self.central.submit(
            service="akta_kelahiran",
            applicant_nik=person.nik,
            applicant_name=person.name,
            data={},
            slot=slot,
            idempotency_key=f"status-{id(slot)}-{threading.get_ident()}",
        )
        return receipt.registration_number

    def type_number(self, number: str) -> None:
        parts = split_number(number)
        assert parts is not None
        prefix, digits = parts
        self.service.status_prefix(prefix)
        self.service.status_key("clear")
        for digit in digits:
            self.service.status_key(digit)


def make_rig(
    tmp_path: Path,
    *,
    scanner: Any = None,
    limiter: StatusLookupLimiter | None = None,
    base_url: str | None = None,
) -> Iterator[Rig]:
    """A session service on a real central server (or on `base_url`, e.g. a closed port)."""
    server = start_embedded(f"sqlite:///{tmp_path / 'central.db'}", status_limiter=limiter)
    central = CentralClient(server.base_url, KIOSK, "3517")
    central.register("status kiosk")
    if base_url is not None:
        central.base_url = base_url
    reader = SimulatedCardReader(read_delay_s=0.01)
    ticket = SimulatedTicketPrinter()
    journal = PrintJournal(tmp_path / "journal.db", KIOSK)
    service = SessionService(
        card_reader=reader,
        central=central,
        printing=PrintingService(
            ticket, SimulatedDocumentPrinter(), kiosk_id=KIOSK, journal=journal
        ),
        timeouts=Timeouts(inactivity_s=60, warning_s=25, goodbye_s=5),
        barcode_scanner=scanner,
        reprint=TicketReprint(journal, ticket, poll_s=0.05),
    )
    changed = threading.Condition()

    def listener(_view: SessionView) -> None:
        with changed:
            changed.notify_all()

    service.subscribe(listener)
    service.start()
    try:
        yield Rig(service, central, reader, ticket, journal, changed)
    finally:
        service.close()
        journal.close()
        central.close()
        server.stop()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    yield from make_rig(tmp_path)


@pytest.fixture
def scanner_rig(tmp_path: Path) -> Iterator[tuple[Rig, BarcodeScannerEmulator]]:
    emulator = BarcodeScannerEmulator(tmp_path / "ttyACM0").start()
    driver = SerialBarcodeScanner(str(emulator.link), reopen_interval_s=0.05)
    try:
        for made in make_rig(tmp_path, scanner=driver):
            deadline = threading.Event()
            for _ in range(500):  # the driver opens the port on its own thread
                if driver.status()["state"] == "online":
                    break
                deadline.wait(0.02)
            assert driver.status()["state"] == "online"
            yield made, emulator
    finally:
        emulator.stop()


# -- the registration number on a keypad ------------------------------------------------------


def test_entry_formats_and_splits_registration_numbers() -> None:
    assert format_entry("AKTA", "3517") == "AKTA-35.17.______.____"
    assert number_from("AKTA", "3517") is None
    number = number_from("KIA", "35172611230001")
    assert number == "KIA-35.17.261123.0001"
    assert split_number(" kia-35.17.261123.0001 ") == ("KIA", "35172611230001")
    assert split_number("KIA-35.17.261123.001") is None
    assert number_from("XYZ", "3" * DIGITS) is None


def test_machine_opens_status_from_menu_or_attract_and_returns() -> None:
    from kiosk_app.domain.session import SessionMachine

    m = SessionMachine()
    assert m.open_status(1) and m.state is SessionState.STATUS and m.identity is None
    assert m.close_status(2) and m.state is SessionState.ATTRACT
    assert m.open_status(3) and m.card_inserted(4)  # a card on an anonymous status check
    assert m.identity_read(citizen(0), 5) and m.to_menu(6)
    assert m.open_status(7) and m.identity is not None
    assert not m.start_form("akta_kelahiran", 3, {}, 8)  # only from the menu
    assert m.close_status(9) and m.state is SessionState.MENU and m.identity is not None
    assert m.open_status(10) and m.card_removed(11) and m.state is SessionState.GOODBYE
    assert m.identity is None


def test_typed_number_shows_status_and_next_step(rig: Rig) -> None:
    number = rig.submit_application()
    rig.to_menu()
    rig.service.choose_service("status")
    view = rig.service.view
    assert view.state is SessionState.STATUS and view.status_check is not None
    assert view.status_check.entry == "AKTA-35.17.______.____"  # the office's digits pre-typed

    rig.type_number(number)
    rig.service.status_key("7")  # a 15th digit is ignored
    assert rig.service.view.status_check.entry == number
    rig.service.status_key("done")
    view = rig.wait(
        lambda v: v.status_check is not None and v.status_check.result is not None, "status result"
    )
    result = view.status_check.result
    assert result.registration_number == number and result.status == "submitted"
    assert result.next_step == NEXT_STEPS["submitted"]
    assert result.slot is not None and result.masked_name and "*" in result.masked_name
    assert citizen(1).nik not in repr(view)
    rig.service.close_status()
    view = rig.service.view
    assert view.state is SessionState.MENU and view.status_check is None and view.name


def test_incomplete_and_unknown_numbers_get_clear_messages(rig: Rig) -> None:
    rig.to_menu()
    rig.service.open_status()
    rig.service.status_key("done")
    message = rig.service.view.status_check.message
    assert message == sc.MSG_INCOMPLETE.format(missing=DIGITS - 4)

    rig.type_number("KTP-35.17.200101.0042")
    rig.service.status_key("done")
    view = rig.wait(lambda v: v.status_check.message is not None, "not found")
    assert view.status_check.message == sc.MSG_NOT_FOUND.format(number="KTP-35.17.200101.0042")
    assert view.status_check.result is None and not view.status_check.loading


def test_rate_limited_look_up_says_when_to_retry(tmp_path: Path) -> None:
    limiter = StatusLookupLimiter(per_minute=1, burst=1)
    for rig in make_rig(tmp_path, limiter=limiter):
        number = rig.submit_application()
        rig.to_menu()
        rig.service.open_status()
        rig.type_number(number)
        rig.service.status_key("done")
        rig.wait(lambda v: v.status_check.result is not None, "first look-up")
        rig.service.status_key("done")
        view = rig.wait(lambda v: v.status_check.message is not None, "rate limited")
        message = view.status_check.message
        assert message.id.startswith("Terlalu banyak pengecekan") and "detik" in message.id
        assert view.status_check.result is None


def test_server_down_says_so(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for rig in make_rig(tmp_path, base_url=closed):
        rig.to_menu()
        rig.service.open_status()
        rig.type_number("AKTA-35.17.261122.0007")
        rig.service.status_key("done")
        view = rig.wait(lambda v: v.status_check.message is not None, "server down")
        assert view.status_check.message == sc.MSG_SERVER_DOWN


# -- the receipt's QR under the barcode scanner -----------------------------------------------


def test_qr_on_attract_opens_status_without_card_then_back(
    scanner_rig: tuple[Rig, BarcodeScannerEmulator],
) -> None:
    rig, emulator = scanner_rig
    number = rig.submit_application()
    emulator.scan("ANJUNGAN:" + number)
    view = rig.wait(
        lambda v: v.status_check is not None and v.status_check.result is not None,
        "status from a QR",
    )
    assert view.state is SessionState.STATUS and not view.name
    assert view.status_check.result.registration_number == number
    assert view.status_check.entry == number

    emulator.scan("https://example.com/not-a-ticket")
    view = rig.wait(lambda v: v.status_check.message is not None, "foreign QR")
    assert view.status_check.message == sc.MSG_NOT_OUR_CODE and view.status_check.result is None

    rig.service.close_status()
    assert rig.service.view.state is SessionState.ATTRACT


def test_qr_mid_form_is_ignored_and_card_on_status_starts_a_session(
    scanner_rig: tuple[Rig, BarcodeScannerEmulator],
) -> None:
    rig, emulator = scanner_rig
    number = rig.submit_application()
    rig.to_menu()
    rig.service.choose_service("akta_kelahiran")
    assert rig.service.view.state is SessionState.FORM
    driver = rig.service._status._scanner
    delivered, listener = threading.Event(), driver._listener
    driver._listener = lambda event: (listener(event), delivered.set())
    emulator.scan(number)
    assert delivered.wait(WAIT_S)  # the driver handed it over (it must be ignored)
    assert rig.service.view.state is SessionState.FORM
    rig.service.finish()
    rig.reader.remove_card()
    rig.wait(lambda v: v.state in (SessionState.GOODBYE, SessionState.ATTRACT), "goodbye")

    # From the goodbye screen too (another payload: the driver drops a repeat within 1 s).
    emulator.scan("ANJUNGAN:" + number)
    rig.wait(
        lambda v: v.state is SessionState.STATUS and v.status_check.result is not None, "status"
    )
    rig.service.simulate_card_tap(0)  # a card on the reader starts a session at once
    view = rig.wait(lambda v: v.state is SessionState.IDENTITY, "identity")
    assert view.status_check is None


# -- ticket reprints through the print journal ------------------------------------------------


def test_ticket_not_printed_is_offered_once_the_printer_is_back(rig: Rig) -> None:
    from kiosk_app.demo_data import sample_birth_values
    from kiosk_app.domain.catalogue import SERVICES

    rig.ticket.set_paper(False)
    rig.to_menu()
    rig.service.choose_service("akta_kelahiran")
    form = SERVICES["akta_kelahiran"].form
    values = sample_birth_values()
    for index in range(len(form.pages)):
        for name in form.page_fields(index):
            rig.service.set_value(name, values[name])
        rig.service.next_page()
    if rig.service.view.state is SessionState.SCAN:  # the optional document scanning step
        rig.service.scan_skip_all()  # type: ignore[attr-defined]
    view = rig.wait(lambda v: v.state is SessionState.SCHEDULE and bool(v.slots), "slots")
    rig.service.choose_slot(view.slots[0].slot)
    rig.service.submit()
    view = rig.wait(
        lambda v: (
            v.state is SessionState.RESULT
            and v.reprint is not None
            and v.reprint.message is not None
        ),
        "reprint offer",
    )
    number = view.outcome.registration_number
    assert not view.outcome.ticket_printed and not view.reprint.printer_ready
    assert view.reprint.message == MSG_PRINTER_NOT_READY["paper_out"]
    rig.service.reprint_ticket()  # refused while the paper is out
    assert rig.ticket.tickets == []

    rig.ticket.set_paper(True)
    rig.wait(lambda v: v.reprint is not None and v.reprint.printer_ready, "printer back")
    rig.service.reprint_ticket()
    rig.service.reprint_ticket()  # a second touch never prints a second ticket
    view = rig.wait(lambda v: v.outcome is not None and v.outcome.ticket_printed, "reprinted")
    assert view.reprint is not None and view.reprint.printed
    assert [t.registration_number for t in rig.ticket.tickets] == [number]
    assert all("Tiket belum tercetak" not in m.id for m in view.outcome.messages)
    tickets = [j for j in rig.journal.log() if j.kind == "ticket"]
    assert [(j.state, j.actor) for j in tickets] == [("reprinted", "citizen"), ("done", "citizen")]
    assert tickets[1].reprint_of == tickets[0].id
    assert rig.journal.pending() == []


def test_interrupted_ticket_is_logged_and_reprinted_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = PrintJournal(tmp_path / "journal.db", KIOSK)
    ticket = make_ticket()
    journal.record("ticket", ticket.registration_number, payload=ticket_payload(ticket))
    journal.close()  # the kiosk "crashed" while printing

    journal = PrintJournal(tmp_path / "journal.db", KIOSK)
    printer = SimulatedTicketPrinter()
    reprint = TicketReprint(journal, printer, poll_s=0.05)
    with caplog.at_level(logging.WARNING, logger="kiosk_app.services.printing.reprint"):
        report_interrupted(journal.recover())
    assert f"ticket {ticket.registration_number}" in caplog.text and "interrupted" in caplog.text
    changed = threading.Event()
    assert reprint.offer(ticket.registration_number, changed.set)
    assert changed.wait(WAIT_S) and reprint.view().printer_ready
    assert reprint.reprint("attendant-7") and not reprint.reprint("attendant-7")
    assert [t.registration_number for t in printer.tickets] == [ticket.registration_number]
    assert not reprint.offer(ticket.registration_number, changed.set)  # nothing owed any more
    reprint.withdraw()
    journal.close()
