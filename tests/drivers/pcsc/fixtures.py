"""Fixtures for the real PC/SC stack: one namespaced pcscd + virtual e-KTP/SAM per session."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from drivers.card_reader.protocol import CardEvent
from drivers.card_reader.virtual.testbed import (
    CARD_READER,
    SAM_READER,
    Testbed,
    requirements_missing,
)

# pcscd polls a vpcd slot every 0.4 s; removal and insertion each take one poll. A hang
# detector, not a speed check: a passing wait ends at its event, however busy the machine.
WAIT_S = 60.0


@pytest.fixture(scope="session")
def pcsc_testbed() -> Iterator[Testbed]:
    """pcscd + vpcd + virtual SAM in a private network namespace, for the whole session."""
    pytest.importorskip("smartcard", reason="pyscard (extra 'devices') is not installed")
    why = requirements_missing()
    if why:
        pytest.skip(why)
    bed = Testbed().start()
    yield bed
    bed.close()


def wait_for(predicate: Callable[[], bool], timeout: float = WAIT_S, what: str = "") -> None:
    """Poll `predicate` until true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.01)


def slot_flags(reader: str) -> int:
    """pcscd's state flags for `reader`; 0 while pcscd is down."""
    from smartcard import scard

    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return 0
    try:
        hr, states = scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        return int(states[0][1]) if hr == scard.SCARD_S_SUCCESS else 0
    finally:
        scard.SCardReleaseContext(ctx)


def card_slot_empty() -> bool:
    """True when pcscd reports no card in the card slot (False while pcscd is down)."""
    return bool(slot_flags(CARD_READER) & 0x10)  # SCARD_STATE_EMPTY


def sam_slot_present() -> bool:
    """True when pcscd sees the SAM."""
    return bool(slot_flags(SAM_READER) & 0x20)  # SCARD_STATE_PRESENT


def reset_bed(bed: Testbed) -> None:
    """Bring the bed back to: pcscd running, SAM in, card slot empty (as pcscd sees it)."""
    bed.remove()
    bed.pcscd("start")
    if bed.status().get("sam_faulty"):  # swap it out visibly, or pcscd may miss a quick swap
        bed.set_sam(False)
        wait_for(lambda: not sam_slot_present(), what="pcscd to see the faulty SAM leave")
    bed.set_sam(True)
    wait_for(card_slot_empty, what="pcscd to see an empty card slot")
    wait_for(sam_slot_present, what="pcscd to see the SAM")


class EventLog:
    """Collects a reader's events; every wait has a timeout."""

    def __init__(self) -> None:
        """Start empty."""
        self.events: queue.Queue[CardEvent] = queue.Queue()

    def __call__(self, event: CardEvent) -> None:
        """The listener."""
        self.events.put(event)

    def next(self, timeout: float = WAIT_S) -> CardEvent:
        """Return the next event or fail."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no card event within {timeout} s")

    def expect(self, *types: type, timeout: float = WAIT_S) -> list[Any]:
        """Take the next events and check their types in order."""
        got = [self.next(timeout) for _ in types]
        assert [type(e) for e in got] == list(types), got
        return got

    def quiet(self, within: float = 0.3) -> bool:
        """True when nothing arrives within `within` seconds."""
        try:
            event = self.events.get(timeout=within)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected event {event!r}")


class PcscCardReaderHarness:
    """The contract suite's hooks for PcscCardReader: they drive the virtual card and pcscd."""

    def __init__(self, reader: Any, bed: Testbed) -> None:
        """Wrap a started reader and the test bed."""
        from tests.drivers.conftest import CardReaderHarness

        self._base = CardReaderHarness(reader)
        self.reader, self.events, self.bed = reader, self._base.events, bed
        self.next_event, self.no_event = self._base.next_event, self._base.no_event
        self._faults: dict[str, Any] = {}

    @classmethod
    def running(cls, bed: Testbed) -> Iterator[PcscCardReaderHarness]:
        """Yield a harness around a started PcscCardReader on a clean bed, then clean up."""
        from drivers.card_reader.pcsc import PcscCardReader

        reset_bed(bed)
        harness = cls(PcscCardReader(), bed)
        harness.reader.start(harness.events.put)
        # Ready as the contract starts: the card slot watched AND the SAM seen. The driver is in
        # no_card as soon as the card reader appears and sees the SAM at its next status query,
        # so on a busy machine no_card alone could still say "unavailable" (SAM missing).
        wait_for(lambda: harness.reader.status()["state"] == "ready", what="reader ready")
        try:
            yield harness
        finally:
            harness.reader.stop()
            reset_bed(bed)

    def insert(self, index: int = 0) -> None:
        """Put the virtual card of citizen `index` on the reader."""
        assert self.try_insert(index)

    def try_insert(self, index: int) -> bool:
        """Insert with the pending faults; False when no reader listens (pcscd down)."""
        from drivers.card_reader.citizens import citizen_count

        if not isinstance(index, int) or not 0 <= index < citizen_count():
            raise ValueError(f"citizen index must be 0..{citizen_count() - 1}")
        faults, self._faults = self._faults, {}
        return self.bed.insert(index, **faults)

    def remove(self) -> None:
        """Take the card away once the driver has noticed it."""
        wait_for(lambda: self.reader.status()["pcsc_state"] != "no_card", what="card noticed")
        self.bed.remove()

    def fail_next(self, error: Exception) -> None:
        """The next card goes mute (CardNotResponding) or is no e-KTP (other CardUnreadable)."""
        from drivers.errors import CardNotResponding

        if isinstance(error, CardNotResponding):
            self._faults["mute_after"] = 2  # silent from GET CHALLENGE on
        else:
            self._faults["not_ektp"] = True

    def set_available(self, available: bool) -> None:
        """Start or stop pcscd (stopping waits until the driver has noticed a card put in)."""
        if not available and self.bed.status()["card"]:
            wait_for(lambda: self.reader.status()["pcsc_state"] != "no_card", what="card noticed")
        self.bed.pcscd("start" if available else "stop")

    def set_read_delay(self, seconds: float) -> None:
        """Slow every APDU so a whole read takes at least `seconds`."""
        self._faults["slow_s"] = seconds / 8  # a reference read is ~12 APDUs

    def state(self) -> str:
        """The reader's coarse state."""
        return str(self.reader.status()["state"])
