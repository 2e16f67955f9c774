"""A virtual SAM holding the reference profile's test master key."""

from __future__ import annotations

import hmac
import os
import time
from dataclasses import dataclass

from drivers.card_reader.profiles import reference as ref
from drivers.card_reader.virtual.card import (
    MUTE,
    TEST_MASTER_KEY,
    _atr,
    _split,
    card_key,
    cryptogram,
)

OK = b"\x90\x00"


@dataclass
class SamFaults:
    """Faults a test can switch on for the SAM (APDU numbers count from its insertion)."""

    mute_after: int | None = None  # answer this many APDUs, then stay silent
    wrong_sw: int | None = None  # answer every AUTHENTICATE with this SW (e.g. 0x6581)
    garbled: bool = False  # answer every AUTHENTICATE with one stray byte
    slow_s: float = 0.0  # extra delay per APDU


class VirtualSam:
    """Answers SELECT, AUTHENTICATE and VERIFY; one authentication in flight at a time."""

    ATR = _atr(b"ANJ-SAM")

    def __init__(
        self, master_key: bytes = TEST_MASTER_KEY, faults: SamFaults | None = None
    ) -> None:
        """Hold `master_key` (never leaves this object); `faults` for tests."""
        self._master = master_key
        self.faults = faults or SamFaults()
        self.apdu_count = 0
        self.reset()

    def atr(self) -> bytes:
        """Return the ATR."""
        return self.ATR

    def reset(self) -> None:
        """Drop the selection and any authentication in progress."""
        self._selected = False
        self._session: tuple[bytes, bytes, bytes] | None = None  # key, rnd_icc, rnd_ifd

    def process(self, apdu: bytes) -> bytes | None:
        """Answer one C-APDU."""
        self.apdu_count += 1
        f = self.faults
        if f.slow_s:
            time.sleep(f.slow_s)
        if f.mute_after is not None and self.apdu_count > f.mute_after:
            return MUTE
        if len(apdu) < 4:
            return b"\x67\x00"
        ins, p1 = apdu[1], apdu[2]
        if apdu[0] == 0x80 and ins == 0xA0 and f.garbled:
            return b"\x6f"
        if apdu[0] == 0x80 and ins == 0xA0 and f.wrong_sw is not None:
            return f.wrong_sw.to_bytes(2, "big")
        data, _ = _split(apdu)
        if ins == 0xA4 and p1 == 0x04:
            self._selected = data == ref.SAM_AID
            return OK if self._selected else b"\x6a\x82"
        if not self._selected:
            return b"\x69\x85"
        if apdu[0] == 0x80 and ins == 0xA0:
            return self._authenticate(data)
        if apdu[0] == 0x80 and ins == 0xA2:
            return self._verify(data)
        return b"\x6d\x00"

    def _authenticate(self, data: bytes) -> bytes:
        """Data: serial length, serial, card challenge -> reader random + reader cryptogram."""
        if not data or len(data) != 1 + data[0] + ref.CHALLENGE_SIZE:
            return b"\x67\x00"
        serial, rnd_icc = data[1 : 1 + data[0]], data[1 + data[0] :]
        key = card_key(self._master, serial)
        rnd_ifd = os.urandom(ref.CHALLENGE_SIZE)
        self._session = (key, rnd_icc, rnd_ifd)
        return rnd_ifd + cryptogram(key, b"IFD", rnd_icc, rnd_ifd) + OK

    def _verify(self, data: bytes) -> bytes:
        """Check the chip's cryptogram against the session."""
        if self._session is None:
            return b"\x69\x85"
        key, rnd_icc, rnd_ifd = self._session
        self._session = None
        expected = cryptogram(key, b"ICC", rnd_ifd, rnd_icc)
        return OK if hmac.compare_digest(data, expected) else b"\x63\x00"
