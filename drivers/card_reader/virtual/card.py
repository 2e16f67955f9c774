"""A virtual e-KTP chip speaking the reference profile, with faults on command."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import random
import time
from dataclasses import dataclass, field, replace

from PIL import Image, ImageDraw

from drivers.card_reader import tlv
from drivers.card_reader.citizens import citizen
from drivers.card_reader.profiles import reference as ref
from drivers.card_reader.profiles.base import Minutia, encode_minutiae

# A fictional test master key: the virtual SAM holds it, virtual cards get keys derived from it.
TEST_MASTER_KEY = hashlib.sha256(
    b"anjungan reference profile TEST KEY - not for production"
).digest()
FINGER_CODES = (1, 6)  # right thumb, left thumb (ISO 19794-2 finger positions)
OK = b"\x90\x00"
VPCD_MAX_DATA = 0xFFFF - 2  # vpcd frames carry a 2-byte length: data + SW must fit
MUTE = b""  # a card's answer that means: say nothing, keep the connection (see VpcdSlot)


def card_key(master: bytes, serial: bytes) -> bytes:
    """Diversify the master key for one card serial."""
    return hmac.new(master, b"card-key" + serial, hashlib.sha256).digest()[:16]


def cryptogram(key: bytes, label: bytes, first: bytes, second: bytes) -> bytes:
    """The 16-byte proof used in both directions of mutual authentication."""
    return hmac.new(key, label + first + second, hashlib.sha256).digest()[: ref.CRYPTOGRAM_SIZE]


def minutiae_for(index: int, finger: int) -> bytes:
    """Deterministic packed minutiae of fictional citizen `index`'s finger."""
    rnd = random.Random(f"minutiae-{index}-{finger}")
    points = [
        Minutia(rnd.randint(20, 480), rnd.randint(20, 480), rnd.randint(0, 255), rnd.randint(1, 2))
        for _ in range(36)
    ]
    return encode_minutiae(points)


def signature_png(index: int) -> bytes:
    """A small scribbled signature for citizen `index`."""
    rnd = random.Random(f"signature-{index}")
    img = Image.new("L", (240, 90), 255)
    draw = ImageDraw.Draw(img)
    points = [(10 + i * 11, 45 + rnd.randint(-30, 30)) for i in range(21)]
    draw.line(points, fill=0, width=3)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


@dataclass
class CardFaults:
    """Faults a test can switch on for one card."""

    drop_after: int | None = None  # answer this many APDUs, then tear away on the next one
    slow_s: float = 0.0  # extra delay per APDU (air interface, weak coupling)
    wrong_sw: int | None = None  # answer APDU number `wrong_sw_at` (1-based) with this SW
    wrong_sw_at: int = 1
    malformed_tlv: bool = False  # DG1 announces more bytes than it holds
    expired: bool = False  # valid until a past date
    not_ektp: bool = False  # a contactless card without the e-KTP application
    chained: bool = False  # T=0 style: data comes back through 61xx + GET RESPONSE
    wrong_le: bool = False  # answer short READ BINARYs with 6Cxx first
    photo_size: int | None = None  # truncate the photo to this many bytes (keeps JPEG magic)
    forged: bool = False  # keys not derived from the SAM's master key: authentication fails
    mute_after: int | None = None  # answer this many APDUs, then stay silent (still in the field)
    garbled_at: int | None = None  # answer APDU number `garbled_at` (1-based) with one stray byte
    wrong_le_extended: bool = False  # 6Cxx also for extended READ BINARYs asking past the end
    eof_6282: bool = False  # READ BINARY past the end: the data left + 6282 (end of file)
    photo_padding: int = 0  # grow the photo by this many bytes of JPEG comments (big files)
    odd_ins: bool = True  # READ BINARY B1 (offset data object) is supported


@dataclass
class Personalisation:
    """What is written into a card at issuance."""

    uid: bytes
    serial: bytes
    key: bytes
    files: dict[int, bytes] = field(repr=False)


def personalise(index: int, faults: CardFaults | None = None) -> Personalisation:
    """Build the files of citizen `index`'s card."""
    faults = faults or CardFaults()
    identity = citizen(index)
    if faults.expired:
        identity = replace(identity, valid_until="2015-06-30")
    photo = identity.photo_jpeg
    if faults.photo_size is not None:
        photo = photo[: max(2, faults.photo_size)]
    if faults.photo_padding:
        photo = photo[:2] + _jpeg_comments(faults.photo_padding) + photo[2:]
    dg1 = ref.encode_demographics(identity)
    if faults.malformed_tlv:
        _, _, hlen = tlv.read_header(dg1)  # first inner field: a 5-byte length field
        dg1 = dg1[: hlen + 1] + b"\x85" + dg1[hlen + 2 :]
    serial = hashlib.sha256(f"serial-{index}".encode()).digest()[:8]
    return Personalisation(
        uid=bytes([0x04]) + hashlib.sha256(f"uid-{index}".encode()).digest()[:6],
        serial=serial,
        key=card_key(b"forger" if faults.forged else TEST_MASTER_KEY, serial),
        files={
            ref.EF_DEMOGRAPHICS: dg1,
            ref.EF_PHOTO: ref.encode_photo(photo),
            ref.EF_SIGNATURE: ref.encode_signature(signature_png(index)),
            ref.EF_MINUTIAE: ref.encode_minutiae_file(
                {code: minutiae_for(index, code) for code in FINGER_CODES}
            ),
        },
    )


def _jpeg_comments(size: int) -> bytes:
    """JPEG COM segments totalling `size` bytes (at least 4), to make a photo file big."""
    out = bytearray()
    while size - len(out) >= 4:
        body = min(size - len(out) - 4, 65533)
        out += b"\xff\xfe" + (body + 2).to_bytes(2, "big") + bytes([0x41 + len(out) % 26]) * body
    return bytes(out)


def _atr(historical: bytes) -> bytes:
    """Build a T=1 ATR with the given historical bytes and its check byte."""
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes([tck])


class VirtualEktp:
    """The card's APDU interpreter: one instance per insertion."""

    # Compact-TLV card capabilities (7x): byte 3 bit 0x40 announces extended Lc/Le.
    ATR = _atr(bytes([0x80, 0x73, 0x00, 0x00, 0x40]) + b"ANJ-EKTP")

    def __init__(self, index: int, faults: CardFaults | None = None) -> None:
        """Personalise citizen `index`'s card with `faults`."""
        self.faults = faults or CardFaults()
        self.data = personalise(index, self.faults)
        self.apdu_count = 0
        self.reset()

    def atr(self) -> bytes:
        """Return the ATR."""
        return self.ATR

    def reset(self) -> None:
        """Lose the selection and authentication state."""
        self._selected_app = False
        self._file: bytes | None = None
        self._challenge: bytes | None = None
        self._authenticated = False
        self._pending = b""

    def process(self, apdu: bytes) -> bytes | None:
        """Answer one C-APDU, applying the configured faults."""
        self.apdu_count += 1
        f = self.faults
        if f.slow_s:
            time.sleep(f.slow_s)
        if f.drop_after is not None and self.apdu_count > f.drop_after:
            return None
        if f.mute_after is not None and self.apdu_count > f.mute_after:
            return MUTE
        if f.garbled_at == self.apdu_count:
            return b"\x6f"
        if f.wrong_sw is not None and self.apdu_count == f.wrong_sw_at:
            return f.wrong_sw.to_bytes(2, "big")
        if len(apdu) < 4:
            return b"\x67\x00"
        answer = self._dispatch(apdu)
        if f.chained and len(answer) > 2 and apdu[1] != 0xC0:
            self._pending = answer[:-2]
            return bytes([0x61, min(len(self._pending), 256) % 256])
        return answer

    def _dispatch(self, apdu: bytes) -> bytes:
        """Route by CLA/INS."""
        cla, ins, p1, p2 = apdu[0], apdu[1], apdu[2], apdu[3]
        data, le = _split(apdu)
        if cla == 0xFF and ins == 0xCA:
            return self.data.uid + OK
        if ins == 0xC0:
            out, self._pending = self._pending[: le or 256], self._pending[le or 256 :]
            return out + (
                bytes([0x61, min(len(self._pending), 256) % 256]) if self._pending else OK
            )
        if ins == 0xA4 and p1 == 0x04:
            if self.faults.not_ektp or data != ref.AID:
                return b"\x6a\x82"
            self.reset()
            self._selected_app = True
            return ref.encode_fci(self.data.serial) + OK
        if not self._selected_app:
            return b"\x69\x85"
        if ins == 0x84:
            self._challenge = os.urandom(ref.CHALLENGE_SIZE)
            return self._challenge + OK
        if ins == 0x82:
            return self._mutual_auth(data)
        if ins == 0xA4 and p1 == 0x02:
            fid = int.from_bytes(data, "big") if len(data) == 2 else -1
            if fid not in self.data.files:
                self._file = None
                return b"\x6a\x82"
            self._file = self.data.files[fid]
            return OK
        if ins == 0xB0:
            if p1 & 0x80:  # short EF identifier: not used by this profile
                return b"\x6a\x86"
            return self._read_binary(apdu, (p1 << 8) | p2, le)
        if ins == 0xB1 and self.faults.odd_ins:
            return self._read_binary_odd(p1, p2, data, le)
        return b"\x6d\x00"

    def _mutual_auth(self, data: bytes) -> bytes:
        """Check the reader's cryptogram and prove ourselves in return."""
        if self._challenge is None or len(data) != ref.CHALLENGE_SIZE + ref.CRYPTOGRAM_SIZE:
            return b"\x69\x85"
        rnd_ifd, proof = data[: ref.CHALLENGE_SIZE], data[ref.CHALLENGE_SIZE :]
        expected = cryptogram(self.data.key, b"IFD", self._challenge, rnd_ifd)
        challenge, self._challenge = self._challenge, None
        if not hmac.compare_digest(proof, expected):
            return b"\x63\x00"
        self._authenticated = True
        return cryptogram(self.data.key, b"ICC", rnd_ifd, challenge) + OK

    def _read_binary(self, apdu: bytes, offset: int, le: int) -> bytes:
        """Return up to `le` bytes of the selected file from `offset`."""
        if not self._authenticated:
            return b"\x69\x82"
        if self._file is None:
            return b"\x69\x86"
        if offset >= len(self._file):
            return b"\x6b\x00"
        chunk = self._file[offset : offset + min(le, VPCD_MAX_DATA)]
        at_end = offset + len(chunk) >= len(self._file) and len(chunk) < le
        short = len(apdu) == 5
        if at_end and len(chunk) <= 256:
            if (self.faults.wrong_le and short) or (self.faults.wrong_le_extended and not short):
                return bytes([0x6C, len(chunk) % 256])  # SW2 00 means 256
        if self.faults.eof_6282 and at_end:
            return chunk + b"\x62\x82"
        return chunk + OK

    def _read_binary_odd(self, p1: int, p2: int, data: bytes, le: int) -> bytes:
        """READ BINARY B1: offset in a 54 data object, data back in a 53 data object."""
        if not self._authenticated:
            return b"\x69\x82"
        if self._file is None or (p1, p2) != (0, 0):
            return b"\x69\x86"
        try:
            offset_do = tlv.parse_one(data)
        except tlv.TlvError:
            return b"\x6a\x80"
        if offset_do.tag != 0x54 or not 1 <= len(offset_do.value) <= 3:
            return b"\x6a\x80"
        offset = int.from_bytes(offset_do.value, "big")
        if offset >= len(self._file):
            return b"\x6b\x00"
        room = min(le, VPCD_MAX_DATA) - 4  # 53 82 xx xx
        chunk = self._file[offset : offset + room]
        at_end = offset + len(chunk) >= len(self._file) and len(chunk) < room
        sw = b"\x62\x82" if self.faults.eof_6282 and at_end else OK
        return tlv.encode(0x53, chunk) + sw


def _split(apdu: bytes) -> tuple[bytes, int]:
    """Return (command data, Le) for short and extended APDUs (Le 0 means the maximum)."""
    body = apdu[4:]
    if not body:
        return b"", 0
    if len(body) == 1:
        return b"", body[0] or 256
    if body[0] == 0 and len(body) >= 3:  # extended
        if len(body) == 3:
            return b"", int.from_bytes(body[1:3], "big") or 65536
        lc = int.from_bytes(body[1:3], "big")
        data = body[3 : 3 + lc]
        rest = body[3 + lc :]
        return data, (int.from_bytes(rest, "big") or 65536) if rest else 0
    lc = body[0]
    data = body[1 : 1 + lc]
    rest = body[1 + lc :]
    return data, (rest[0] or 256) if rest else 0
