"""Attendant mode's shared state: who is signed in, the panel's view and its listeners, the
audit lines; the attendant's actions (service.py) work through it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from kiosk_app.domain.text import Text
from kiosk_app.services.attendant import texts as T
from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, CredentialChecker
from kiosk_app.services.attendant.devices import DeviceLine, ReprintItem
from kiosk_app.services.attendant.held import HeldItem
from kiosk_app.services.session.hooks import AttendedSession

log = logging.getLogger(__name__)
audit_log = logging.getLogger("anjungan.audit")  # one line per attendant action, no names


@dataclass(frozen=True)
class AttendantView:
    """What the PIN pad and the attendant panel show."""

    unlocked: bool = False
    attendant_id: str = ""
    message: Text | None = None
    message_ok: bool = False  # a confirmation (green) rather than a problem (red)
    busy: bool = False
    pin_locked_for_s: int = 0
    devices: tuple[DeviceLine, ...] = ()
    reprints: tuple[ReprintItem, ...] = ()
    held: tuple[HeldItem, ...] = ()  # outbox rows refused or with no place, for the attendant
    can_assist: bool = False
    uid_card_waiting: bool = False
    session_assisted_by: str = ""
    unlocked_by: str = ""  # "pin" | "card"
    called: str = ""  # why the kiosk calls an attendant (a device fault); kept until one has
    # signed in and out again (lock() starts a fresh view)


Listener = Callable[[AttendantView], None]


class AttendantCore:
    """The signed-in attendant, the view with its listeners, the audit counts (thread-safe)."""

    def __init__(
        self,
        settings: AttendantSettings,
        *,
        kiosk_id: str,
        session: AttendedSession | None,
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.kiosk_id = kiosk_id
        self.session = session
        self.clock = clock
        self.checker = CredentialChecker(settings, clock=clock)
        self.lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._attendant: Attendant | None = None
        self._last_activity = clock()
        self._pin_was_locked = False  # so the pad hears when a lockout ends
        self._called_at = ""
        self._view = AttendantView()
        self.counts: dict[str, int] = {}

    # -- the view and its listeners ------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every new view, from whichever thread made the change."""
        with self.lock:
            self._listeners.append(listener)
        listener(self.view())

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling `listener`."""
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def clear_listeners(self) -> None:
        """Tell nobody of later views (the kiosk is stopping)."""
        with self.lock:
            self._listeners.clear()

    def view(self) -> AttendantView:
        """The current view (session-dependent fields are read fresh)."""
        with self.lock:
            view = self._view
        s = self.session
        if s is None or not view.unlocked:
            return replace(view, pin_locked_for_s=int(self.checker.locked_for() + 0.999))
        return replace(
            view,
            can_assist=s.view.masked_nik != "" and not s.assisted_by,
            uid_card_waiting=s.uid_card_waiting(),
            session_assisted_by=s.assisted_by,
            pin_locked_for_s=0,
        )

    def update(self, **changes: Any) -> None:
        """Change the view and tell every listener."""
        with self.lock:
            self._view = replace(self._view, **changes)
        self.publish()

    def publish(self) -> None:
        """Tell every listener the current view (a failing listener is logged, not fatal)."""
        view = self.view()
        with self.lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(view)
            except Exception:
                log.exception("attendant listener failed")

    # -- who is signed in ----------------------------------------------------------------------
    def sign_in(self, attendant: Attendant) -> None:
        """`attendant` is now signed in (the caller audits and updates the view)."""
        with self.lock:
            self._attendant = attendant
            self._last_activity = self.clock()

    def sign_out(self) -> Attendant | None:
        """Nobody is signed in any more and the view starts afresh; who was (None: nobody)."""
        with self.lock:
            attendant, self._attendant = self._attendant, None
            if attendant is not None:
                self._view = AttendantView()
        return attendant

    @property
    def attendant_id(self) -> str:
        """The attendant now signed in, or ""."""
        with self.lock:
            return self._attendant.id if self._attendant else ""

    @property
    def signed_in(self) -> bool:
        """Whether an attendant is signed in."""
        with self.lock:
            return self._attendant is not None

    def activity(self) -> None:
        """A touch anywhere: attendant mode stays open."""
        with self.lock:
            self._last_activity = self.clock()

    def idle_and_counting(self) -> tuple[bool, bool]:
        """(signed in but untouched for `idle_lock_s`, a PIN lockout running or just ended)."""
        with self.lock:
            idle = (
                self._attendant is not None
                and self.clock() - self._last_activity >= self.settings.idle_lock_s
            )
            locked = self.checker.locked_for() > 0
            counting, self._pin_was_locked = locked or self._pin_was_locked, locked
        return idle, counting

    def require(self) -> str | None:
        """The signed-in attendant's id, or None (and say the mode is locked)."""
        with self.lock:
            attendant = self._attendant
            if attendant is not None:
                self._last_activity = self.clock()
        if attendant is None:
            self.update(message=T.LOCKED, message_ok=False)
            return None
        return attendant.id

    # -- health and audit ----------------------------------------------------------------------
    def status(self) -> dict[str, str]:
        """For the health report: locked or not, and counts of attendant actions (held rows
        travel as the heartbeat's own `held_submissions`, see HealthReporter)."""
        with self.lock:
            counts = dict(self.counts)
            state = "unlocked" if self._attendant else "locked"
            called, called_at = self._view.called, self._called_at
        return {
            "state": state,
            "assisted_sessions": str(
                counts.get("assist_form", 0) + counts.get("continue_uid_card", 0)
            ),
            "reprints": str(counts.get("reprint_ticket", 0) + counts.get("reprint_calling", 0)),
            "receipt_reprints": str(counts.get("reprint_receipt", 0)),
            "a4_resumes": str(counts.get("resume_a4", 0)),
            "actions": str(sum(counts.values())),
            "pin_failures": str(self.checker.failures),
            "pin_lockouts": str(self.checker.lockouts),
            "called": called,
            "called_at": called_at if called else "",
        }

    def call_attendant(self, reason: str) -> None:
        """The kiosk needs an attendant (shown, audited, in the health report)."""
        with self.lock:
            first = self._view.called != reason
            self._called_at = datetime.now(UTC).isoformat(timespec="seconds")
        if first:
            self.audit("attendant_called", attendant="-", detail=reason.replace(" ", "_"))
        self.update(called=reason)

    def audit(
        self, action: str, *, attendant: str | None = None, nik: str = "-", detail: str = ""
    ) -> None:
        """One audit line: attendant id, action, masked NIK, kiosk id (never a name)."""
        who = attendant or self.attendant_id or "-"
        with self.lock:
            self.counts[action] = self.counts.get(action, 0) + 1
        audit_log.info(
            "AUDIT kiosk=%s attendant=%s action=%s nik=%s%s",
            self.kiosk_id,
            who,
            action,
            nik,
            f" {detail}" if detail else "",
        )
