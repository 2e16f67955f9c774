"""The assisted journey: an attendant helps with the form or continues a UID-only card."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from kiosk_app.domain.form_variants import ASSISTED_BY, ASSISTED_KIND
from kiosk_app.domain.identity import Identity, mask_nik
from kiosk_app.domain.session import SessionState
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.hooks import AssistHooks

log = logging.getLogger(__name__)

UID_CARD_WAIT_S = 600.0  # how long after a UID-only card an attendant may continue it
# States in which an attendant may take over the form with the citizen present.
ASSISTABLE = (
    SessionState.IDENTITY,
    SessionState.MENU,
    SessionState.FORM,
    SessionState.SCAN,
    SessionState.SCHEDULE,
    SessionState.REVIEW,
    SessionState.STATUS,
)
IDLE = (SessionState.ATTRACT, SessionState.GOODBYE)


class AssistedJourney:
    """Marks a visit assisted, continues UID-only cards, hands attendant cards to the hooks."""

    def __init__(self, core: SessionCore) -> None:
        """No attendant mode until `attach` gives the hooks."""
        self._core = core
        self._hooks: AssistHooks | None = None
        self._by = ""  # the attendant id while the visit is assisted
        self._kind = ""  # "form" (filled on the citizen's behalf) or "uid_card"
        self._uid_card_at: float | None = None  # when a citizen's UID-only card was last read
        core.on_visit_end(self._wipe)

    def attach(self, hooks: AssistHooks) -> None:
        """Attendant mode is there: attendant cards and audit lines go to `hooks`."""
        with self._core.lock:
            self._hooks = hooks

    def assisted_by(self) -> str:
        """The attendant id when this visit is assisted, else ""."""
        with self._core.lock:
            return self._by

    def assist(self, attendant_id: str) -> str | None:
        """Mark the running visit assisted; the masked NIK, or None when no citizen is here."""
        core = self._core
        with core.lock:
            identity = core.machine.identity
            if identity is None or core.state() not in ASSISTABLE:
                return None
            if not self._by:
                self._by, self._kind = attendant_id, "form"
            core.touch()
            masked = mask_nik(identity.nik)
        core.publish()
        return masked

    def uid_card_waiting(self) -> bool:
        """True when a citizen's UID-only card was read lately and no visit runs."""
        core = self._core
        with core.lock:
            at = self._uid_card_at
            return at is not None and core.now() - at <= UID_CARD_WAIT_S and core.state() in IDLE

    def continue_uid_card(self, identity: Identity, attendant_id: str) -> bool:
        """Start the citizen's visit from the NIK and name the attendant typed off the card."""
        core = self._core
        with core.lock:
            m, now = core.machine, core.now()
            if m.state not in IDLE:
                identity.wipe()
                return False
            core.end_visit()
            if not (m.card_inserted(now) and m.identity_read(identity, now)):
                return False
            core.message = None
            self._by, self._kind = attendant_id, "uid_card"
            self._uid_card_at = None
        log.info(
            "UID-only card continued by attendant %s for NIK %s",
            attendant_id,
            mask_nik(identity.nik),
        )
        core.publish()
        return True

    # -- what other journeys ask -------------------------------------------------------------
    def stamp(self, values: Mapping[str, str]) -> dict[str, str]:
        """The submission's data: the form values, plus who assisted (lock held)."""
        if not self._by:
            return dict(values)
        identity = self._core.machine.identity
        if self._hooks is not None and identity is not None:
            self._hooks.audit(
                "submit_assisted",
                attendant=self._by,
                nik=mask_nik(identity.nik),
                detail=f"kind={self._kind}",
            )
        return {**values, ASSISTED_BY: self._by, ASSISTED_KIND: self._kind}

    def card_presented(self, uid: str, now: float) -> bool:
        """Card thread, lock held: an attendant's card unlocks attendant mode (True)."""
        if self._hooks is not None and self._hooks.card_presented(uid):
            if self._core.state() is SessionState.READING_CARD:
                self._core.machine.card_removed(now)  # back to the prompt, no "ask an attendant"
            return True
        self._uid_card_at = now
        return False

    def call_attendant(self, reason: str) -> None:
        """Call an attendant through attendant mode (logged as well: it may not be attached)."""
        log.warning("calling an attendant: %s", reason)
        hooks = self._hooks
        if hooks is not None:
            hooks.call_attendant(reason)

    def holds_card_session(self) -> bool:
        """True when the visit runs on a UID-only card taken off the reader (lock held)."""
        return self._kind == "uid_card"

    def _wipe(self) -> None:
        self._by = self._kind = ""
