"""What one journey may ask of another: small Protocols, nothing more."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from drivers.barcode_scanner.protocol import Scanned
from drivers.card_reader.protocol import CardEvent
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.session.views import Outcome


class SlotLoader(Protocol):
    """The schedule, as the form, the scanning step and a full slot see it."""

    def load(self) -> None:
        """(Re)load the chosen service's slots in the background."""


class LeasedSlots(SlotLoader, Protocol):
    """The schedule, as the submission sees it."""

    def leased(self, slot: Slot) -> str | None:
        """The lease `slot` was offered from, or None when the server offered it (lock held)."""

    def offline(self) -> bool:
        """True when the slots shown came while the server could not be reached (lock held)."""


class ScanStart(Protocol):
    """The scanning step, as the form sees it."""

    def begin(self, titles: Sequence[Text]) -> None:
        """The form is done: scan these documents (or resume them)."""

    def reopen(self) -> None:
        """Back from the schedule: the last document again."""


class ScannedDocuments(Protocol):
    """The scanned documents, as the submission sees them."""

    def documents(self) -> list[tuple[str, bytes]]:
        """(name, pdf) of every scanned document."""

    def upload(self, number: str, on_failed: Callable[[], None]) -> None:
        """Attach the documents to application `number` in the background."""


class Assistance(Protocol):
    """The assisted journey, as the submission sees it."""

    def stamp(self, values: Mapping[str, str]) -> dict[str, str]:
        """The data to send: the values, plus who assisted (lock held)."""


class ResultSink(Protocol):
    """The result screen, as the submission sees it."""

    def show(self, outcome: Outcome) -> None:
        """The submission is done (lock held)."""

    def documents_not_sent(self, generation: int) -> None:
        """Scanned documents did not reach the server."""


class AttendantCards(Protocol):
    """The assisted journey, as the card reader's events see it."""

    def card_presented(self, uid: str, now: float) -> bool:
        """True when a UID-only card is an attendant's (lock held)."""

    def holds_card_session(self) -> bool:
        """True when the visit runs on a UID-only card taken off the reader (lock held)."""

    def call_attendant(self, reason: str) -> None:
        """Call an attendant to the kiosk (lock not held)."""


class ClosedCards(Protocol):
    """The opening hours, as the card reader's events see them."""

    def card_event(self, event: CardEvent) -> None:
        """Answer a card placed or taken while closed (lock held)."""


class AttendantCall(Protocol):
    """The assisted journey, as a journey that needs an attendant sees it."""

    def call_attendant(self, reason: str) -> None:
        """Call an attendant to the kiosk (lock not held)."""


class CheckinCards(Protocol):
    """The check-in, as the card reader's events see it."""

    def card_event(self, event: CardEvent) -> bool:
        """A card tapped during an anonymous check-in: True when the check-in took it."""


class CheckinScans(Protocol):
    """The check-in, as the barcode scanner's reads see it."""

    def scanned(self, event: Scanned) -> bool:
        """A QR read during the check-in: True when the check-in took it."""

    def arrived(self, event: Scanned, not_today: Callable[[str | None], None]) -> bool:
        """A ticket's QR read on the attract or goodbye screen: True when it went to the
        check-in, which hands its number to `not_today` unless it is due today."""
