"""What the facade calls on each journey: one small Protocol per journey."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from kiosk_app.domain.identity import Identity
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.session.hooks import AssistHooks
from kiosk_app.services.session.views import (
    CardHolderView,
    CheckinView,
    Outcome,
    ReprintOffer,
    ScanView,
    SlotAvailability,
    StatusCheckView,
    SurveyView,
)


class CardActions(Protocol):
    """The card reader's side of a visit."""

    @property
    def simulated(self) -> bool:
        """True when the card reader is the simulator."""

    def reader_available(self) -> bool:
        """The reader's last reported availability."""

    def start(self) -> None:
        """Start listening to the card reader."""

    def stop(self) -> None:
        """Stop the card reader."""

    def follow_reader(self) -> None:
        """(Each tick) Call an attendant when the reader stayed unavailable too long."""

    def simulate_tap(self, citizen_index: int = 0) -> None:
        """Put a fictional citizen's card on the simulated reader."""

    def simulate_removal(self) -> None:
        """Take the card off the simulated reader."""

    def simulate_uid_card(self, uid: str) -> None:
        """Present a UID-only card on the simulated reader."""

    def simulate_uid_card_removal(self) -> None:
        """Take the simulated UID-only card away."""


class FormActions(Protocol):
    """The menu, the form's pages and the review."""

    def errors(self) -> Mapping[str, Text]:
        """The current page's field messages."""

    def continue_to_menu(self) -> None:
        """Identity confirmed: show the menu."""

    def choose_service(self, key: str) -> bool:
        """Open a service's form (True), or say it is not built yet."""

    def typed_data(self) -> bool:
        """True when the open form holds something the citizen entered."""

    def set_value(self, name: str, value: str) -> None:
        """Store what the citizen entered in a field."""

    def next_page(self) -> None:
        """Validate the page and move on."""

    def previous_page(self) -> None:
        """Go one step back."""

    def edit_page(self, index: int) -> None:
        """From the review, go back to a form page."""

    def choose_slot(self, slot: Slot) -> None:
        """The citizen picked a verification date and window."""


class ScheduleActions(Protocol):
    """The verification slots."""

    def slots(self) -> tuple[SlotAvailability, ...]:
        """The slots loaded."""

    def loading(self) -> bool:
        """True while the slots are being loaded."""


class SubmitActions(Protocol):
    """The submission."""

    last_transaction_at: datetime | None  # when the last one completed (the health report)

    def busy(self) -> bool:
        """True while the submission runs."""

    def submit(self) -> None:
        """Send the pre-application, then print."""

    def new_application(self) -> None:
        """The next submission is a new application."""

    def unsent(self) -> str:
        """This visit's submission still waiting in the outbox (its LOK-... reference), or ""."""


class ResultActions(Protocol):
    """The result screen."""

    def outcome(self) -> Outcome | None:
        """What the result screen shows."""

    def reprint_offer(self) -> ReprintOffer | None:
        """The reprint button's state."""

    def reprint_ticket(self) -> None:
        """Reprint the ticket that did not print."""

    def ticket_reprinted(self, reference: str) -> None:
        """An attendant reprinted `reference`'s ticket."""


class ScanActions(Protocol):
    """The document scanning step."""

    def preview(self) -> None:
        """Preview the scanner glass."""

    def page(self) -> None:
        """Scan one more page."""

    def feeder(self) -> None:
        """Scan the document feeder."""

    def retake(self, index: int) -> None:
        """Scan page `index` again."""

    def remove(self, index: int) -> None:
        """Drop page `index`."""

    def next_document(self) -> None:
        """On to the next document."""

    def skip_document(self) -> None:
        """Bring this document to the counter instead."""

    def skip_all(self) -> None:
        """Skip every remaining document."""

    def previous_document(self) -> bool:
        """Back one document; False on the first."""

    def view(self) -> ScanView | None:
        """The step's snapshot in the SCAN state."""

    def close(self) -> None:
        """Wipe and stop the step."""


class SurveyActions(Protocol):
    """The satisfaction survey."""

    def offer_at_finish(self) -> bool:
        """Open the survey instead of the goodbye (True)."""

    def offer_without_card(self, service: str) -> bool:
        """A visit without a card ends: the survey (True)."""

    def note_visit(self, service: str) -> None:
        """A journey finished: offer the survey at the end."""

    def answer(self, code: str, value: int) -> None:
        """One answer to one element."""

    def page(self, delta: int) -> None:
        """The next or previous page of questions."""

    def send(self) -> None:
        """Send the answers."""

    def skip(self) -> None:
        """No survey."""

    def view(self) -> SurveyView | None:
        """The survey's snapshot."""


class StatusActions(Protocol):
    """The status check."""

    def start(self) -> None:
        """Listen to the barcode scanner."""

    def stop(self) -> None:
        """Stop the barcode scanner and the look-ups."""

    def open_status(self) -> None:
        """Open the status check."""

    def close_status(self) -> None:
        """Leave the status check."""

    def showed_result(self) -> bool:
        """True when a status is shown."""

    def prefix(self, prefix: str) -> None:
        """Choose the number's service prefix."""

    def key(self, key: str) -> None:
        """A keypad key."""

    def view(self) -> StatusCheckView | None:
        """The check's snapshot."""


class CheckinActions(Protocol):
    """The verification day's check-in."""

    def open_checkin(self) -> None:
        """Open the check-in (a card holder's booking is checked at once)."""

    def close_checkin(self) -> None:
        """Leave the check-in."""

    def prefix(self, prefix: str) -> None:
        """Choose the number's service prefix."""

    def key(self, key: str) -> None:
        """A keypad key ("done": check in by the typed number)."""

    def grant_priority(self, reason: str, attendant_id: str) -> Text | None:
        """The attendant's priority lane for the number on screen; None, or why not."""

    def view(self) -> CheckinView | None:
        """The check-in's snapshot."""

    def close(self) -> None:
        """Stop the check-in's worker."""


class CardHolderActions(Protocol):
    """The card holder's own applications and documents."""

    def open_documents(self) -> None:
        """Open "Cetak Dokumen"."""

    def close_documents(self) -> None:
        """Back to the menu."""

    def key(self, key: str) -> None:
        """A key of the print-code pad."""

    def print_by_code(self) -> None:
        """Print the document of the typed code."""

    def print_own(self, registration_number: str) -> None:
        """Print one of the card holder's ready documents."""

    def show_own(self) -> None:
        """Load the card holder's own applications."""

    def copy_receipt(self, registration_number: str) -> None:
        """Print the lost receipt of one of the card holder's applications again."""

    def view(self) -> CardHolderView | None:
        """The desk's snapshot."""

    def close(self) -> None:
        """Stop the desk."""


class AssistActions(Protocol):
    """The attendant's side of a visit."""

    def attach(self, hooks: AssistHooks) -> None:
        """Attendant mode is there."""

    def assisted_by(self) -> str:
        """The assisting attendant's id, or ""."""

    def assist(self, attendant_id: str) -> str | None:
        """Mark the visit assisted; the masked NIK, or None."""

    def uid_card_waiting(self) -> bool:
        """True when a UID-only card waits for an attendant."""

    def continue_uid_card(self, identity: Identity, attendant_id: str) -> bool:
        """Start a visit from what the attendant typed off the card."""


class HoursActions(Protocol):
    """The opening hours."""

    def follow(self) -> None:
        """Close or open by the hours (lock held)."""

    def reopening_text(self) -> Text | None:
        """When the kiosk opens again (CLOSED only)."""
