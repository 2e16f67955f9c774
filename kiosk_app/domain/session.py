"""The citizen's session as a state machine: pure, clock injected, wipes what it held."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from kiosk_app.domain.identity import Identity
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot


class SessionState(Enum):
    """Where the citizen is in the journey."""

    ATTRACT = "attract"
    READING_CARD = "reading_card"
    IDENTITY = "identity"
    MENU = "menu"
    FORM = "form"
    SCAN = "scan"  # optional: scan the documents to bring, or skip them
    SCHEDULE = "schedule"
    REVIEW = "review"
    SUBMITTING = "submitting"
    RESULT = "result"
    GOODBYE = "goodbye"
    STATUS = "status"  # checking an application (from the menu, or a QR with no card)
    SURVEY = "survey"  # the optional satisfaction survey at the end (nothing personal held)
    DOCUMENTS = "documents"  # printing an issued document (card holder, one-time print code)
    CLOSED = "closed"  # outside opening hours (entered only from ATTRACT): says when it reopens
    CHECKIN = "checkin"  # the verification day: exchange the ticket for a calling number


class EndReason(Enum):
    """Why a session ended."""

    COMPLETED = "completed"
    CARD_REMOVED = "card_removed"
    INACTIVITY = "inactivity"
    CANCELLED = "cancelled"
    ENDED = "ended"  # the citizen ended the visit from the menu ("Akhiri kunjungan")


GOODBYE_TEXT = {
    EndReason.COMPLETED: Text(
        "Terima kasih. Jangan lupa ambil e-KTP dan tiket Anda.",
        "Thank you. Do not forget your e-KTP and your ticket.",
    ),
    EndReason.CARD_REMOVED: Text(
        "e-KTP dilepas, sesi diakhiri dan data Anda sudah dihapus dari layar.",
        "The e-KTP was removed; the session ended and your data was cleared.",
    ),
    EndReason.INACTIVITY: Text(
        "Sesi diakhiri karena tidak ada aktivitas. Data Anda sudah dihapus dari layar. "
        "Jangan lupa ambil e-KTP Anda.",
        "The session ended after no activity. Your data was cleared. "
        "Do not forget to take your e-KTP.",
    ),
    EndReason.ENDED: Text(
        "Terima kasih atas kunjungan Anda. Data Anda sudah dihapus dari layar. "
        "Jangan lupa ambil e-KTP Anda.",
        "Thank you for your visit. Your data was cleared. Do not forget to take your e-KTP.",
    ),
    EndReason.CANCELLED: Text(
        "Sesi dibatalkan. Data Anda sudah dihapus dari layar. Jangan lupa ambil e-KTP Anda.",
        "The session was cancelled. Your data was cleared. Do not forget to take your e-KTP.",
    ),
}

READ_TIMED_OUT = Text(
    "e-KTP tidak selesai dibaca. Angkat e-KTP, lalu tempelkan kembali. Jika tetap gagal, "
    "silakan hubungi petugas.",
    "The e-KTP could not be read in time. Lift it and place it again. If it still fails, "
    "please ask an attendant.",
)

# States in which the citizen is expected to act (inactivity counts there).
_INTERACTIVE = {
    SessionState.IDENTITY,
    SessionState.MENU,
    SessionState.FORM,
    SessionState.SCAN,
    SessionState.SCHEDULE,
    SessionState.REVIEW,
    SessionState.RESULT,
    SessionState.STATUS,
    SessionState.SURVEY,
    SessionState.DOCUMENTS,
    SessionState.CHECKIN,
}


@dataclass(frozen=True)
class Timeouts:
    """Inactivity limits in seconds; the warning always leaves at least 20 s to answer."""

    inactivity_s: float = 90.0
    warning_s: float = 30.0
    goodbye_s: float = 8.0
    max_extensions: int = 1000  # "Saya masih di sini" is never refused in practice
    # Longest wait for a card read to end (identity or failure): a few seconds beyond the
    # driver's own whole-read deadline (pcsc_read_timeout_s, 4 s), so the driver's typed
    # error normally comes first and this is only the backstop for a reader gone quiet.
    reading_s: float = 8.0
    # How long the reader may stay unavailable while nobody is reading (pcscd starting at boot,
    # a cable reseated) before the kiosk calls an attendant; it comes back by itself otherwise.
    reader_missing_s: float = 20.0

    def __post_init__(self) -> None:
        if self.warning_s < 20:
            raise ValueError("the inactivity warning must leave at least 20 s to answer")
        if not 0 < self.reading_s <= 60:
            raise ValueError("the card reading deadline must be between 0 and 60 s")
        if self.reader_missing_s <= 0:
            raise ValueError("the reader's grace before calling an attendant must be above 0 s")


@dataclass
class SessionMachine:
    """Holds one citizen's session; every event returns whether it was accepted."""

    timeouts: Timeouts = field(default_factory=Timeouts)
    state: SessionState = SessionState.ATTRACT
    identity: Identity | None = None
    service: str | None = None
    page: int = 0
    page_count: int = 0
    scan_step: bool = False  # the journey has a document scanning step after the form
    values: dict[str, str] = field(default_factory=dict)
    slot: Slot | None = None
    result: dict[str, Any] | None = None
    error: Text | None = None
    end_reason: EndReason | None = None
    last_activity: float = 0.0
    warning_deadline: float | None = None
    goodbye_deadline: float | None = None
    reading_deadline: float | None = None

    # -- card events -------------------------------------------------------------------------
    def card_inserted(self, now: float) -> bool:
        """A card entered the field: start reading (from the attract or goodbye screen)."""
        anonymous_status = self.state is SessionState.STATUS and self.identity is None
        idle = (SessionState.ATTRACT, SessionState.GOODBYE, SessionState.SURVEY)
        if self.state not in idle and not anonymous_status:
            return False
        self._reset()
        self.state = SessionState.READING_CARD
        self.last_activity = now
        self.reading_deadline = now + self.timeouts.reading_s
        return True

    def identity_read(self, identity: Identity, now: float) -> bool:
        """The chip was read: show who the citizen is."""
        if self.state is not SessionState.READING_CARD:
            identity.wipe()
            return False
        self.identity = identity
        self.state = SessionState.IDENTITY
        self.last_activity = now
        self.reading_deadline = None
        return True

    def read_failed(self, message: Text, now: float) -> bool:
        """Reading failed: back to the prompt with a message."""
        if self.state is not SessionState.READING_CARD:
            return False
        self._reset()
        self.state = SessionState.ATTRACT
        self.error = message
        return True

    def card_removed(self, now: float) -> bool:
        """The card left the reader: end the session from any state."""
        if self.state in (SessionState.ATTRACT, SessionState.CLOSED):
            return False
        if self.state in (SessionState.GOODBYE, SessionState.SURVEY):
            return True  # the survey holds nothing personal: taking the card is fine
        if self.state is SessionState.READING_CARD:
            self._reset()
            self.state = SessionState.ATTRACT
            return True
        return self.end(EndReason.CARD_REMOVED, now)

    # -- navigation --------------------------------------------------------------------------
    def to_menu(self, now: float) -> bool:
        """From the identity screen (or back from a form's first page) to the menu."""
        if self.state is SessionState.IDENTITY or (
            self.state is SessionState.FORM and self.page == 0
        ):
            self.state = SessionState.MENU
            self.service = None
            self.values.clear()
            return self._active(now)
        return False

    def start_form(
        self,
        service: str,
        page_count: int,
        prefill: dict[str, str],
        now: float,
        *,
        scan_step: bool = False,
    ) -> bool:
        """Open the first page of a service's form (`scan_step`: scanning follows the form)."""
        if self.state is not SessionState.MENU or page_count < 1:
            return False
        self.service = service
        self.page_count = page_count
        self.scan_step = scan_step
        self.page = 0
        self.values = dict(prefill)
        self.slot = None
        self.state = SessionState.FORM
        return self._active(now)

    def next_page(self, now: float) -> bool:
        """Go to the next form page, or to the schedule after the last one."""
        if self.state is not SessionState.FORM:
            return False
        if self.page + 1 < self.page_count:
            self.page += 1
        else:
            self.state = SessionState.SCAN if self.scan_step else SessionState.SCHEDULE
        return self._active(now)

    def scan_done(self, now: float) -> bool:
        """The citizen scanned or skipped the documents: on to the schedule."""
        if self.state is not SessionState.SCAN:
            return False
        self.state = SessionState.SCHEDULE
        return self._active(now)

    def previous_page(self, now: float) -> bool:
        """Go one step back in the journey."""
        if self.state is SessionState.FORM:
            if self.page == 0:
                return self.to_menu(now)
            self.page -= 1
        elif self.state is SessionState.SCHEDULE and self.scan_step:
            self.state = SessionState.SCAN
        elif self.state in (SessionState.SCHEDULE, SessionState.SCAN):
            self.state = SessionState.FORM
            self.page = self.page_count - 1
        elif self.state is SessionState.REVIEW:
            self.state = SessionState.SCHEDULE
        else:
            return False
        return self._active(now)

    def edit_page(self, index: int, now: float) -> bool:
        """From the review, jump back to a form page to correct it."""
        if self.state is not SessionState.REVIEW or not 0 <= index < self.page_count:
            return False
        self.state = SessionState.FORM
        self.page = index
        return self._active(now)

    def set_value(self, name: str, value: str, now: float) -> bool:
        """Store what the citizen typed."""
        if self.state is not SessionState.FORM:
            return False
        self.values[name] = value
        return self._active(now)

    def choose_slot(self, slot: Slot, now: float) -> bool:
        """The citizen picked a verification date and window."""
        if self.state is not SessionState.SCHEDULE:
            return False
        self.slot = slot
        self.state = SessionState.REVIEW
        return self._active(now)

    def submit(self, now: float) -> bool:
        """Send the pre-application."""
        if self.state is not SessionState.REVIEW or self.slot is None:
            return False
        self.state = SessionState.SUBMITTING
        self.error = None
        return self._active(now)

    def submitted(self, result: dict[str, Any], now: float) -> bool:
        """The submission is stored: show the result."""
        if self.state is not SessionState.SUBMITTING:
            return False
        self.result = result
        self.state = SessionState.RESULT
        return self._active(now)

    def submit_failed(self, message: Text, now: float) -> bool:
        """Submitting failed: back to the review with a message, nothing lost."""
        if self.state is not SessionState.SUBMITTING:
            return False
        self.error = message
        self.state = SessionState.REVIEW
        return self._active(now)

    def finish(self, now: float) -> bool:
        """The citizen is done (or cancels): say goodbye and wipe."""
        if self.state in (SessionState.ATTRACT, SessionState.READING_CARD, SessionState.GOODBYE):
            return False
        if self.state is SessionState.SUBMITTING:
            return False  # never abandon a submission half way
        reason = (
            EndReason.COMPLETED
            if self.state is SessionState.RESULT
            else EndReason.ENDED
            if self.state is SessionState.MENU
            else EndReason.CANCELLED
        )
        return self.end(reason, now)

    def open_status(self, now: float) -> bool:
        """Check an application's status: from the menu, or from the attract screen (no card)."""
        return self._open_aside(SessionState.STATUS, now)

    def close_status(self, now: float) -> bool:
        """Leave the status check: back to the menu, or to the attract screen without a card."""
        return self._close_aside(SessionState.STATUS, now)

    def open_checkin(self, now: float) -> bool:
        """Check in for today's verification: from the menu (the card holder's booking), or
        from the attract screen with no card (a QR, the keypad, or a card tapped there)."""
        return self._open_aside(SessionState.CHECKIN, now)

    def close_checkin(self, now: float) -> bool:
        """Leave the check-in: back to the menu with a card, to the attract screen without."""
        return self._close_aside(SessionState.CHECKIN, now)

    def _open_aside(self, state: SessionState, now: float) -> bool:
        """A side journey open to anyone: from the menu (the card stays), or from the attract,
        goodbye or closed screen with no card."""
        if self.state is SessionState.MENU:
            self.state = state
            return self._active(now)
        if self.state in (SessionState.ATTRACT, SessionState.GOODBYE, SessionState.CLOSED):
            self._reset()
            self.state = state
            return self._active(now)
        return self.state is state

    def _close_aside(self, state: SessionState, now: float) -> bool:
        """Leave a side journey: back to the menu, or to the attract screen without a card."""
        if self.state is not state:
            return False
        if self.identity is not None:
            self.state = SessionState.MENU
            return self._active(now)
        self._reset()
        self.state = SessionState.ATTRACT
        return True

    def open_survey(self, now: float) -> bool:
        """End the visit's personal part (wiped) and show the optional survey."""
        if self.state not in (SessionState.RESULT, SessionState.MENU, SessionState.STATUS):
            return False
        self._reset()
        self.state = SessionState.SURVEY
        return self._active(now)

    def survey_done(self, now: float) -> bool:
        """The survey was sent or skipped: the normal goodbye."""
        return self.state is SessionState.SURVEY and self.end(EndReason.COMPLETED, now)

    def open_documents(self, now: float) -> bool:
        """From the menu to printing issued documents (a card holder only)."""
        if self.state is not SessionState.MENU or self.identity is None:
            return False
        self.state = SessionState.DOCUMENTS
        return self._active(now)

    def close_documents(self, now: float) -> bool:
        """Back to the menu from printing documents."""
        if self.state is not SessionState.DOCUMENTS:
            return False
        self.state = SessionState.MENU
        return self._active(now)

    # -- time --------------------------------------------------------------------------------
    def activity(self, now: float) -> bool:
        """Any touch: the citizen is here; clears a pending warning."""
        if self.state not in _INTERACTIVE:
            return False
        return self._active(now)

    def still_here(self, now: float) -> bool:
        """The "Saya masih di sini" button."""
        if self.warning_deadline is None:
            return False
        return self._active(now)

    def warning_seconds_left(self, now: float) -> int | None:
        """Seconds left on the inactivity warning, or None when no warning shows."""
        if self.warning_deadline is None:
            return None
        return max(0, int(self.warning_deadline - now + 0.999))

    def tick(self, now: float) -> bool:
        """Advance timers; returns True when the state or the warning changed."""
        if self.state is SessionState.READING_CARD:
            if self.reading_deadline is not None and now >= self.reading_deadline:
                return self.read_failed(READ_TIMED_OUT, now)  # never stuck on "reading"
            return False
        if self.state is SessionState.GOODBYE:
            if self.goodbye_deadline is not None and now >= self.goodbye_deadline:
                self._reset()
                self.state = SessionState.ATTRACT
                return True
            return False
        if self.state not in _INTERACTIVE:
            return False
        if self.warning_deadline is None:
            if now - self.last_activity >= self.timeouts.inactivity_s:
                self.warning_deadline = now + self.timeouts.warning_s
                return True
            return False
        if now >= self.warning_deadline:
            return self.end(EndReason.INACTIVITY, now)
        return False

    def end(self, reason: EndReason, now: float) -> bool:
        """End the session: wipe everything personal and show the goodbye."""
        self._reset()
        self.state = SessionState.GOODBYE
        self.end_reason = reason
        self.goodbye_deadline = now + self.timeouts.goodbye_s
        return True

    # -- internals ---------------------------------------------------------------------------
    def _active(self, now: float) -> bool:
        self.last_activity = now
        self.warning_deadline = None
        return True

    def _reset(self) -> None:
        if self.identity is not None:
            self.identity.wipe()
        self.identity = None
        for key in list(self.values):
            self.values[key] = ""
        self.values.clear()
        self.service = None
        self.page = 0
        self.page_count = 0
        self.scan_step = False
        self.slot = None
        self.result = None
        self.error = None
        self.end_reason = None
        self.warning_deadline = None
        self.goodbye_deadline = None
        self.reading_deadline = None
