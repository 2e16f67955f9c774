"""The card journey: the card reader's events start, fill and end a citizen's visit."""

from __future__ import annotations

import logging
from collections.abc import Callable

from drivers.card_reader.protocol import (
    CardEvent,
    CardInserted,
    CardReader,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
    ReaderStateChanged,
    UidOnlyCard,
)
from kiosk_app.domain.identity import Identity, mask_nik
from kiosk_app.domain.nik import validate_nik
from kiosk_app.domain.text import Text
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.ports import AttendantCards, CheckinCards, ClosedCards

log = logging.getLogger("kiosk_app.services.session.service")

UID_ONLY = Text(
    "Kartu terbaca tanpa data e-KTP. Silakan minta bantuan petugas untuk melanjutkan.",
    "The card was read without its e-KTP data. Please ask an attendant to continue.",
)
CARD_DATA_INCONSISTENT = Text(
    "Data NIK pada e-KTP Anda tidak cocok dengan tanggal lahir atau jenis kelamin. Anda tetap "
    "dapat melanjutkan; petugas akan memeriksanya saat verifikasi.",
    "The NIK on your e-KTP does not match its date of birth or sex. You can still continue; an "
    "officer will check it at verification.",
)


class CardJourney:
    """Turns card reader events (driver thread) into the session's steps."""

    def __init__(
        self,
        core: SessionCore,
        reader: CardReader,
        *,
        attendant: AttendantCards,
        closed: ClosedCards,
        checkin: CheckinCards | None = None,
    ) -> None:
        """`attendant` tells attendant cards apart; `closed` answers cards while closed;
        `checkin` takes a card tapped during an anonymous check-in."""
        self._checkin = checkin
        self._core = core
        self._reader = reader
        self._attendant = attendant
        self._closed = closed
        self._available = True
        self._unavailable: tuple[float, str] | None = None  # since when, and why
        self._missing_called = False

    @property
    def simulated(self) -> bool:
        """True when the card reader is the simulator (the attract screen offers a tap button)."""
        return bool(getattr(self._reader, "is_simulated", False))

    def reader_available(self) -> bool:
        """The reader's last reported availability (lock held)."""
        return self._available

    def start(self) -> None:
        """Start listening to the card reader."""
        self._reader.start(self.on_event)

    def stop(self) -> None:
        """Stop the card reader."""
        self._reader.stop()

    def on_event(self, event: CardEvent) -> None:
        """A card reader event (driver thread)."""
        core = self._core
        now = core.now()
        call: str | None = None
        with core.lock:
            m = core.machine
            self._closed.card_event(event)  # while closed, cards are not read
            if self._checkin is not None and self._checkin.card_event(event):
                pass  # a tap at the check-in: the holder's booking today, no visit opened
            elif isinstance(event, CardInserted):
                if m.card_inserted(now):
                    core.end_visit()
            elif isinstance(event, IdentityRead):
                if m.identity_read(event.identity, now):
                    log.info("card read: NIK %s", mask_nik(event.identity.nik))
                    core.message = identity_check(event.identity)
            elif isinstance(event, CardReadFailed):
                log.warning("card read failed: %s: %s", type(event.error).__name__, event.error)
                if m.read_failed(event.error.citizen_message, now):
                    core.message = event.error.citizen_message
                if event.error.attendant_alert:  # the kiosk's fault (a SAM): not the citizen's
                    call = f"card reader: {type(event.error).__name__}: {event.error}"[:200]
            elif isinstance(event, UidOnlyCard):
                if not self._attendant.card_presented(event.uid, now):
                    # Entering the NIK and PIN on the kiosk is not built yet: an attendant helps.
                    log.info("UID-only card read; asking for an attendant")
                    if m.read_failed(UID_ONLY, now):
                        core.message = UID_ONLY
            elif isinstance(event, CardRemoved):
                if not self._attendant.holds_card_session() and m.card_removed(now):
                    log.info("card removed; session state now %s", m.state.value)
                    core.end_visit()
            elif isinstance(event, ReaderStateChanged):
                self._available = event.available
                log.info("reader available=%s: %s", event.available, event.detail)
                if event.available:
                    self._unavailable, self._missing_called = None, False
                elif self._unavailable is None:
                    self._unavailable = (now, event.detail)
        core.publish()
        if call is not None:
            self._attendant.call_attendant(call)  # outside the session's lock

    def follow_reader(self) -> None:
        """(Each tick) Call an attendant once when the reader stayed unavailable longer than
        `reader_missing_s`: idle, no citizen's read fails to tell anyone; a short gap (pcscd
        starting, a cable reseated) passes without a call."""
        core = self._core
        with core.lock:
            if self._unavailable is None or self._missing_called:
                return
            since, detail = self._unavailable
            gone_s = core.now() - since
            if gone_s < core.machine.timeouts.reader_missing_s:
                return
            self._missing_called = True
        reason = f"card reader unavailable for {gone_s:.0f} s: {detail}"[:200]
        log.warning("%s; calling an attendant", reason)
        self._attendant.call_attendant(reason)

    # -- the simulated reader ----------------------------------------------------------------
    def simulate_tap(self, citizen_index: int = 0) -> None:
        """Put a fictional citizen's card on the simulated reader."""
        insert: Callable[[int], None] | None = getattr(self._reader, "insert_card", None)
        if insert is not None:
            insert(citizen_index)

    def simulate_removal(self) -> None:
        """Take the card off the simulated reader."""
        remove: Callable[[], None] | None = getattr(self._reader, "remove_card", None)
        if remove is not None:
            remove()

    def simulate_uid_card(self, uid: str) -> None:
        """Present a UID-only card (an attendant's or a citizen's) on the simulated reader."""
        if self.simulated:
            self.on_event(CardInserted())
            self.on_event(UidOnlyCard(uid))

    def simulate_uid_card_removal(self) -> None:
        """Take the simulated UID-only card away."""
        if self.simulated:
            self.on_event(CardRemoved())


def identity_check(identity: Identity) -> Text | None:
    """A card whose NIK disagrees with its own birth date or sex: say so, and let them go on."""
    problems = validate_nik(identity.nik, birth_date=identity.birth_date, sex=identity.sex)
    if not problems:
        return None
    log.warning(
        "card NIK %s inconsistent with the card's data: %s",
        mask_nik(identity.nik),
        "; ".join(p.en for p in problems),
    )
    return CARD_DATA_INCONSISTENT
