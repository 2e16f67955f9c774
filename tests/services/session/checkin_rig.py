"""The check-in tests' rig: the real central server on loopback (its POST /api/v1/checkin, its
clock set to the booked day), the real barcode scanner driver on a pty emulator, the ESC/POS serial
driver printing into the printer emulator on a pty, and the session service over them."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from central_server.app import create_app
from central_server.auth import create_user, use_hasher
from central_server.embedded import EmbeddedServer
from central_server.settings import WIB
from drivers.barcode_scanner.emulator import BarcodeScannerEmulator
from drivers.barcode_scanner.serial import SerialBarcodeScanner
from drivers.card_reader.citizens import citizen
from drivers.card_reader.simulator import SimulatedCardReader
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.ticket_printer.emulator import EscposEmulator
from drivers.ticket_printer.escpos_serial import EscposSerialTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.domain.session import Timeouts
from kiosk_app.domain.ticket import Letterhead
from kiosk_app.services import receipt_seal
from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.printing.service import (
    PrintingService,
)
from kiosk_app.services.session import checkin_words as ck
from kiosk_app.services.session.service import SessionService
from kiosk_app.services.session.views import SessionView
from tests.central.officer.conftest import Staff
from tests.drivers.pcsc.fixtures import wait_for

KIOSK = "KIOSK-CHECKIN-01"
OFFICE = "3517"
PASSWORD = "rahasia-petugas-123"
BOOKED_ON = date(2026, 11, 19)  # a Thursday: the server's day when the citizen books
MORNING, AFTERNOON = "08.00-11.00", "13.00-15.00"
WAIT_S = 60.0  # a hang detector for a busy machine: a passing wait ends when its view comes


@dataclass
class Calls:
    """The attendant calls the session made (AssistedJourney's hooks)."""

    reasons: list[str] = field(default_factory=list)

    def call_attendant(self, reason: str) -> None:
        self.reasons.append(reason)

    def card_presented(self, uid: str) -> bool:
        return False  # no attendant cards here


@dataclass
class Server:
    """The central server on loopback with its clock in hand, as a kiosk and an officer."""

    central: CentralClient
    officer: Staff
    clock: dict[str, Any]
    key: Any  # the kiosk's seal key (its public half enrolled)

    def book(self, window: str = MORNING) -> tuple[str, date]:
        """Citizen 0's akta kelahiran booked on BOOKED_ON for the first `window` slot, approved
        by the officer; its registration number and verification day."""
        self.clock["today"] = BOOKED_ON
        person = citizen(0)
        slot = next(s.slot for s in self.central.slots("akta_kelahiran") if s.slot.window == window)
        receipt = self.central.submit(
            service="akta_kelahiran",
            applicant_nik=person.nik,
            applicant_name=person.name,
            data={"child_name": "Budi Santoso", "contact_phone": "081234567890"},
            slot=slot,
            idempotency_key=uuid.uuid4().hex,
        )
        number = receipt.registration_number
        r = self.officer.act(number, "approve", slot=f"{slot.date.isoformat()}|{window}")
        assert r.status_code == 303, r.text
        return number, slot.date

    def at(self, day: date, hour: int, minute: int = 0) -> None:
        """The server's calendar and check-in clock."""
        self.clock["today"] = day
        self.clock["now"] = datetime.combine(day, time(hour, minute), WIB)


@contextmanager
def central_server(tmp_path: Path) -> Iterator[Server]:
    """create_app on SQLite with an injected calendar and clock, an officer logged in, and this
    kiosk enrolled."""
    previous = use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    clock: dict[str, Any] = {"today": BOOKED_ON}
    app = create_app(
        f"sqlite:///{tmp_path / 'central.db'}",
        today=lambda: clock["today"],
        clock=lambda: clock.get("now") or datetime.combine(clock["today"], time(9), WIB),
        secret_key="test-session-key-0123456789abcdef",
    )
    create_user(app.state.db, "petugas", PASSWORD, "officer", office_code=OFFICE)
    server = EmbeddedServer(app, "127.0.0.1", 0).start()
    key = receipt_seal.new_key()
    central = CentralClient(
        server.base_url, KIOSK, OFFICE, signing_key=receipt_seal.public_key_text(key)
    )
    try:
        central.register("check-in kiosk")
        officer = Staff(server.base_url, "petugas")
        assert officer.login_response.status_code == 303
        yield Server(central, officer, clock, key)
    finally:
        central.close()
        server.stop()
        use_hasher(previous)


class Watched:
    """A session service's views, waited for."""

    def __init__(self, service: SessionService) -> None:
        self.service = service
        self.changed = threading.Condition()
        service.subscribe(self._notify)

    def _notify(self, _view: SessionView) -> None:
        with self.changed:
            self.changed.notify_all()

    def wait(self, predicate: Callable[[SessionView], bool], what: str = "") -> SessionView:
        """Wait (bounded) until the current view satisfies `predicate`."""
        with self.changed:
            ok = self.changed.wait_for(lambda: predicate(self.service.view), WAIT_S)
        view = self.service.view
        assert ok, f"timed out waiting for {what}; state {view.state}, {view.checkin}"
        return view

    def checked_in(self) -> SessionView:
        """The check-in's answer (and the calling ticket's printing over)."""
        return self.wait(
            lambda v: (
                v.checkin is not None
                and not v.checkin.loading
                and (v.checkin.message not in (None, ck.MSG_READING_CARD) or v.checkin.result)
                and (v.checkin.result is None or v.checkin.result.printed is not None)
            ),
            "the check-in's answer",
        )


class Rig(Watched):
    """The kiosk's session on the server, the scanner and the printer on their ptys."""

    def __init__(
        self,
        service: SessionService,
        server: Server,
        printer: EscposEmulator,
        scanner: BarcodeScannerEmulator,
        driver: EscposSerialTicketPrinter,
        calls: Calls,
        journal: PrintJournal,
    ) -> None:
        super().__init__(service)
        self.server, self.central, self.clock = server, server.central, server.clock
        self.book, self.at = server.book, server.at
        self.printer, self.scanner, self.driver, self.calls = printer, scanner, driver, calls
        self.journal = journal

    def scan(self, text: str) -> SessionView:
        """Read `text` with the serial scanner (its bytes on the pty); the check-in's answer."""
        self.service.checkin_key("clear")  # the last answer's message goes
        self.wait(lambda v: v.checkin is not None and v.checkin.message is None, "cleared")
        self.scanner.scan(text)
        return self.checked_in()

    def calling_tickets(self) -> list[Any]:
        """The calling tickets that came out of the printer emulator."""
        return [t for t in self.printer.tickets if "NOMOR PANGGILAN" in t.text]


@contextmanager
def checkin_rig(tmp_path: Path, printer_baud: int | None = None) -> Iterator[Rig]:
    """The whole rig; `printer_baud`: the printer emulator reads no faster than that wire
    (None: unthrottled, for tests)."""
    printer = EscposEmulator(
        tmp_path / "ttyPRINTER", tmp_path / "printed", baudrate=printer_baud
    ).start()
    scanner = BarcodeScannerEmulator(tmp_path / "ttyACM0").start()
    # a repeat of the same code within 1 s is a continuous-mode echo; here it is a second read
    barcode = SerialBarcodeScanner(str(scanner.link), reopen_interval_s=0.05, repeat_window_s=0.0)
    driver = EscposSerialTicketPrinter(
        str(tmp_path / "ttyPRINTER"), baudrate=printer_baud or 115200, status_timeout_s=1.0
    )
    journal = PrintJournal(tmp_path / "print-journal.db", KIOSK)
    try:
        with central_server(tmp_path) as server:
            service = SessionService(
                card_reader=SimulatedCardReader(read_delay_s=0.01),
                central=server.central,
                printing=PrintingService(
                    driver,
                    SimulatedDocumentPrinter(),
                    kiosk_id=KIOSK,
                    journal=journal,
                    letterhead=Letterhead(office="DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL"),
                ),
                timeouts=Timeouts(inactivity_s=60, warning_s=25, goodbye_s=5),
                barcode_scanner=barcode,
            )
            calls = Calls()
            service.attach_attendant(calls)  # type: ignore[arg-type]  # call_attendant only
            rig = Rig(service, server, printer, scanner, driver, calls, journal)
            service.start()
            try:
                wait_for(lambda: barcode.status()["state"] == "online", what="the scanner port")
                yield rig
            finally:
                service.close()
    finally:
        driver.close()
        scanner.stop()
        printer.stop()
        journal.close()
