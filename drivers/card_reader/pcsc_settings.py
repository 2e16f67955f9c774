"""Settings and the state machine's states of the PC/SC e-KTP reader."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReaderState(StrEnum):
    """The driver's state machine, exposed by status()['pcsc_state']."""

    STOPPED = "stopped"
    STOPPING = "stopping"  # stop() gave up waiting: the monitor thread has not ended yet
    NO_SERVICE = "no_service"
    NO_READER = "no_reader"
    NO_CARD = "no_card"
    CARD_PRESENT = "card_present"
    READING = "reading"
    IDENTITY_READ = "identity_read"
    ERROR_RETRIABLE = "error_retriable"
    ERROR_FATAL = "error_fatal"


# The coarse vocabulary every CardReader shares (status()['state']).
COARSE = {
    ReaderState.STOPPED: "stopped",
    ReaderState.STOPPING: "stopping",
    ReaderState.NO_SERVICE: "unavailable",
    ReaderState.NO_READER: "unavailable",
    ReaderState.NO_CARD: "ready",
    ReaderState.CARD_PRESENT: "card_present",
    ReaderState.READING: "reading",
    ReaderState.IDENTITY_READ: "card_present",
    ReaderState.ERROR_RETRIABLE: "card_present",
    ReaderState.ERROR_FATAL: "card_present",
}


@dataclass(frozen=True)
class PcscSettings:
    """Which readers to use and how to read cards."""

    reader_pattern: str = r"PICC|Contactless|CL| 00 00$"  # regex on the PC/SC reader name
    sam_pattern: str = r"SAM| 00 01$"
    profile: str = "reference"  # "reference" | "uid" (or a vendor profile registered beside them)
    extended_length: str = "auto"  # "auto" (card says so in its ATR) | "always" | "never"
    poll_s: float = 0.25  # longest blocking PC/SC wait; bounds stop() and recovery
    # Deadlines (pcsc_link.py explains how a blocked SCardTransmit is abandoned). A reference
    # read is ~12 APDUs of which the longest carries a ~14 KB photo: ~40 ms on vpcd, well under
    # a second on a real reader at 212 kbit/s. A mute card or SAM ends in a typed error, told to
    # the citizen, within these bounds.
    apdu_timeout_s: float = 2.0  # one APDU to the card
    read_timeout_s: float = 4.0  # the whole read, from connecting to the last data group
    sam_timeout_s: float = 1.5  # one APDU to the SAM (mutual authentication)
    sam_probe_s: float = 2.0  # after a SAM fault, check the SAM again this often
    stop_timeout_s: float = 2.0  # stop() waits this long for the monitor thread, then says so


def card_wants_extended(atr: bytes) -> bool:
    """True when the ATR's compact-TLV card capabilities announce extended Lc/Le."""
    hist = atr[4:-1] if len(atr) > 5 else b""
    if not hist or hist[0] != 0x80:
        return False
    i = 1
    while i < len(hist):
        tag, size = hist[i] >> 4, hist[i] & 0x0F
        if tag == 7 and size >= 3 and i + 3 < len(hist) + 1:
            return bool(hist[i + 3] & 0x40)
        i += 1 + size
    return False
