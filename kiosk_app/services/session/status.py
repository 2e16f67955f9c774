"""The status journey: an application's status by its number, typed or read from a QR."""

from __future__ import annotations

import logging

from drivers.barcode_scanner.protocol import BarcodeScanner, ScanEvent, Scanned
from kiosk_app.central import CentralClient
from kiosk_app.domain.session import SessionState
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.ports import CheckinScans
from kiosk_app.services.session.status_check import StatusCheck
from kiosk_app.services.session.views import StatusCheckView

log = logging.getLogger("kiosk_app.services.session.service")

# States in which a receipt's QR opens its status (with no card, or from the menu).
QR_OPENS = (
    SessionState.ATTRACT,
    SessionState.GOODBYE,
    SessionState.MENU,
    SessionState.STATUS,
    SessionState.CLOSED,
)


class StatusJourney:
    """Citizen actions of the STATUS state; the barcode scanner's QR reads open it."""

    def __init__(
        self,
        core: SessionCore,
        central: CentralClient,
        barcode_scanner: BarcodeScanner | None,
        checkin: CheckinScans | None = None,
    ) -> None:
        """The office's PP.KK digits come pre-typed on the keypad; `checkin` takes the QR
        reads made during a check-in."""
        self._core = core
        self._checkin = checkin
        self._scanner = barcode_scanner
        self._check = StatusCheck(central, core.publish, office_code=central.office_code)
        core.on_visit_end(self._check.clear)

    def start(self) -> None:
        """Listen to the barcode scanner."""
        if self._scanner is not None:
            self._scanner.start(self.on_scan_event)

    def stop(self) -> None:
        """Stop the barcode scanner and the look-up worker."""
        if self._scanner is not None:
            self._scanner.stop()
        self._check.close()

    def open_status(self) -> None:
        """Open the status check (the menu's tile; a QR read opens it from the attract screen)."""
        core = self._core
        with core.lock:
            if core.state() is not SessionState.STATUS and core.machine.open_status(core.now()):
                self._check.reset()
                core.message = None
        core.publish()

    def close_status(self) -> None:
        """Leave the status check: to the menu with a card, to the attract screen without.
        Only the look-up is wiped (a number typed, someone's status): with a card the visit
        goes on (its form, its attendant's "assisted" mark); without one it ends here."""
        core = self._core
        with core.lock:
            if core.machine.close_status(core.now()):
                if core.state() is SessionState.MENU:
                    self._check.clear()
                else:
                    core.end_visit()
                core.message = None
        core.publish()

    def showed_result(self) -> bool:
        """True when the status screen shows an application's status."""
        with self._core.lock:
            return (
                self._core.state() is SessionState.STATUS and self._check.view().result is not None
            )

    def prefix(self, prefix: str) -> None:
        """Choose the service prefix of the number being typed."""
        if self._activity():
            self._check.set_prefix(prefix)

    def key(self, key: str) -> None:
        """A keypad key on the status screen: digit, backspace, clear or done (look up)."""
        if self._activity():
            self._check.key(key)

    def view(self) -> StatusCheckView | None:
        """The check's snapshot in the STATUS state (lock held)."""
        return self._check.view() if self._core.state() is SessionState.STATUS else None

    def on_scan_event(self, event: ScanEvent) -> None:
        """Barcode scanner thread: a receipt's QR opens its status (menu, or with no card)."""
        if not isinstance(event, Scanned):
            log.info("barcode scanner available=%s: %s", event.available, event.detail)
            return
        checkin = self._checkin
        if checkin is not None and (
            checkin.scanned(event) or checkin.arrived(event, self._status_of)
        ):
            return
        self._status_of(event.registration_number, scanned=True)

    def _status_of(self, number: str | None, *, scanned: bool = False) -> None:
        """Open the status check of a QR's `number` (None: not one of ours): a read on the
        scanner (`scanned`), or a check-in that found it is not due today."""
        core = self._core
        with core.lock:
            state = core.state()
            if scanned and state not in QR_OPENS:
                log.info("QR read in state %s ignored", state.value)
                return
            if not scanned and state is not SessionState.CHECKIN:
                return  # the citizen left the check-in meanwhile
            if state is SessionState.STATUS:
                core.touch()
            else:
                if state is SessionState.CHECKIN:
                    core.machine.close_checkin(core.now())
                if state is not SessionState.MENU:
                    core.end_visit()
                core.machine.open_status(core.now())
                self._check.reset()
                core.message = None
        log.info("QR read for a status check: %s", number or "not a registration number")
        self._check.scanned(number)

    def _activity(self) -> bool:
        with self._core.lock:
            if self._core.state() is not SessionState.STATUS:
                return False
            self._core.touch()
            return True
