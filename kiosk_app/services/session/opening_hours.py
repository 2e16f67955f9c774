"""The opening-hours journey: the kiosk closes and opens by the office's hours."""

# Outside the office's hours the kiosk shows the CLOSED screen, saying in plain words when it
# opens again. The closing never interrupts a citizen: it is entered only from the idle attract
# screen, so a session running at closing time ends normally (completion, card removal or the
# inactivity warning) and the kiosk closes after its goodbye.
#
# While closed, an e-KTP on the reader is not read: no service can be filed, so reading personal
# data would serve nothing, and the citizen is told plainly that the card was not read and when
# service resumes. The status check stays available (the closed screen's button or a receipt's QR
# under the barcode scanner): it reads no card and holds nothing personal, and someone passing the
# lobby in the evening with their receipt reasonably expects to learn where their application is.

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from drivers.card_reader.protocol import CardEvent, CardInserted, CardRemoved
from kiosk_app.domain.opening_hours import OpeningHours
from kiosk_app.domain.session import SessionState
from kiosk_app.domain.text import Text
from kiosk_app.services.session.core import SessionCore

log = logging.getLogger("kiosk_app.services.session.service")

CARD_NOT_READ = Text(
    "Anjungan sedang tutup, jadi e-KTP Anda tidak dibaca. Silakan ambil kembali kartu Anda.",
    "The kiosk is closed, so your e-KTP was not read. Please take your card back.",
)


def utc_now() -> datetime:
    """The wall clock, aware (opening hours are about the office's local time)."""
    return datetime.now(UTC)


class OpeningHoursJourney:
    """Opens and closes the kiosk by its hours; says when a card is placed while closed."""

    def __init__(
        self,
        core: SessionCore,
        hours: OpeningHours | None,
        wall_clock: Callable[[], datetime] | None,
    ) -> None:
        """No hours: always open; `wall_clock`: aware "now" (the office's local time)."""
        self._core = core
        self._hours = hours or OpeningHours.always()
        self._wall_clock = wall_clock or utc_now

    def follow(self) -> None:
        """Close or reopen by the hours, only from the idle screens (every tick, lock held)."""
        core = self._core
        m = core.machine
        if m.state not in (SessionState.ATTRACT, SessionState.CLOSED):
            return  # a citizen is being served (or the status check is open): never interrupt
        now = self._wall_clock()
        is_open = self._hours.is_open(now)
        if m.state is SessionState.ATTRACT and not is_open:
            m.state = SessionState.CLOSED
            core.message = None
            log.info("outside opening hours: kiosk closed until %s", self._hours.next_opening(now))
        elif m.state is SessionState.CLOSED and is_open:
            m.state = SessionState.ATTRACT
            core.message = None
            core.language = core.default_language  # the day's first citizen starts afresh
            log.info("opening hours started: kiosk open")

    def card_event(self, event: CardEvent) -> None:
        """While closed, say a card placed is not read; taken away, the notice goes (lock held)."""
        # The session machine itself refuses card events in CLOSED: only the message is ours.
        if self._core.state() is not SessionState.CLOSED:
            return
        if isinstance(event, CardInserted):
            log.info("card placed while closed; not read")
            self._core.message = CARD_NOT_READ
        elif isinstance(event, CardRemoved):
            self._core.message = None

    def reopening_text(self) -> Text | None:
        """What the closed screen says about the next opening (None when not closed)."""
        if self._core.state() is not SessionState.CLOSED:
            return None
        return self._hours.reopening_text(self._wall_clock())
