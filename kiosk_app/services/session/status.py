"""The status check and ticket reprint part of the session service (a mixin, like scanning)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from drivers.barcode_scanner.protocol import ScanEvent, Scanned
from kiosk_app.domain.session import SessionState
from kiosk_app.services.printing.reprint import TicketReprint
from kiosk_app.services.printing.service import TICKET_FAILED_HINT
from kiosk_app.services.session.status_check import StatusCheck

log = logging.getLogger("kiosk_app.services.session.service")


class StatusJourneyMixin:
    """Citizen actions of the STATUS state and the result's reprint; SessionService holds state."""

    _status_check: StatusCheck
    _reprint: TicketReprint | None
    _reprint_offered: str | None
    _lock: Any
    _machine: Any
    _clock: Callable[[], float]
    _generation: int
    _outcome: Any
    _message: Any
    _worker: Any

    _publish: Callable[[], None]
    _clear_session_extras: Callable[[], None]

    def open_status(self) -> None:
        """Open the status check (the menu's tile; a QR read opens it from the attract screen)."""
        with self._lock:
            if self._machine.state is not SessionState.STATUS and self._machine.open_status(
                self._clock()
            ):
                self._status_check.reset()
                self._message = None
        self._publish()

    def close_status(self) -> None:
        """Leave the status check: to the menu with a card, to the attract screen without."""
        with self._lock:
            if self._machine.close_status(self._clock()):
                self._clear_session_extras()
                self._message = None
        self._publish()

    def status_prefix(self, prefix: str) -> None:
        """Choose the service prefix of the number being typed."""
        if self._status_activity():
            self._status_check.set_prefix(prefix)

    def status_key(self, key: str) -> None:
        """A keypad key on the status screen: digit, backspace, clear or done (look up)."""
        if self._status_activity():
            self._status_check.key(key)

    def reprint_ticket(self) -> None:
        """The citizen asked for the ticket that did not print, now that the printer is back."""
        with self._lock:
            if self._reprint is None or self._machine.state is not SessionState.RESULT:
                return
            offer = self._reprint.view()
            if offer is None or not offer.printer_ready or offer.busy or offer.printed:
                return
            self._machine.activity(self._clock())
            generation = self._generation
        self._worker.submit(self._reprint_job, generation)

    def _reprint_job(self, generation: int) -> None:
        if self._reprint is None or not self._reprint.reprint("citizen"):
            return
        with self._lock:
            outcome = self._outcome
            if generation != self._generation or outcome is None:
                return
            messages = outcome.messages  # the ticket's come first, ending with the hint
            if TICKET_FAILED_HINT in messages:
                messages = messages[messages.index(TICKET_FAILED_HINT) + 1 :]
            self._outcome = replace(outcome, ticket_printed=True, messages=messages)
        self._publish()

    def _offer_reprint_if_owed(self) -> None:
        """On the result screen, offer again a ticket that did not print (lock held)."""
        outcome = self._outcome
        if (
            self._reprint is None
            or outcome is None
            or outcome.ticket_printed
            or self._machine.state is not SessionState.RESULT
            or self._reprint_offered == outcome.registration_number
        ):
            return
        self._reprint_offered = outcome.registration_number
        self._reprint.offer(outcome.registration_number, self._publish)

    def _status_activity(self) -> bool:
        with self._lock:
            if self._machine.state is not SessionState.STATUS:
                return False
            self._machine.activity(self._clock())
            return True

    def _on_scan_event(self, event: ScanEvent) -> None:
        """Barcode scanner thread: a receipt's QR opens its status (menu, or with no card)."""
        if not isinstance(event, Scanned):
            log.info("barcode scanner available=%s: %s", event.available, event.detail)
            return
        number = event.registration_number
        with self._lock:
            state = self._machine.state
            if state not in (SessionState.ATTRACT, SessionState.GOODBYE, SessionState.MENU,
                             SessionState.STATUS, SessionState.CLOSED):
                log.info("QR read in state %s ignored", state.value)
                return
            if state is SessionState.STATUS:
                self._machine.activity(self._clock())
            else:
                if state is not SessionState.MENU:
                    self._clear_session_extras()
                self._machine.open_status(self._clock())
                self._status_check.reset()
                self._message = None
        log.info("QR read for a status check: %s", number or "not a registration number")
        self._status_check.scanned(number)
