"""Soak: random card pulls and pcscd restarts; no crash, no hang, recovery within 2 s each time."""

from __future__ import annotations

import logging
import os
import random
import time

import pytest

from drivers.card_reader.pcsc import PcscCardReader
from drivers.card_reader.protocol import (
    CardInserted,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
    ReaderStateChanged,
)
from drivers.card_reader.virtual.testbed import Testbed
from drivers.errors import CardRemoved as CardRemovedError
from tests.drivers.pcsc.fixtures import EventLog, reset_bed, wait_for

PULLS = int(os.environ.get("SOAK_PULLS", "25"))  # CI; the full run: SOAK_PULLS=1000
RECOVERY_S = 2.0


def _settle_card(log: EventLog) -> None:
    """After a pull: the read ended one way or the other, then the card left."""
    event = log.next()
    if isinstance(event, IdentityRead):
        event = log.next()
    if isinstance(event, CardReadFailed):
        assert isinstance(event.error, CardRemovedError), event.error
        event = log.next()
    assert isinstance(event, CardRemoved), event


@pytest.mark.slow
def test_random_pulls_and_restarts(pcsc_testbed: Testbed, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="drivers.card_reader")
    rnd = random.Random(int(os.environ.get("SOAK_SEED", "20240917")))
    reset_bed(pcsc_testbed)
    reader, log = PcscCardReader(), EventLog()
    reader.start(log)
    counts = {"pull": 0, "tear": 0, "restart": 0}
    try:
        wait_for(lambda: reader.status()["pcsc_state"] == "no_card", what="reader ready")
        for _ in range(PULLS):
            roll = rnd.random()
            if roll < 0.15:
                counts["restart"] += 1
                pcsc_testbed.pcscd(rnd.choice(["kill", "stop"]))
                (down,) = log.expect(ReaderStateChanged)
                assert down.available is False
                pcsc_testbed.pcscd("start")
                (up,) = log.expect(ReaderStateChanged, timeout=RECOVERY_S)
                assert up.available is True
            elif roll < 0.55:
                counts["tear"] += 1  # the chip stops answering at a random APDU
                assert pcsc_testbed.insert(rnd.randrange(6), drop_after=rnd.randrange(14))
                log.expect(CardInserted)
                event = log.next()
                pcsc_testbed.remove()
                if isinstance(event, IdentityRead):  # torn after the last APDU: a whole read
                    log.expect(CardRemoved)
                else:
                    assert isinstance(event, CardReadFailed), event
                    assert isinstance(event.error, CardRemovedError), event.error
                    log.expect(CardRemoved)
            else:
                counts["pull"] += 1  # the citizen lifts the card at a random moment
                assert pcsc_testbed.insert(rnd.randrange(6), slow_s=0.02)
                log.expect(CardInserted)
                time.sleep(rnd.uniform(0.0, 0.35))
                pcsc_testbed.remove()
                _settle_card(log)
            wait_for(
                lambda: reader.status()["pcsc_state"] == "no_card",
                timeout=RECOVERY_S,
                what="recovery to no_card",
            )
        assert log.quiet(within=0.2)
        assert reader._thread is not None and reader._thread.is_alive()
    finally:
        reader.stop()
        reset_bed(pcsc_testbed)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert sum(counts.values()) == PULLS
