"""The card holder's journey: own applications on the status screen, "Cetak Dokumen"."""

from __future__ import annotations

from collections.abc import Callable

from kiosk_app.central import CentralClient
from kiosk_app.domain.session import SessionState
from kiosk_app.services.printing.copy_outcomes import CopyOutcomes
from kiosk_app.services.printing.issued import IssuedDocumentPrint
from kiosk_app.services.printing.receipt_copy import ReceiptCopyPrint
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.desk import CardHolderDesk
from kiosk_app.services.session.ports import AttendantCall
from kiosk_app.services.session.views import CardHolderView


class CardHolderJourney:
    """Citizen actions of the DOCUMENTS state and of the status screen's own applications."""

    def __init__(
        self,
        core: SessionCore,
        *,
        central: CentralClient,
        printing: PrintingService,
        on_printed: Callable[[], None],
        attendant: AttendantCall | None = None,
        copy_outcomes: CopyOutcomes | None = None,
    ) -> None:
        """`on_printed`: a document printed (e.g. the survey is offered at the end);
        `attendant`: called when a printer fails on a receipt copy; `copy_outcomes`: where a
        copy's print outcome goes to the server (one that printed nothing is given back)."""
        self._core = core
        printer = IssuedDocumentPrint(central, printing)
        self._desk = CardHolderDesk(
            central,
            printer,
            core.publish,
            on_printed=on_printed,
            copier=ReceiptCopyPrint(central, printing, outcomes=copy_outcomes),
            on_fault=attendant.call_attendant if attendant is not None else None,
        )
        core.on_visit_end(self._desk.clear)  # own applications and a typed print code

    def open_documents(self) -> None:
        """The menu's "Cetak Dokumen": the card holder's ready documents and a code pad."""
        core = self._core
        with core.lock:
            opened = core.machine.open_documents(core.now())
            nik = self._nik()
            if opened:
                self._desk.clear()
                core.message = None
        core.publish()
        if opened and nik:
            self._desk.load(nik)

    def close_documents(self) -> None:
        """Back to the menu."""
        core = self._core
        with core.lock:
            if core.machine.close_documents(core.now()):
                self._desk.clear()
                core.message = None
        core.publish()

    def key(self, key: str) -> None:
        """A key of the print-code pad."""
        if self._activity(SessionState.DOCUMENTS):
            self._desk.key(key)

    def print_by_code(self) -> None:
        """Print the document whose one-time code was typed."""
        nik = self._activity(SessionState.DOCUMENTS)
        if nik:
            self._desk.print_code(nik)

    def print_own(self, registration_number: str) -> None:
        """Print one of the card holder's own ready documents."""
        nik = self._activity(SessionState.DOCUMENTS)
        if nik:
            self._desk.print_own(nik, registration_number)

    def copy_receipt(self, registration_number: str) -> None:
        """On the status screen: print the lost receipt of an own application again."""
        with self._core.lock:
            if self._core.state() is not SessionState.STATUS:
                return
            self._core.touch()
            identity = self._core.machine.identity
            language = self._core.language
        if identity is not None:
            self._desk.copy_receipt(identity, registration_number, language)

    def show_own(self) -> None:
        """On the status screen: load the timelines of the card holder's own applications."""
        nik = self._activity(SessionState.STATUS)
        if nik:
            self._desk.load(nik)

    def view(self) -> CardHolderView | None:
        """The desk's snapshot where it is shown, only while a card holder is known."""
        if self._core.machine.identity is None or self._core.state() not in (
            SessionState.DOCUMENTS,
            SessionState.STATUS,
        ):
            return None
        return self._desk.view()

    def close(self) -> None:
        """Stop the desk's worker."""
        self._desk.close()

    def _activity(self, state: SessionState) -> str:
        """The card holder's NIK when in `state` (counts as activity), else ""."""
        with self._core.lock:
            if self._core.state() is not state:
                return ""
            self._core.touch()
            return self._nik()

    def _nik(self) -> str:
        identity = self._core.machine.identity
        return identity.nik if identity is not None else ""
