"""What every card profile returns, and the SAM authenticator a profile may need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from drivers.card_reader.iso7816 import Iso7816
from kiosk_app.domain.identity import Identity

MINUTIA_SIZE = 6  # x (2 bytes), y (2 bytes), angle (1 byte, 256ths of a turn), type (1 byte)


@dataclass(frozen=True)
class Minutia:
    """One ridge ending or bifurcation."""

    x: int
    y: int
    angle: int
    kind: int


def decode_minutiae(raw: bytes) -> tuple[Minutia, ...]:
    """Split a packed minutiae record; ValueError when the size is not a multiple of 6."""
    if len(raw) % MINUTIA_SIZE:
        raise ValueError(f"minutiae record of {len(raw)} bytes")
    return tuple(
        Minutia(
            int.from_bytes(raw[i : i + 2], "big"),
            int.from_bytes(raw[i + 2 : i + 4], "big"),
            raw[i + 4],
            raw[i + 5],
        )
        for i in range(0, len(raw), MINUTIA_SIZE)
    )


def encode_minutiae(points: tuple[Minutia, ...] | list[Minutia]) -> bytes:
    """Pack minutiae into the 6-byte-per-point record."""
    return b"".join(
        m.x.to_bytes(2, "big") + m.y.to_bytes(2, "big") + bytes([m.angle & 0xFF, m.kind & 0xFF])
        for m in points
    )


class FingerprintMatcher:
    """Holds a card's minutiae privately and answers only 'does this template match'."""

    MIN_PAIRS = 12
    MAX_DISTANCE = 10
    MAX_ANGLE = 16

    def __init__(self, fingers: dict[int, bytes]) -> None:
        """Keep the packed records per finger code; nothing is exposed."""
        self.__fingers = {code: decode_minutiae(raw) for code, raw in fingers.items()}

    def __repr__(self) -> str:
        """Never show minutiae."""
        return f"FingerprintMatcher(fingers={len(self.__fingers)})"

    def match(self, template: bytes) -> bool:
        """True when `template` (packed minutiae) pairs with enough points of one finger."""
        try:
            probe = decode_minutiae(template)
        except ValueError:
            return False
        return any(self._pairs(probe, ref) >= self.MIN_PAIRS for ref in self.__fingers.values())

    def _pairs(self, probe: tuple[Minutia, ...], ref: tuple[Minutia, ...]) -> int:
        """Count probe points with a close reference point of the same kind and angle."""
        used: set[int] = set()
        for p in probe:
            for i, r in enumerate(ref):
                if i in used or p.kind != r.kind:
                    continue
                turn = abs(p.angle - r.angle) % 256
                if (p.x - r.x) ** 2 + (p.y - r.y) ** 2 <= self.MAX_DISTANCE**2 and min(
                    turn, 256 - turn
                ) <= self.MAX_ANGLE:
                    used.add(i)
                    break
        return len(used)

    def wipe(self) -> None:
        """Forget the minutiae."""
        self.__fingers = {}


@dataclass
class CardData:
    """Everything a profile read: identity (None for UID-only cards), uid and private extras."""

    uid: str
    identity: Identity | None
    signature_png: bytes = field(default=b"", repr=False)
    fingerprints: FingerprintMatcher | None = field(default=None, repr=False)

    def wipe(self) -> None:
        """Forget personal data once the card has left."""
        if self.identity is not None:
            self.identity.wipe()
        self.signature_png = b""
        if self.fingerprints is not None:
            self.fingerprints.wipe()


class SamAuthenticator(Protocol):
    """The reader-side half of chip authentication, held by a SAM (or a vendor's library)."""

    def authenticate(self, card_serial: bytes, card_challenge: bytes) -> bytes:
        """Return the reader's answer to the card's challenge (sent to the chip)."""

    def verify(self, card_cryptogram: bytes) -> None:
        """Check the chip's answer; raise CardNotAuthentic when it is wrong."""


class CardProfile(Protocol):
    """How to read one kind of card; a vendor's profile is dropped in beside ours."""

    name: str
    needs_sam: bool

    def read(self, card: Iso7816, sam: SamAuthenticator | None) -> CardData:
        """Read the card; raise DeviceError, StatusWordError or TlvError on failure."""
