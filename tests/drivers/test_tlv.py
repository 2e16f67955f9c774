"""BER-TLV codec: round trips, bounds, and fuzzing that finds no exception but TlvError."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card_reader import tlv
from drivers.card_reader.citizens import citizen
from drivers.card_reader.profiles import reference as ref
from drivers.errors import CardUnreadable


def _tag(constructed: bool) -> st.SearchStrategy[int]:
    """Valid one- or two-byte tags of any class."""
    cls = st.sampled_from([0x00, 0x40, 0x80, 0xC0])
    bit = 0x20 if constructed else 0
    one = st.builds(lambda c, n: c | bit | n, cls, st.integers(0, 30))
    two = st.builds(lambda c, n: ((c | bit | 0x1F) << 8) | n, cls, st.integers(31, 127))
    return st.one_of(one, two)


primitive = st.builds(lambda t, v: tlv.Tlv(t, v), _tag(False), st.binary(max_size=300))
trees = st.recursive(
    primitive,
    lambda kids: st.builds(
        lambda t, cs: tlv.Tlv(t, b"".join(tlv.encode_tlv(c) for c in cs), tuple(cs)),
        _tag(True),
        st.lists(kids, min_size=1, max_size=4),
    ),
    max_leaves=12,
)


@given(st.lists(trees, min_size=1, max_size=3))
def test_round_trip(items: list[tlv.Tlv]) -> None:
    data = b"".join(tlv.encode_tlv(i) for i in items)
    assert tlv.parse(data) == items
    assert b"".join(tlv.encode_tlv(i) for i in tlv.parse(data)) == data


@given(st.binary(max_size=600))
@settings(max_examples=400, deadline=None)
def test_fuzz_random_bytes_raise_only_tlv_error(data: bytes) -> None:
    for parse in (tlv.parse, tlv.parse_one):
        try:
            parse(data)
        except tlv.TlvError:
            pass


@given(trees, st.data())
@settings(max_examples=150, deadline=None)
def test_fuzz_mutated_encodings_raise_only_tlv_error(item: tlv.Tlv, data: st.DataObject) -> None:
    raw = bytearray(tlv.encode_tlv(item))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    for sample in (bytes(raw), bytes(raw[:cut])):
        try:
            tlv.parse(sample)
        except tlv.TlvError:
            pass


@given(st.binary(max_size=400))
def test_fuzz_demographics_decoder_raises_only_its_errors(data: bytes) -> None:
    for payload in (data, tlv.encode(ref.TAG_DG1, data)):
        try:
            ref.decode_demographics(payload)
        except (tlv.TlvError, CardUnreadable):
            pass


def test_bounds_depth_length_and_size() -> None:
    deep = b""
    for _ in range(tlv.MAX_DEPTH + 1):
        deep = tlv.encode(0x30, deep) if deep else tlv.encode(0x30, tlv.encode(0x80, b"x"))
    with pytest.raises(tlv.TlvError, match="nesting"):
        tlv.parse(deep)
    with pytest.raises(tlv.TlvError, match="runs past"):
        tlv.parse(b"\x80\x05abc")
    with pytest.raises(tlv.TlvError, match="length field"):
        tlv.parse(b"\x80\x85\x00\x00\x00\x00\x01x")
    with pytest.raises(tlv.TlvError, match="limit"):
        tlv.parse(b"\x00" * (tlv.MAX_TOTAL + 1))
    with pytest.raises(tlv.TlvError, match="indefinite"):
        tlv.parse(b"\x30\x80\x00\x00")
    with pytest.raises(tlv.TlvError, match="expected bytes"):
        tlv.parse("text")  # type: ignore[arg-type]


def test_parse_one_allows_padding_only() -> None:
    item = tlv.encode(0x80, b"\x00\x00")  # a value ending in zeros is not padding
    assert tlv.parse_one(item + b"\x00\xff").value == b"\x00\x00"
    with pytest.raises(tlv.TlvError, match="after the object"):
        tlv.parse_one(item + b"\x01")


def test_demographics_round_trip_every_citizen() -> None:
    for index in range(6):
        person = citizen(index)
        values = ref.decode_demographics(ref.encode_demographics(person))
        assert values["nik"] == person.nik and values["birth_date"] == person.birth_date
        assert values["name"] == person.name and values["valid_until"] == "SEUMUR HIDUP"


@pytest.mark.parametrize(
    ("valid_until", "expired"),
    [("SEUMUR HIDUP", False), ("2015-06-30", True), ("30-06-2099", False), ("", False)],
)
def test_expiry(valid_until: str, expired: bool) -> None:
    assert ref.is_expired(valid_until, date(2024, 1, 1)) is expired
