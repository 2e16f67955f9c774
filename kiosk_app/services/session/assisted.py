"""The session's attendant side: assisted sessions, UID-only cards continued, attendant cards."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from drivers.card_reader.protocol import CardInserted, CardRemoved, UidOnlyCard
from kiosk_app.domain.identity import Identity, mask_nik
from kiosk_app.domain.session import SessionState
from kiosk_app.services.printing.service import TICKET_FAILED_HINT

log = logging.getLogger(__name__)

UID_CARD_WAIT_S = 600.0  # how long after a UID-only card an attendant may continue it
# States in which an attendant may take over the form with the citizen present.
ASSISTABLE = (SessionState.IDENTITY, SessionState.MENU, SessionState.FORM, SessionState.SCAN,
              SessionState.SCHEDULE, SessionState.REVIEW, SessionState.STATUS)


class AttendantJourneyMixin:
    """Mixed into SessionService: marks a session assisted and lets an attendant's card unlock."""

    _assisted_by: str = ""  # the attendant id while a session is assisted
    _assist_kind: str = ""  # "form" (filled on the citizen's behalf) or "uid_card"
    _uid_card_at: float | None = None  # when a citizen's UID-only card was last read
    attendant_card: Callable[[str], bool] | None = None  # set by AttendantService.attach
    attendant_audit: Callable[..., None] | None = None  # set by AttendantService.attach

    _lock: Any
    _machine: Any
    _clock: Callable[[], float]
    _message: Any
    _outcome: Any
    _reprint: Any
    _publish: Callable[[], None]
    _clear_session_extras: Callable[[], None]
    _on_card_event: Callable[[Any], None]

    @property
    def assisted_by(self) -> str:
        """The attendant id when this session is assisted, else ""."""
        return self._assisted_by

    def assist(self, attendant_id: str) -> str | None:
        """Mark the running session assisted; the masked NIK, or None when no citizen is here."""
        with self._lock:
            m = self._machine
            if m.identity is None or m.state not in ASSISTABLE:
                return None
            if not self._assisted_by:
                self._assisted_by, self._assist_kind = attendant_id, "form"
            m.activity(self._clock())
            masked = mask_nik(m.identity.nik)
        self._publish()
        return masked

    def uid_card_waiting(self) -> bool:
        """True when a citizen's UID-only card was read lately and no session runs."""
        with self._lock:
            at = self._uid_card_at
            return (at is not None and self._clock() - at <= UID_CARD_WAIT_S
                    and self._machine.state in (SessionState.ATTRACT, SessionState.GOODBYE))

    def continue_uid_card(self, identity: Identity, attendant_id: str) -> bool:
        """Start the citizen's session from the NIK and name the attendant typed off the card."""
        with self._lock:
            m, now = self._machine, self._clock()
            if m.state not in (SessionState.ATTRACT, SessionState.GOODBYE):
                identity.wipe()
                return False
            self._clear_session_extras()
            if not (m.card_inserted(now) and m.identity_read(identity, now)):
                return False
            self._message = None
            self._assisted_by, self._assist_kind = attendant_id, "uid_card"
            self._uid_card_at = None
        log.info("UID-only card continued by attendant %s for NIK %s", attendant_id,
                 mask_nik(identity.nik))
        self._publish()
        return True

    def attendant_reprinted(self, reference: str) -> None:
        """The attendant reprinted `reference`'s ticket: the result screen stops offering it."""
        with self._lock:
            outcome = self._outcome
            if outcome is None or outcome.registration_number != reference \
                    or outcome.ticket_printed:
                return
            if self._reprint is not None:
                self._reprint.withdraw()
            messages = outcome.messages
            if TICKET_FAILED_HINT in messages:
                messages = messages[messages.index(TICKET_FAILED_HINT) + 1:]
            self._outcome = replace(outcome, ticket_printed=True, messages=messages)
        self._publish()

    def _assisted_data(self, values: Mapping[str, str]) -> dict[str, str]:
        """The submission's data: the form values, plus who assisted (lock held)."""
        if not self._assisted_by:
            return dict(values)
        identity = self._machine.identity
        if self.attendant_audit is not None and identity is not None:
            self.attendant_audit("submit_assisted", attendant=self._assisted_by,
                                 nik=mask_nik(identity.nik), detail=f"kind={self._assist_kind}")
        return {**values, "assisted_by": self._assisted_by, "assisted_kind": self._assist_kind}

    def _clear_assisted(self) -> None:
        """The session ended: the next one is the citizen's own (lock held)."""
        self._assisted_by = self._assist_kind = ""

    def _attendant_card(self, uid: str, now: float) -> bool:
        """Card thread, lock held: an attendant's card unlocks attendant mode (True)."""
        check = self.attendant_card
        if check is not None and check(uid):
            if self._machine.state is SessionState.READING_CARD:
                self._machine.card_removed(now)  # back to the prompt, no "ask an attendant"
            return True
        self._uid_card_at = now
        return False

    # -- the simulated reader ----------------------------------------------------------------
    def simulate_uid_card(self, uid: str) -> None:
        """Present a UID-only card (an attendant's or a citizen's) on the simulated reader."""
        if getattr(self, "simulated_reader", False):
            self._on_card_event(CardInserted())
            self._on_card_event(UidOnlyCard(uid))

    def simulate_uid_card_removal(self) -> None:
        """Take the simulated UID-only card away."""
        if getattr(self, "simulated_reader", False):
            self._on_card_event(CardRemoved())
