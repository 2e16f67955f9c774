"""An ESC/POS interpreter: parses a byte stream, prints on emulated paper, answers DLE EOT."""

from __future__ import annotations

import codecs
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from drivers.ticket_printer.emulator.paper import WIDTH, Paper, Style, styled

log = logging.getLogger(__name__)

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C
# ESC/GS commands that take a fixed number of parameter bytes we do not act on.
_ESC_SKIP = {
    0x20: 1,
    0x24: 2,
    0x25: 1,
    0x3D: 1,
    0x52: 1,
    0x55: 1,
    0x56: 1,
    0x5C: 2,
    0x63: 2,
    0x70: 3,
    0x72: 1,
    0x7B: 1,
    0x3F: 1,
    0x44: 0,
}
_GS_SKIP = {
    0x48: 1,
    0x50: 2,
    0x61: 1,
    0x62: 1,
    0x66: 1,
    0x68: 1,
    0x77: 1,
    0x7C: 1,
    0x4C: 2,
    0x57: 2,
    0x49: 1,
    0x3A: 0,
    0x24: 2,
    0x5C: 2,
    0x54: 1,
}
_NEED_MORE = -1


@dataclass
class Faults:
    """Conditions the emulated printer is in; switched on command."""

    paper_out: bool = False
    paper_near_end: bool = False
    cover_open: bool = False
    cutter_error: bool = False
    silent: bool = False  # powered off / cable out: no answers, bytes lost
    paper_left_bytes: int | None = None  # paper runs out after this many more bytes

    def blocked(self) -> bool:
        """True when the printer stops printing (it goes offline)."""
        return self.paper_out or self.cover_open or self.cutter_error


@dataclass
class PrintedTicket:
    """One piece of paper that came out of the cutter."""

    image: Image.Image
    qr_payloads: list[bytes] = field(default_factory=list)
    text: str = ""


class EscposMachine:
    """Interprets ESC/POS the way an 80 mm Epson-compatible printer does."""

    def __init__(
        self,
        width: int = WIDTH,
        code_pages: dict[int, str] | None = None,
        on_ticket: Callable[[PrintedTicket], None] | None = None,
    ) -> None:
        """Power on with blank paper; `code_pages` maps ESC t numbers to encodings."""
        self.faults = Faults()
        self.code_pages = code_pages or {0: "cp437", 2: "cp850", 16: "cp1252", 19: "cp858"}
        self.on_ticket = on_ticket
        self.paper = Paper(width)
        self.tickets: list[PrintedTicket] = []
        self.incomplete = 0  # tickets spoiled by a fault mid-print
        self.bytes_received = 0
        self.status_queries: list[tuple[int, int]] = []  # (DLE EOT n, tickets cut by then)
        self.lock = threading.RLock()
        self._buf = bytearray()
        self._spoiled = False
        self._reset()

    def _reset(self) -> None:
        """ESC @: back to power-on modes (the paper itself is not touched)."""
        self.style = Style()
        self.paper.align = 0
        self.paper.line_spacing = 30
        self.codec = self.code_pages.get(0, "cp437")
        self._qr_module, self._qr_ec, self._qr_data = 3, 48, b""
        self._qr_printed: list[bytes] = []
        self._text: list[str] = []

    # -- status ---------------------------------------------------------------------------------

    def status_byte(self, n: int) -> int:
        """Answer DLE EOT n (1 printer, 2 offline cause, 3 error cause, 4 paper sensor)."""
        f = self.faults
        byte = 0x12  # bits 1 and 4 are fixed to 1
        if n == 1 and f.blocked():
            byte |= 0x08
        elif n == 2:
            byte |= (0x04 if f.cover_open else 0) | (0x20 if f.paper_out else 0)
            byte |= 0x40 if f.cutter_error else 0
        elif n == 3 and f.cutter_error:
            byte |= 0x08
        elif n == 4:
            byte |= 0x0C if f.paper_near_end or f.paper_out else 0
            byte |= 0x60 if f.paper_out else 0
        return byte

    # -- input ----------------------------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """Consume bytes from the host; return what the printer sends back."""
        with self.lock:
            if self.faults.silent:
                self._buf.clear()
                return b""
            self._buf += data
            reply = bytearray()
            pos = 0
            while pos < len(self._buf):
                used = self._command(pos, reply)
                if used == _NEED_MORE:
                    break
                self._count(used)
                pos += used
            del self._buf[:pos]
            return bytes(reply)

    def _count(self, used: int) -> None:
        """Track paper usage and spoil the ticket when a fault stops printing."""
        self.bytes_received += used
        left = self.faults.paper_left_bytes
        if left is not None:
            left -= used
            self.faults.paper_left_bytes = max(0, left)
            if left <= 0:
                self.faults.paper_out = True
                self.faults.paper_left_bytes = None
        if self.faults.blocked() and not self.paper.is_blank():
            self.paper.discard()  # status queries alone do not spoil the next ticket
            self._spoiled = True

    def _command(self, pos: int, reply: bytearray) -> int:
        """Execute the command at `pos`; return bytes used or _NEED_MORE."""
        buf = self._buf
        b = buf[pos]
        if b >= 0x20:
            end = pos + 1
            while end < len(buf) and buf[end] >= 0x20:
                end += 1
            for char in bytes(buf[pos:end]).decode(self.codec, errors="replace"):
                self.paper.char(char, self.style)
                self._text.append(char)
            return end - pos
        if b == 0x0A:
            self.paper.print_line()
            self._text.append("\n")
            return 1
        if b == 0x09:
            self.paper.char(" ", self.style)
            return 1
        if b == 0x18:  # CAN
            return 1
        if b in (ESC, GS, DLE, FS):
            if pos + 1 >= len(buf):
                return _NEED_MORE
            handler = {ESC: self._esc, GS: self._gs, DLE: self._dle, FS: self._fs}[b]
            return handler(pos, buf[pos + 1], reply)
        return 1  # other control characters are ignored, as printers do

    def _param(self, pos: int, count: int) -> bytes | None:
        """The `count` bytes after the 2-byte command at `pos`, or None if not all here yet."""
        if pos + 2 + count > len(self._buf):
            return None
        return bytes(self._buf[pos + 2 : pos + 2 + count])

    def _esc(self, pos: int, cmd: int, reply: bytearray) -> int:
        """ESC x commands."""
        if cmd == 0x40:
            self._reset()
            return 2
        if cmd == 0x32:
            self.paper.line_spacing = 30
            return 2
        if cmd in _ESC_SKIP:
            return (
                2 + _ESC_SKIP[cmd] if self._param(pos, _ESC_SKIP[cmd]) is not None else _NEED_MORE
            )
        if cmd == 0x2A:  # ESC * m nL nH d...: column bit image (not used by our layout)
            head = self._param(pos, 3)
            if head is None:
                return _NEED_MORE
            size = (head[1] + head[2] * 256) * (3 if head[0] in (32, 33) else 1)
            return 5 + size if self._param(pos, 3 + size) is not None else _NEED_MORE
        p = self._param(pos, 1)
        if p is None:
            return _NEED_MORE
        n = p[0]
        if cmd == 0x21:  # ESC ! n: print mode
            self.style = styled(
                self.style,
                font=n & 1,
                bold=bool(n & 8),
                height=2 if n & 0x10 else 1,
                width=2 if n & 0x20 else 1,
                underline=1 if n & 0x80 else 0,
            )
        elif cmd in (0x45, 0x47):
            self.style = styled(self.style, bold=bool(n & 1))
        elif cmd == 0x2D:
            self.style = styled(self.style, underline=min(2, n & 3))
        elif cmd == 0x4D:
            self.style = styled(self.style, font=n & 1)
        elif cmd == 0x61:
            self.paper.align = n & 3 if n & 3 != 3 else 0
        elif cmd == 0x74:
            self.codec = self._codec(n)
        elif cmd == 0x33:
            self.paper.line_spacing = n
        elif cmd == 0x64:  # ESC d n: print and feed n lines
            self.paper.flush()
            self.paper.feed(n * self.paper.line_spacing)
        elif cmd == 0x4A:  # ESC J n: print and feed n dots
            self.paper.flush()
            self.paper.feed(n)
        else:
            log.debug("ESC/POS emulator: unknown ESC 0x%02x 0x%02x", cmd, n)
        return 3

    def _gs(self, pos: int, cmd: int, reply: bytearray) -> int:
        """GS x commands."""
        if cmd == 0x28:  # GS ( x pL pH ...
            head = self._param(pos, 3)
            if head is None:
                return _NEED_MORE
            size = head[1] + head[2] * 256
            body = self._param(pos, 3 + size)
            if body is None:
                return _NEED_MORE
            if head[0] == 0x6B and size >= 2:
                self._two_d(body[3], body[4], body[5:])
            return 5 + size
        if cmd == 0x76:  # GS v 0 m xL xH yL yH d...
            head = self._param(pos, 6)
            if head is None:
                return _NEED_MORE
            wb, h = head[2] + head[3] * 256, head[4] + head[5] * 256
            data = self._param(pos, 6 + wb * h)
            if data is None:
                return _NEED_MORE
            m = head[1] & 3
            self.paper.raster(wb, h, data[6:], 2 if m & 1 else 1, 2 if m & 2 else 1)
            return 8 + wb * h
        if cmd == 0x56:  # GS V m [n]: cut
            p = self._param(pos, 1)
            if p is None:
                return _NEED_MORE
            extra = 1 if p[0] in (65, 66, 97, 98, 103, 104) else 0
            if extra and self._param(pos, 2) is None:
                return _NEED_MORE
            self._cut()
            return 3 + extra
        if cmd == 0x6B:  # GS k m ...: 1-D barcode, consumed but not drawn
            return self._skip_barcode(pos)
        if cmd in _GS_SKIP:
            return 2 + _GS_SKIP[cmd] if self._param(pos, _GS_SKIP[cmd]) is not None else _NEED_MORE
        p = self._param(pos, 1)
        if p is None:
            return _NEED_MORE
        n = p[0]
        if cmd == 0x21:  # GS ! n: character size
            self.style = styled(self.style, width=((n >> 4) & 7) + 1, height=(n & 7) + 1)
        elif cmd == 0x42:
            self.style = styled(self.style, invert=bool(n & 1))
        elif cmd == 0x72:  # GS r n: transmit paper sensor status
            f = self.faults
            reply.append((0x03 if f.paper_near_end else 0) | (0x0C if f.paper_out else 0))
        else:
            log.debug("ESC/POS emulator: unknown GS 0x%02x 0x%02x", cmd, n)
        return 3

    def _dle(self, pos: int, cmd: int, reply: bytearray) -> int:
        """DLE real-time commands."""
        if cmd == 0x04:  # DLE EOT n
            p = self._param(pos, 1)
            if p is None:
                return _NEED_MORE
            reply.append(self.status_byte(p[0]))
            self.status_queries.append((p[0], len(self.tickets)))
            return 3
        if cmd == 0x05:
            return 3 if self._param(pos, 1) is not None else _NEED_MORE
        if cmd == 0x14:
            return 5 if self._param(pos, 3) is not None else _NEED_MORE
        return 1  # a lone DLE is just a control character

    def _fs(self, pos: int, cmd: int, reply: bytearray) -> int:
        """FS (kanji) commands: none matter on a Latin printer."""
        if cmd == 0x70:
            return 4 if self._param(pos, 2) is not None else _NEED_MORE
        return 2

    def _skip_barcode(self, pos: int) -> int:
        """Length of a GS k barcode command (NUL-terminated or length-prefixed)."""
        p = self._param(pos, 1)
        if p is None:
            return _NEED_MORE
        if p[0] <= 6:
            end = self._buf.find(0, pos + 3)
            return _NEED_MORE if end < 0 else end - pos + 1
        n = self._param(pos, 2)
        if n is None:
            return _NEED_MORE
        return 4 + n[1] if self._param(pos, 2 + n[1]) is not None else _NEED_MORE

    def _two_d(self, cn: int, fn: int, params: bytes) -> None:
        """GS ( k: 2-D codes; cn 49 is QR (model, module size, error level, store, print)."""
        if cn != 49:
            return
        if fn == 67 and params:
            self._qr_module = max(1, min(16, params[0]))
        elif fn == 69 and params:
            self._qr_ec = params[0]
        elif fn == 80:
            self._qr_data = bytes(params[1:])
        elif fn == 81 and self._qr_data:
            data = self._qr_data
            self.paper.qr(data, self._qr_module, self._qr_ec)
            self._qr_printed.append(data)

    def _codec(self, n: int) -> str:
        """The Python codec for code page n (CP437 when unknown, as printers fall back)."""
        name = self.code_pages.get(n, "cp437").lower()
        try:
            codecs.lookup(name)
        except LookupError:
            return "cp437"
        return name

    def _cut(self) -> None:
        """Cut the paper and hand the piece over, unless a fault spoiled it."""
        piece = self.paper.cut()
        text, qrs = "".join(self._text), self._qr_printed
        self._text, self._qr_printed = [], []
        if self._spoiled or self.faults.blocked():
            self._spoiled = False
            self.incomplete += 1
            log.info("ESC/POS emulator: ticket spoiled by a fault, not delivered")
            return
        ticket = PrintedTicket(piece, qrs, text)
        self.tickets.append(ticket)
        if self.on_ticket is not None:
            self.on_ticket(ticket)


def render_bytes(data: bytes, width: int = WIDTH) -> list[Image.Image]:
    """Interpret an ESC/POS byte stream without any port and return the cut pieces."""
    machine = EscposMachine(width)
    machine.feed(data)
    return [t.image for t in machine.tickets]
