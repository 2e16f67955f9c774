"""A bounded BER-TLV codec (ISO/IEC 7816-4 / 8825-1 subset) that raises only TlvError."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MAX_DEPTH = 8
MAX_TOTAL = 256 * 1024  # no e-KTP file comes near this; bigger input is refused outright
MAX_TAG_BYTES = 3
MAX_LENGTH_BYTES = 3


class TlvError(ValueError):
    """The bytes are not well-formed BER-TLV within our bounds."""


@dataclass(frozen=True)
class Tlv:
    """One data object: `value` for primitive tags, `children` for constructed ones."""

    tag: int
    value: bytes = field(default=b"", repr=False)
    children: tuple[Tlv, ...] = ()

    @property
    def constructed(self) -> bool:
        """True when bit 6 of the tag's first byte is set."""
        return bool(_first_byte(self.tag) & 0x20)

    def find(self, tag: int) -> Tlv | None:
        """Return the first direct child with `tag`, or None."""
        return next((c for c in self.children if c.tag == tag), None)

    def require(self, tag: int) -> Tlv:
        """Return the first direct child with `tag`; TlvError when missing."""
        child = self.find(tag)
        if child is None:
            raise TlvError(f"tag {tag:X} missing inside {self.tag:X}")
        return child


def _first_byte(tag: int) -> int:
    """Return the leading byte of an encoded tag number."""
    while tag > 0xFF:
        tag >>= 8
    return tag


def read_header(data: bytes, pos: int = 0) -> tuple[int, int, int]:
    """Parse the tag and length at `pos`; return (tag, value length, header size)."""
    end = len(data)
    if pos >= end:
        raise TlvError("truncated: no tag")
    start = pos
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:  # multi-byte tag number
        while True:
            if pos >= end:
                raise TlvError("truncated tag")
            if pos - start >= MAX_TAG_BYTES:
                raise TlvError("tag too long")
            b = data[pos]
            tag = (tag << 8) | b
            pos += 1
            if not b & 0x80:
                break
    if pos >= end:
        raise TlvError("truncated: no length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise TlvError("indefinite length is not allowed")
    else:
        count = first & 0x7F
        if count > MAX_LENGTH_BYTES:
            raise TlvError(f"length field of {count} bytes")
        if pos + count > end:
            raise TlvError("truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    return tag, length, pos - start


def parse(data: bytes, *, max_depth: int = MAX_DEPTH, max_total: int = MAX_TOTAL) -> list[Tlv]:
    """Parse every top-level object in `data`; TlvError on anything malformed or too big."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TlvError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_total:
        raise TlvError(f"{len(data)} bytes exceed the {max_total}-byte limit")
    return list(_parse_range(data, 0, len(data), 1, max_depth))


def parse_one(data: bytes, *, max_depth: int = MAX_DEPTH, max_total: int = MAX_TOTAL) -> Tlv:
    """Parse exactly one top-level object (trailing 0x00/0xFF padding allowed)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TlvError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_total:
        raise TlvError(f"{len(data)} bytes exceed the {max_total}-byte limit")
    _, length, hlen = read_header(data)
    size = hlen + length
    if size > len(data):
        raise TlvError(f"object of {size} bytes in {len(data)} bytes")
    if data[size:].strip(b"\x00\xff"):
        raise TlvError("unexpected bytes after the object")
    return parse(data[:size], max_depth=max_depth, max_total=max_total)[0]


def _parse_range(data: bytes, pos: int, end: int, depth: int, max_depth: int) -> Iterator[Tlv]:
    """Yield the objects between `pos` and `end`."""
    if depth > max_depth:
        raise TlvError(f"nesting deeper than {max_depth}")
    while pos < end:
        tag, length, hlen = read_header(data[:end], pos)
        start = pos + hlen
        stop = start + length
        if stop > end:
            raise TlvError(f"tag {tag:X}: length {length} runs past the end")
        if _first_byte(tag) & 0x20:
            children = tuple(_parse_range(data, start, stop, depth + 1, max_depth))
            yield Tlv(tag, data[start:stop], children)
        else:
            yield Tlv(tag, data[start:stop])
        pos = stop


def encode_tag(tag: int) -> bytes:
    """Encode a tag number already in its BER byte form (e.g. 0x5F2E)."""
    if tag < 0:
        raise TlvError("negative tag")
    raw = tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")
    if len(raw) > MAX_TAG_BYTES:
        raise TlvError("tag too long")
    return raw


def encode_length(length: int) -> bytes:
    """Encode a definite length in the shortest form."""
    if length < 0:
        raise TlvError("negative length")
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(raw) > MAX_LENGTH_BYTES:
        raise TlvError("length too large")
    return bytes([0x80 | len(raw)]) + raw


def encode(tag: int, value: bytes | Iterable[bytes]) -> bytes:
    """Encode one object; `value` may be bytes or an iterable of already-encoded children."""
    body = value if isinstance(value, bytes | bytearray) else b"".join(value)
    return encode_tag(tag) + encode_length(len(body)) + bytes(body)


def encode_tlv(item: Tlv) -> bytes:
    """Re-encode a parsed object (children take precedence over value for constructed tags)."""
    if item.children:
        return encode(item.tag, (encode_tlv(c) for c in item.children))
    return encode(item.tag, item.value)
