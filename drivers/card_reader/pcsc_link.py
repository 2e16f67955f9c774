"""One PC/SC card connection: connect, transmit, disconnect, with typed transport errors."""

from __future__ import annotations

import threading

from smartcard import scard


class PcscGone(Exception):
    """The PC/SC context is unusable (pcscd stopped, reader unplugged): start afresh."""


class TransportError(Exception):
    """A PC/SC call about a card failed; `code` is the SCARD_* result."""

    def __init__(self, code: int, what: str) -> None:
        """Keep the code and a readable message."""
        self.code = code
        super().__init__(f"{what}: {scard.SCardGetErrorMessage(code)} (0x{code & 0xFFFFFFFF:08X})")


class Cancelled(Exception):
    """The reader is stopping; the read is abandoned between two APDUs."""


class CardLink:
    """A connected card; `transmit` sends raw APDUs and checks `stop` before each."""

    def __init__(self, hcard: int, protocol: int, atr: bytes, stop: threading.Event) -> None:
        """Wrap a handle from SCardConnect."""
        self._hcard: int | None = hcard
        self._protocol = protocol
        self.atr = atr
        self._stop = stop

    def transmit(self, apdu: bytes) -> bytes:
        """Send one APDU; TransportError when the card or the service fails."""
        if self._stop.is_set():
            raise Cancelled("reader stopping")
        if self._hcard is None:
            raise TransportError(scard.SCARD_E_INVALID_HANDLE, "transmit after close")
        hr, response = scard.SCardTransmit(self._hcard, self._protocol, list(apdu))
        if hr != scard.SCARD_S_SUCCESS:
            raise TransportError(hr, "SCardTransmit")
        if len(response) < 2:  # vpcd and some readers report a torn card this way
            raise TransportError(scard.SCARD_E_NOT_TRANSACTED, "SCardTransmit (no status word)")
        return bytes(response)

    def close(self) -> None:
        """Disconnect, leaving the card powered for the next connection; errors ignored."""
        hcard, self._hcard = self._hcard, None
        if hcard is not None:
            scard.SCardDisconnect(hcard, scard.SCARD_LEAVE_CARD)


def open_card(ctx: int, reader: str, stop: threading.Event) -> CardLink:
    """Connect to the card in `reader` (T=0 or T=1, exclusive) and read its ATR."""
    hr, hcard, protocol = scard.SCardConnect(
        ctx, reader, scard.SCARD_SHARE_EXCLUSIVE, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
    )
    if hr != scard.SCARD_S_SUCCESS:
        raise TransportError(hr, f"SCardConnect({reader})")
    hr, _name, _state, _proto, atr = scard.SCardStatus(hcard)
    if hr != scard.SCARD_S_SUCCESS:
        scard.SCardDisconnect(hcard, scard.SCARD_LEAVE_CARD)
        raise TransportError(hr, "SCardStatus")
    return CardLink(hcard, protocol, bytes(atr), stop)
