"""The check-in journey: on the verification day the citizen exchanges the ticket (its QR, the
e-KTP, or the typed registration number) for a calling number, printed and said aloud."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from drivers.barcode_scanner.protocol import Scanned
from drivers.card_reader.protocol import (
    CardEvent,
    CardInserted,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
)
from kiosk_app.central import CentralClient, CentralError, CheckinAnswer
from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.session import SessionState
from kiosk_app.domain.text import Text
from kiosk_app.services.background import watched
from kiosk_app.services.printing.service import CALLING_TICKET_FAILED, PrintingService
from kiosk_app.services.receipt_seal import parse_qr
from kiosk_app.services.session.checkin_words import (
    DUE_TODAY,
    MSG_CARD_FAILED,
    MSG_FAILED,
    MSG_NO_NUMBER_SHOWN,
    MSG_READING_CARD,
    PRIORITY_LANES,
    describe,
    qr_reference,
    refusal_message,
)
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.number_entry import MSG_INCOMPLETE, MSG_NOT_OUR_CODE, NumberEntry
from kiosk_app.services.session.ports import AttendantCall
from kiosk_app.services.session.views import CheckinResult, CheckinView

log = logging.getLogger(__name__)


class CheckinJourney:
    """Citizen actions of the CHECKIN state; QR reads and card taps there check in."""

    def __init__(
        self,
        core: SessionCore,
        *,
        central: CentralClient,
        printing: PrintingService,
        attendant: AttendantCall,
    ) -> None:
        """The office's PP.KK digits come pre-typed on the keypad."""
        self._core = core
        self._central = central
        self._printing = printing
        self._attendant = attendant
        self._entry = NumberEntry(central.office_code)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkin")
        self._generation = 0
        self._loading = False
        self._result: CheckinResult | None = None
        self._message: Text | None = None
        self._called = False
        self._closed = threading.Event()
        self._not_today: Callable[[str | None], None] | None = None
        core.on_visit_end(self._wipe)

    # -- opening and leaving -------------------------------------------------------------------
    def open_checkin(self) -> None:
        """Open the check-in; with a card holder (from the menu), check their booking at once."""
        core = self._core
        nik = ""
        with core.lock:
            if core.state() is not SessionState.CHECKIN and core.machine.open_checkin(core.now()):
                self._wipe()
                core.message = None
                identity = core.machine.identity
                nik = identity.nik if identity is not None else ""
        if nik:
            self._start("nik", nik)
        core.publish()

    def close_checkin(self) -> None:
        """Back to the menu (card holder: the visit and its "assisted" mark go on, only the
        check-in is wiped) or the attract screen (the visit ends)."""
        core = self._core
        with core.lock:
            if core.machine.close_checkin(core.now()):
                if core.state() is SessionState.MENU:
                    self._wipe()
                else:
                    core.end_visit()
                core.message = None
        core.publish()

    # -- the keypad ----------------------------------------------------------------------------
    def prefix(self, prefix: str) -> None:
        """Choose the service prefix of the number being typed."""
        with self._core.lock:
            if not self._activity() or not self._entry.set_prefix(prefix):
                return
            self._message = None
        self._core.publish()

    def key(self, key: str) -> None:
        """A keypad key: a digit, backspace, clear, or done (check in by the typed number)."""
        core = self._core
        with core.lock:
            if not self._activity():
                return
            if key == "done":
                number = self._entry.number
                if number is None:
                    self._message = MSG_INCOMPLETE.format(missing=self._entry.missing)
            elif not self._entry.key(key):
                return
            else:
                self._message, number = None, None
        if key == "done" and number is not None:
            self._start("registration_number", number)
        core.publish()

    # -- the barcode scanner and the card reader ---------------------------------------------
    def scanned(self, event: Scanned) -> bool:
        """Scanner thread: in the check-in, a ticket's or receipt's QR checks in (True)."""
        core = self._core
        with core.lock:
            if core.state() is not SessionState.CHECKIN:
                return False
            core.touch()
            text = event.text.strip()
            reference = qr_reference(text)
            ours = reference is not None or parse_qr(text) is not None
            if not ours:
                log.info("QR read at check-in is not a ticket's (%d characters)", len(text))
                self._generation += 1
                self._loading, self._result, self._message = False, None, MSG_NOT_OUR_CODE
            else:
                self._entry.fill(reference)
        if ours:
            self._start("seal", text)
        core.publish()
        return True

    def arrived(self, event: Scanned, not_today: Callable[[str | None], None]) -> bool:
        """Scanner thread, the attract or goodbye screen: a ticket's or receipt's QR is first
        a check-in, since the server knows whether its verification is today. A calling
        number, or "too early" or "too late" today, is the check-in's answer; any other (a
        booking on another day, not approved yet, verified, unknown, no server) hands the
        QR's number to `not_today` (the status check). True when taken."""
        core = self._core
        text = event.text.strip()
        reference = qr_reference(text)
        if reference is None and parse_qr(text) is None:
            return False  # not one of ours: the status check says so
        with core.lock:
            if core.state() not in (SessionState.ATTRACT, SessionState.GOODBYE):
                return False
            core.end_visit()
            if not core.machine.open_checkin(core.now()):
                return False
            self._wipe()
            core.message = None
            self._entry.fill(reference)
            self._not_today = not_today
        log.info("QR read on the attract screen: check-in first (%s)", reference or "sealed")
        self._start("seal", text, arrival=reference or "")
        core.publish()
        return True

    def card_event(self, event: CardEvent) -> bool:
        """A card on the reader during an anonymous check-in: a tap that checks in the holder's
        booking for today, without opening a visit (True when consumed; lock held)."""
        core = self._core
        if core.state() is not SessionState.CHECKIN or core.machine.identity is not None:
            return False
        if isinstance(event, CardInserted):
            core.touch()
            self._message = MSG_READING_CARD
        elif isinstance(event, IdentityRead):
            nik = event.identity.nik
            event.identity.wipe()  # only the NIK travels, nothing of the card stays
            log.info("card tapped at check-in: NIK %s", mask_nik(nik))
            self._message = None
            self._start("nik", nik)
        elif isinstance(event, CardReadFailed):
            log.info("card at check-in not read: %s", type(event.error).__name__)
            self._message = MSG_CARD_FAILED
        elif not isinstance(event, CardRemoved):
            return False
        return True

    # -- the check-in itself -----------------------------------------------------------------
    def _start(self, field: str, value: str, arrival: str | None = None) -> None:
        """Ask the server on the worker (one check-in at a time), then print and show;
        `arrival`: a QR read on the attract screen (its number), shown as a status unless
        the check-in is due today."""
        with self._core.lock:
            if self._loading or self._closed.is_set():
                return
            self._generation += 1
            generation, visit = self._generation, self._core.generation
            language = self._core.language
            self._loading, self._result, self._message, self._called = True, None, None, False
        try:
            watched(
                self._worker.submit(self._job, field, value, generation, visit, language, arrival)
            )
        except RuntimeError:  # closed while the kiosk stops
            with self._core.lock:
                self._loading = False

    def _job(
        self,
        field: str,
        value: str,
        generation: int,
        visit: int,
        language: str,
        arrival: str | None = None,
    ) -> None:
        shown = mask_nik(value) if field == "nik" else value[:40]
        result: CheckinResult | None = None
        message: Text | None = None
        call = False
        answer: CheckinAnswer | None = None
        try:
            answer = self._central.checkin(field=field, value=value)
        except CentralError as exc:
            message, call = refusal_message(exc, field, value)
            log.info("check-in %s=%s refused: %s (%s)", field, shown, exc.code or exc.status, exc)
            if arrival is not None and exc.code not in DUE_TODAY:
                self._hand_to_status(generation, visit, arrival)
                return
        except Exception:
            log.exception("check-in %s=%s crashed", field, shown)
            message = MSG_FAILED
        if answer is not None:
            result = describe(answer)
        if not self._show(generation, visit, result, message, call):
            return
        if call:
            self._attendant.call_attendant("check-in: central server unreachable")
        if answer is None or result is None:
            return
        failed = self._printing.print_calling_ticket(
            answer, service=result.service, language=language
        )
        broken = failed is CALLING_TICKET_FAILED  # the printer, not a repeat's refusal
        if broken:
            self._attendant.call_attendant(f"calling ticket {answer.calling_number} not printed")
        printed = replace(result, printed=failed is None)
        self._show(generation, visit, printed, failed, broken)

    def _hand_to_status(self, generation: int, visit: int, number: str) -> None:
        """An attract screen's QR that is not due today: its status instead (unless the
        citizen left meanwhile)."""
        core = self._core
        with core.lock:
            if generation != self._generation or not core.is_current(visit):
                return
            self._loading = False
            not_today, self._not_today = self._not_today, None
        if not_today is not None:
            not_today(number or None)

    def _show(
        self,
        generation: int,
        visit: int,
        result: CheckinResult | None,
        message: Text | None,
        called: bool,
    ) -> bool:
        """Show a worker's outcome unless the citizen left or started again (False then)."""
        core = self._core
        with core.lock:
            if generation != self._generation or not core.is_current(visit):
                return False
            self._loading, self._result, self._message = False, result, message
            self._called = self._called or called
        core.publish()
        return True

    # -- the attendant's priority lane --------------------------------------------------------
    def grant_priority(self, reason: str, attendant_id: str) -> Text | None:
        """Put the citizen whose calling number is on screen in the priority lane (blocking:
        the attendant's worker calls it); None when done, else why not, for the attendant."""
        core = self._core
        with core.lock:
            result = self._result if core.state() is SessionState.CHECKIN else None
            generation, visit = self._generation, core.generation
        if result is None:
            return MSG_NO_NUMBER_SHOWN
        if reason not in PRIORITY_LANES:
            raise ValueError(f"no priority lane {reason!r}")
        try:
            answer = self._central.queue_priority(result.registration_number, reason, attendant_id)
        except CentralError as exc:
            log.warning("priority %s for %s refused: %s", reason, result.calling_number, exc)
            return MSG_NO_NUMBER_SHOWN if exc.code == "not_checked_in" else exc.citizen_message
        granted = replace(describe(answer), printed=result.printed)
        log.info("priority %s for %s by %s", reason, answer.calling_number, attendant_id)
        self._show(generation, visit, granted, None, False)
        return None

    # -- reading -------------------------------------------------------------------------------
    def view(self) -> CheckinView | None:
        """The check-in's snapshot in the CHECKIN state (lock held)."""
        if self._core.state() is not SessionState.CHECKIN:
            return None
        return CheckinView(
            prefix=self._entry.prefix,
            digits=self._entry.digits,
            entry=self._entry.shown,
            loading=self._loading,
            result=self._result,
            message=self._message,
            attendant_called=self._called,
        )

    def close(self) -> None:
        """Stop the worker and wait for it (a running check-in's answer is dropped)."""
        with self._core.lock:
            self._generation += 1
        self._closed.set()
        self._worker.shutdown(wait=True, cancel_futures=True)

    def _activity(self) -> bool:
        if self._core.state() is not SessionState.CHECKIN:
            return False
        self._core.touch()
        return True

    def _wipe(self) -> None:
        """A new visit or the end of one: nothing of the check-in stays (lock held)."""
        self._generation += 1
        self._entry.reset()
        self._loading, self._result, self._message, self._called = False, None, None, False
        self._not_today = None
