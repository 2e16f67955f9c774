"""ISO 7816-4 layer against the virtual card's logic (no daemon needed)."""

from __future__ import annotations

import pytest

from drivers.card_reader import iso7816 as iso
from drivers.card_reader.profiles.reference import AID, EF_PHOTO, ReferenceProfile
from drivers.card_reader.profiles.sam import PcscSam
from drivers.card_reader.virtual.card import CardFaults, VirtualEktp
from drivers.card_reader.virtual.sam import VirtualSam
from drivers.errors import CardNotAuthentic


@pytest.mark.parametrize(
    ("sw", "error"),
    [
        (0x6700, iso.WrongLength), (0x6A82, iso.FileNotFound), (0x6A86, iso.WrongParameters),
        (0x6B00, iso.WrongParameters), (0x6982, iso.SecurityNotSatisfied),
        (0x6986, iso.CommandNotAllowed), (0x6881, iso.FunctionNotSupported),
        (0x6300, iso.WarningStatus), (0x6581, iso.ExecutionError),
        (0x6D00, iso.InstructionNotSupported), (0x6E00, iso.InstructionNotSupported),
        (0x6F00, iso.UnknownStatus), (0x1234, iso.UnknownStatus),
    ],
)  # fmt: skip
def test_every_status_word_has_a_typed_error(sw: int, error: type) -> None:
    exc = iso.error_for(sw, "READ BINARY")
    assert type(exc) is error and exc.sw == sw and f"{sw:04X}" in str(exc)


def test_apdu_encoding_short_and_extended() -> None:
    assert iso.build_apdu(0, 0xB0, 0, 0, le=256) == bytes.fromhex("00B0000000")
    assert iso.build_apdu(0, 0xA4, 4, 0, b"\x01\x02", 0) == bytes.fromhex("00A4040002010200")
    assert iso.build_apdu(0, 0xB0, 0, 0, le=1000) == bytes.fromhex("00B000000003E8")
    assert iso.build_apdu(0, 0xB0, 0, 0, le=65536, extended=True) == bytes.fromhex("00B00000000000")
    long = iso.build_apdu(0, 0xD6, 0, 0, bytes(300))
    assert long[4:7] == b"\x00\x01\x2c" and len(long) == 307


def _card(**faults: object) -> tuple[VirtualEktp, iso.Iso7816]:
    card = VirtualEktp(0, CardFaults(**faults))  # type: ignore[arg-type]
    return card, iso.Iso7816(card.process)


def _authenticate(card: iso.Iso7816) -> None:
    sam = PcscSam(iso.Iso7816(VirtualSam().process))
    sam.select()
    profile = ReferenceProfile()
    profile_read = profile.read(card, sam)
    assert profile_read.identity is not None


def test_get_response_chains_61xx() -> None:
    card, channel = _card(chained=True)
    fci = channel.select_aid(AID)
    assert fci[0] == 0x6F and channel.apdus >= 2


def test_wrong_le_is_retried_with_the_card_s_length() -> None:
    card, channel = _card(wrong_le=True)
    _authenticate(channel)
    channel.select_file(EF_PHOTO)
    before = channel.apdus
    size = len(card.data.files[EF_PHOTO])
    data = channel.read_binary(size - 100, 256)
    assert len(data) == 100 and channel.apdus - before == 2


def test_read_before_authentication_is_refused() -> None:
    card, channel = _card()
    channel.select_aid(AID)
    channel.select_file(EF_PHOTO)
    with pytest.raises(iso.SecurityNotSatisfied):
        channel.read_binary(0, 16)


def test_endless_get_response_is_bounded() -> None:
    channel = iso.Iso7816(lambda apdu: b"\x61\x10")
    with pytest.raises(iso.UnknownStatus, match="endless"):
        channel.send(bytes.fromhex("00CA000000"), "GET DATA")


def test_short_response_is_malformed() -> None:
    with pytest.raises(iso.MalformedResponse):
        iso.Iso7816(lambda apdu: b"\x90").send(b"\x00\x84\x00\x00\x08")


def test_forged_card_fails_mutual_authentication() -> None:
    _, channel = _card(forged=True)
    with pytest.raises(CardNotAuthentic):
        _authenticate(channel)


def test_file_announcing_too_much_is_refused() -> None:
    _, channel = _card()
    _authenticate(channel)
    with pytest.raises(iso.tlv.TlvError, match="limit"):
        channel.read_tlv_file(EF_PHOTO, max_size=1000)
