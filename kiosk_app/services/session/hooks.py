"""The session and attendant mode, as each sees the other (imports nothing of either side)."""

from __future__ import annotations

from typing import Protocol

from kiosk_app.domain.identity import Identity
from kiosk_app.domain.text import Text


class AssistHooks(Protocol):
    """What the session asks of attendant mode (AttendantService implements it)."""

    def card_presented(self, uid: str) -> bool:
        """True when `uid` is an attendant's card (attendant mode unlocks)."""

    def audit(
        self, action: str, *, attendant: str | None = None, nik: str = "-", detail: str = ""
    ) -> None:
        """Write one audit line (masked NIK only)."""

    def call_attendant(self, reason: str) -> None:
        """The kiosk needs an attendant now: a fault the citizen cannot fix (no personal data)."""


class ShownCitizen(Protocol):
    """The part of the session's view attendant mode reads."""

    @property
    def masked_nik(self) -> str:
        """The citizen's masked NIK, or "" when no citizen is here."""


class AttendedSession(Protocol):
    """What attendant mode calls on the session (SessionService implements it)."""

    @property
    def view(self) -> ShownCitizen:
        """The latest view."""

    @property
    def assisted_by(self) -> str:
        """The assisting attendant's id, or ""."""

    def attach_attendant(self, hooks: AssistHooks) -> None:
        """Attendant mode is there."""

    def assist(self, attendant_id: str) -> str | None:
        """Mark the visit assisted; the masked NIK, or None."""

    def uid_card_waiting(self) -> bool:
        """True when a UID-only card waits for an attendant."""

    def continue_uid_card(self, identity: Identity, attendant_id: str) -> bool:
        """Start a visit from what the attendant typed off the card."""

    def attendant_reprinted(self, reference: str) -> None:
        """The attendant reprinted `reference`'s ticket."""

    def grant_priority(self, reason: str, attendant_id: str) -> Text | None:
        """The priority lane for the calling number on screen; None, or why not (blocking)."""
