"""The card holder's own applications and the "Cetak Dokumen" part of the session (a mixin)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kiosk_app.domain.session import SessionState
from kiosk_app.services.printing.issued import IssuedDocumentPrint
from kiosk_app.services.session.card_holder import CardHolderDesk, CardHolderView

log = logging.getLogger("kiosk_app.services.session.service")


class DocumentsJourneyMixin:
    """Citizen actions of the DOCUMENTS state and of the status screen's own applications."""

    _card_holder: CardHolderDesk
    _central: Any
    _printing: Any
    _lock: Any
    _machine: Any
    _message: Any
    _clock: Callable[[], float]
    _publish: Callable[[], None]
    note_visit_for_survey: Callable[[str], None]

    def _init_card_holder(self) -> None:
        """Called once by SessionService.__init__."""
        printer = IssuedDocumentPrint(self._central, self._printing)
        self._card_holder = CardHolderDesk(
            self._central, printer, self._publish,
            on_printed=lambda: self.note_visit_for_survey("print"),
        )

    def open_documents(self) -> None:
        """The menu's "Cetak Dokumen": the card holder's ready documents and a code pad."""
        with self._lock:
            opened = self._machine.open_documents(self._clock())
            nik = self._nik()
            if opened:
                self._card_holder.clear()
                self._message = None
        self._publish()
        if opened and nik:
            self._card_holder.load(nik)

    def close_documents(self) -> None:
        """Back to the menu."""
        with self._lock:
            if self._machine.close_documents(self._clock()):
                self._card_holder.clear()
                self._message = None
        self._publish()

    def documents_key(self, key: str) -> None:
        """A key of the print-code pad."""
        if self._documents_activity(SessionState.DOCUMENTS):
            self._card_holder.key(key)

    def print_by_code(self) -> None:
        """Print the document whose one-time code was typed."""
        nik = self._documents_activity(SessionState.DOCUMENTS)
        if nik:
            self._card_holder.print_code(nik)

    def print_own_document(self, registration_number: str) -> None:
        """Print one of the card holder's own ready documents."""
        nik = self._documents_activity(SessionState.DOCUMENTS)
        if nik:
            self._card_holder.print_own(nik, registration_number)

    def show_own_applications(self) -> None:
        """On the status screen: load the timelines of the card holder's own applications."""
        nik = self._documents_activity(SessionState.STATUS)
        if nik:
            self._card_holder.load(nik)

    def _card_holder_view(self) -> CardHolderView | None:
        """The desk's snapshot where it is shown, only while a card holder is known."""
        if self._machine.identity is None or self._machine.state not in (
            SessionState.DOCUMENTS, SessionState.STATUS
        ):
            return None
        return self._card_holder.view()

    def _documents_activity(self, state: SessionState) -> str:
        """The card holder's NIK when in `state` (counts as activity), else ""."""
        with self._lock:
            if self._machine.state is not state:
                return ""
            self._machine.activity(self._clock())
            return self._nik()

    def _nik(self) -> str:
        identity = self._machine.identity
        return identity.nik if identity is not None else ""
