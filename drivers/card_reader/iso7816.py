"""ISO/IEC 7816-4 commands over any transmit function: SELECT, READ BINARY, status words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drivers.card_reader import tlv

# transmit(command APDU) -> response APDU (data + SW1 SW2); raises for transport failures.
Transmit = Callable[[bytes], bytes]

SHORT_MAX = 256
EXTENDED_MAX = 65536
MAX_GET_RESPONSE = 64  # bounds a card that answers 61xx forever
EVEN_INS_MAX_OFFSET = 0x7FFF  # READ BINARY B0 carries a 15-bit offset in P1-P2
TAG_OFFSET = 0x54  # READ BINARY B1: the offset data object in the command...
TAG_DISCRETIONARY = 0x53  # ...and the data object wrapping the answer
SW_OK = 0x9000
SW_END_OF_FILE = 0x6282  # "end of file reached before reading Le bytes": data is still valid


class StatusWordError(Exception):
    """The card answered with a status word other than 9000."""

    meaning = "unexpected status"

    def __init__(self, sw: int, command: str = "") -> None:
        """Keep the status word and the command name for the log."""
        self.sw = sw
        self.command = command
        super().__init__(f"{command or 'APDU'}: SW {sw:04X} ({self.meaning})")


class WarningStatus(StatusWordError):
    """62xx/63xx: a warning where data was expected (e.g. 6300 authentication failed)."""

    meaning = "warning / verification failed"


class ExecutionError(StatusWordError):
    """64xx/65xx/66xx: the card failed to execute the command (memory, state)."""

    meaning = "execution error"


class WrongLength(StatusWordError):
    """6700 or 6Cxx that could not be honoured."""

    meaning = "wrong length"


class FunctionNotSupported(StatusWordError):
    """68xx: logical channel or secure messaging not supported."""

    meaning = "function in CLA not supported"


class SecurityNotSatisfied(StatusWordError):
    """6982/6983/6984/6985/6988: authentication needed, blocked or conditions not met."""

    meaning = "security status not satisfied"


class CommandNotAllowed(StatusWordError):
    """Other 69xx."""

    meaning = "command not allowed"


class FileNotFound(StatusWordError):
    """6A82 (file or application not found) and 6A83 (record not found)."""

    meaning = "file or application not found"


class WrongParameters(StatusWordError):
    """6Axx (other) and 6B00: wrong P1-P2, offset past the end of the file."""

    meaning = "wrong parameters"


class InstructionNotSupported(StatusWordError):
    """6D00 / 6E00: instruction or class not supported."""

    meaning = "instruction or class not supported"


class UnknownStatus(StatusWordError):
    """6F00 or anything outside ISO 7816-4's table."""

    meaning = "no precise diagnosis"


class MalformedResponse(Exception):
    """The response was shorter than a status word."""


def error_for(sw: int, command: str = "") -> StatusWordError:
    """Map a non-9000 status word to its typed error."""
    sw1 = sw >> 8
    if sw == 0x6700:
        cls: type[StatusWordError] = WrongLength
    elif sw in (0x6A82, 0x6A83):
        cls = FileNotFound
    elif sw1 == 0x6A or sw == 0x6B00:
        cls = WrongParameters
    elif sw in (0x6982, 0x6983, 0x6984, 0x6985, 0x6988):
        cls = SecurityNotSatisfied
    elif sw1 == 0x69:
        cls = CommandNotAllowed
    elif sw1 == 0x68:
        cls = FunctionNotSupported
    elif sw1 in (0x62, 0x63):
        cls = WarningStatus
    elif sw1 in (0x64, 0x65, 0x66):
        cls = ExecutionError
    elif sw in (0x6D00, 0x6E00):
        cls = InstructionNotSupported
    elif sw1 == 0x6C:
        cls = WrongLength
    else:
        cls = UnknownStatus
    return cls(sw, command)


@dataclass(frozen=True)
class Response:
    """Response data and status word."""

    data: bytes
    sw: int


def le_size(apdu: bytes) -> int:
    """Bytes of the Le field at the end of `apdu`: 0 (none), 1 (short) or 2 (extended)."""
    body = apdu[4:]
    if not body:
        return 0
    if len(body) == 1:
        return 1  # short case 2
    if body[0] == 0 and len(body) >= 3:  # extended: Lc 0 does not exist in short form
        if len(body) == 3:
            return 2  # extended case 2
        rest = len(body) - 3 - int.from_bytes(body[1:3], "big")
        return 2 if rest == 2 else 0
    return 1 if len(body) - 1 - body[0] == 1 else 0


def with_le(apdu: bytes, sw2: int) -> bytes:
    """`apdu` with its Le replaced by the length a 6Cxx answer gave (SW2 00 means 256)."""
    size = le_size(apdu)
    if size == 1:
        return apdu[:-1] + bytes([sw2])
    if size == 2:
        return apdu[:-2] + (sw2 or SHORT_MAX).to_bytes(2, "big")
    raise ValueError("6Cxx for a command without Le")


def build_apdu(
    cla: int,
    ins: int,
    p1: int,
    p2: int,
    data: bytes = b"",
    le: int | None = None,
    extended: bool = False,
) -> bytes:
    """Encode a command APDU (cases 1-4, short or extended); `le` 0 means none, None omits it."""
    if not extended and (len(data) > 255 or (le is not None and le > SHORT_MAX)):
        extended = True
    head = bytes([cla, ins, p1, p2])
    if not extended:
        body = (bytes([len(data)]) + data) if data else b""
        tail = b"" if le is None else bytes([le % 256])
        return head + body + tail
    if len(data) > 65535 or (le is not None and le > EXTENDED_MAX):
        raise ValueError("APDU too long")
    body = (b"\x00" + len(data).to_bytes(2, "big") + data) if data else b""
    if le is None:
        return head + body
    tail = (le % EXTENDED_MAX).to_bytes(2, "big")
    return head + body + (tail if data else b"\x00" + tail)


class Iso7816:
    """Card commands on top of `transmit`; every SW other than 9000 raises a typed error."""

    def __init__(self, transmit: Transmit, *, extended: bool = False) -> None:
        """Use `extended` length READ BINARY when both card and reader allow it."""
        self._transmit = transmit
        self.extended = extended
        self.apdus = 0

    def raw(self, apdu: bytes) -> Response:
        """Send one APDU and split data from the status word."""
        self.apdus += 1
        answer = self._transmit(apdu)
        if len(answer) < 2:
            raise MalformedResponse(f"response of {len(answer)} bytes")
        return Response(bytes(answer[:-2]), (answer[-2] << 8) | answer[-1])

    def send(self, apdu: bytes, command: str = "") -> bytes:
        """Send, chase 61xx with GET RESPONSE, retry once on 6Cxx; return data or raise."""
        return self.exchange(apdu, command)[0]

    def exchange(
        self, apdu: bytes, command: str = "", *, eof_ok: bool = False
    ) -> tuple[bytes, int]:
        """Like send(); with `eof_ok` a 6282 answer returns its data too; gives (data, SW)."""
        response = self.raw(apdu)
        if response.sw >> 8 == 0x6C and le_size(apdu):
            # Wrong Le: the card tells us the right one; resend with exactly that, in the same
            # (short or extended) form, or a two-byte Le would keep its stale high byte.
            response = self.raw(with_le(apdu, response.sw & 0xFF))
        data = bytearray(response.data)
        rounds = 0
        while response.sw >> 8 == 0x61:
            rounds += 1
            if rounds > MAX_GET_RESPONSE:
                raise UnknownStatus(response.sw, f"{command} (endless GET RESPONSE)")
            le = response.sw & 0xFF
            response = self.raw(bytes([apdu[0] & 0x03, 0xC0, 0x00, 0x00, le]))
            data += response.data
        if response.sw == SW_OK or (eof_ok and response.sw == SW_END_OF_FILE):
            return bytes(data), response.sw
        raise error_for(response.sw, command)

    def select_aid(self, aid: bytes) -> bytes:
        """SELECT an application by AID; return its FCI (may be empty)."""
        return self.send(build_apdu(0x00, 0xA4, 0x04, 0x00, aid, 0), "SELECT AID")

    def select_file(self, fid: int) -> None:
        """SELECT an elementary file by file id under the current DF, no FCI."""
        self.send(build_apdu(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big")), "SELECT EF")

    def read_binary(self, offset: int, length: int) -> bytes:
        """READ BINARY of at most `length` bytes at `offset`; 6282 (end of file) is data too."""
        return self.read_chunk(offset, length)[0]

    def read_chunk(self, offset: int, length: int) -> tuple[bytes, bool]:
        """READ BINARY at `offset`: (data, end of file reached); odd INS B1 past 32 KiB."""
        if offset < 0:
            raise ValueError(f"negative offset {offset}")
        limit = EXTENDED_MAX if self.extended else SHORT_MAX
        if offset <= EVEN_INS_MAX_OFFSET:
            le = length if length < limit else 0
            apdu = build_apdu(0x00, 0xB0, offset >> 8, offset & 0xFF, b"", le, self.extended)
            data, sw = self.exchange(apdu, "READ BINARY", eof_ok=True)
            return data, sw == SW_END_OF_FILE
        # ISO 7816-4 odd INS: P1-P2 0000 is the current EF, the offset travels in tag 54 and
        # the answer comes wrapped in tag 53 (at most 4 header bytes for a 64 KiB answer).
        offset_do = tlv.encode(TAG_OFFSET, offset.to_bytes((offset.bit_length() + 7) // 8, "big"))
        want = length + 4
        le = want if want < limit else 0
        apdu = build_apdu(0x00, 0xB1, 0x00, 0x00, offset_do, le, self.extended)
        raw, sw = self.exchange(apdu, "READ BINARY (odd INS)", eof_ok=True)
        if not raw:
            return b"", sw == SW_END_OF_FILE
        try:
            item = tlv.parse_one(raw)
        except tlv.TlvError as exc:
            raise MalformedResponse(f"odd-INS READ BINARY answer is no 53 object: {exc}") from exc
        if item.tag != TAG_DISCRETIONARY:
            raise MalformedResponse(f"odd-INS READ BINARY answered tag {item.tag:X}, not 53")
        return item.value, sw == SW_END_OF_FILE

    def read_tlv_file(self, fid: int, max_size: int = tlv.MAX_TOTAL) -> bytes:
        """SELECT and read a file holding one BER-TLV object; its header gives the size.

        The first READ BINARY asks for as much as one APDU carries, whatever the file holds: a
        card may answer less with 6282 (end of file). Every file up to `max_size` (tlv.MAX_TOTAL,
        256 KiB, by default) is read; past 32 KiB with odd-INS READ BINARY (B1).
        """
        self.select_file(fid)
        chunk = EXTENDED_MAX - 1 if self.extended else SHORT_MAX
        first, eof = self.read_chunk(0, chunk)
        data = bytearray(first)
        if not data:
            raise tlv.TlvError(f"file {fid:04X} is empty")
        _, length, hlen = tlv.read_header(bytes(data[:8]) if len(data) >= 2 else bytes(data))
        total = hlen + length
        if total > max_size:
            raise tlv.TlvError(f"file {fid:04X} announces {total} bytes, limit {max_size}")
        while len(data) < total:
            if eof:
                raise tlv.TlvError(f"file {fid:04X} ended at {len(data)} of {total} bytes")
            part, eof = self.read_chunk(len(data), min(chunk, total - len(data)))
            if not part:
                raise tlv.TlvError(f"file {fid:04X} ended at {len(data)} of {total} bytes")
            data += part
        return bytes(data[:total])

    def get_data_uid(self) -> bytes:
        """PC/SC part 3 GET DATA: the contactless card's UID, answered by the reader."""
        return self.send(bytes([0xFF, 0xCA, 0x00, 0x00, 0x00]), "GET DATA UID")
