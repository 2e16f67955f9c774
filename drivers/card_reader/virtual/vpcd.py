"""A vpcd client: puts a virtual card (any object answering APDUs) into a vpcd reader slot."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from typing import Protocol

log = logging.getLogger(__name__)

VPCD_PORT = 35963  # slot 0; slot N listens on VPCD_PORT + N
POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4


class VirtualCard(Protocol):
    """What vpcd needs from a card."""

    def atr(self) -> bytes:
        """Return the answer-to-reset."""

    def reset(self) -> None:
        """Forget the session (power cycle or warm reset)."""

    def process(self, apdu: bytes) -> bytes | None:
        """Answer a C-APDU with an R-APDU; None: drop the connection (card torn away); b"": mute."""


def _quickack(sock: socket.socket) -> None:
    """Ask Linux to ACK at once; it resets itself, so this is done before every recv."""
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:
        sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


class VpcdSlot:
    """One inserted card: a TCP connection to vpcd served by a thread until removed."""

    def __init__(self, card: VirtualCard, host: str = "127.0.0.1", port: int = VPCD_PORT) -> None:
        """Remember where to connect; nothing happens before insert()."""
        self.card = card
        self.host, self.port = host, port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.apdu_count = 0
        self.muted = False  # the card went silent: APDUs are read and never answered

    @property
    def inserted(self) -> bool:
        """True while the connection to vpcd is open."""
        return self._thread is not None and self._thread.is_alive()

    def insert(self, timeout: float = 2.0) -> bool:
        """Connect to vpcd (retrying until `timeout`); False when nobody listens."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=0.5)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.02)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        self._sock = sock
        self.card.reset()
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
        self._thread.start()
        return True

    def remove(self) -> None:
        """Close the connection: vpcd sees the card leave."""
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)

    def _recv_exact(self, sock: socket.socket, size: int) -> bytes | None:
        """Read exactly `size` bytes; None when the connection ends."""
        buf = bytearray()
        while len(buf) < size:
            _quickack(sock)
            chunk = sock.recv(size - len(buf))
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        """Send one length-prefixed message in a single write."""
        sock.sendall(struct.pack(">H", len(payload)) + payload)

    def _serve(self, sock: socket.socket) -> None:
        """Answer vpcd until the socket closes or the card asks to be torn away."""
        try:
            while True:
                head = self._recv_exact(sock, 2)
                if head is None:
                    return
                (size,) = struct.unpack(">H", head)
                payload = self._recv_exact(sock, size) if size else b""
                if payload is None:
                    return
                if len(payload) == 1:
                    code = payload[0]
                    if code == GET_ATR:
                        self._send(sock, self.card.atr())
                    elif code in (POWER_OFF, POWER_ON, RESET):
                        self.card.reset()
                    continue
                self.apdu_count += 1
                if self.muted:
                    continue
                answer = self.card.process(payload)
                if answer is None:  # torn away mid-APDU
                    sock.close()
                    return
                if not answer:  # mute: the chip stays in the field and never answers again
                    self.muted = True
                    log.info("virtual card on port %d went mute", self.port)
                    continue
                self._send(sock, answer)
        except OSError:
            return
        except Exception:  # a card bug must look like a pulled card, never kill the harness
            log.exception("virtual card crashed; dropping it")
            try:
                sock.close()
            except OSError:
                pass
