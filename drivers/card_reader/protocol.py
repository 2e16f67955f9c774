"""What the services need from an e-KTP reader."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from drivers.errors import DeviceError
from kiosk_app.domain.identity import Identity


@dataclass(frozen=True)
class CardInserted:
    """A card entered the reader's field; reading starts."""


@dataclass(frozen=True)
class IdentityRead:
    """The chip was read completely."""

    identity: Identity


@dataclass(frozen=True)
class UidOnlyCard:
    """A contactless card was read with the UID-only profile: no NIK, ask for NIK + PIN."""

    uid: str  # hex; identifies the card, not the person


@dataclass(frozen=True)
class CardReadFailed:
    """Reading failed; the error carries the citizen message."""

    error: DeviceError


@dataclass(frozen=True)
class CardRemoved:
    """The card left the reader."""


@dataclass(frozen=True)
class ReaderStateChanged:
    """Reader availability changed (for the attract screen and the health report)."""

    available: bool
    detail: str


CardEvent = (
    CardInserted | IdentityRead | UidOnlyCard | CardReadFailed | CardRemoved | ReaderStateChanged
)


class CardReader(Protocol):
    """An e-KTP reader that reports card events from its own thread."""

    def start(self, listener: Callable[[CardEvent], None]) -> None:
        """Begin watching for cards; `listener` is called from a driver thread."""

    def stop(self) -> bool:
        """Stop watching; True once the driver thread has ended (else status() says "stopping")."""

    def status(self) -> dict[str, str]:
        """Return the reader's state for the health report."""
