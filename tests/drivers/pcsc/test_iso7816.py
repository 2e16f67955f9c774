"""ISO 7816-4 layer against the virtual card's logic (no daemon needed)."""

from __future__ import annotations

import pytest

from drivers.card_reader import iso7816 as iso
from drivers.card_reader.profiles.reference import AID, EF_PHOTO, ReferenceProfile
from drivers.card_reader.profiles.sam import PcscSam
from drivers.card_reader.virtual.card import CardFaults, VirtualEktp
from drivers.card_reader.virtual.sam import SamFaults, VirtualSam
from drivers.errors import CardNotAuthentic, SamFault


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


@pytest.mark.parametrize(
    ("apdu", "size"),
    [
        ("00B0000000", 1), ("00B00000000000", 2), ("00A4040002010200", 1), ("00A40C02020101", 0),
        ("00B10000000003540180FFFF", 2), ("00B100000003540180", 0), ("00840000", 0),
        ("0084000008", 1),
    ],
)  # fmt: skip
def test_le_size_knows_every_apdu_case(apdu: str, size: int) -> None:
    assert iso.le_size(bytes.fromhex(apdu)) == size


def test_6cxx_resend_keeps_the_apdu_s_form() -> None:
    assert iso.with_le(bytes.fromhex("00B0000000"), 0xB4) == bytes.fromhex("00B00000B4")
    assert iso.with_le(bytes.fromhex("00B0000000FFFF"), 0xB4) == bytes.fromhex("00B000000000B4")
    assert iso.with_le(bytes.fromhex("00B00000000400"), 0x00).endswith(b"\x01\x00")  # SW2 00: 256
    with pytest.raises(ValueError):
        iso.with_le(bytes.fromhex("00A40C02020101"), 0x10)


def _recording(card: VirtualEktp) -> tuple[list[tuple[bytes, bytes]], iso.Iso7816]:
    sent: list[tuple[bytes, bytes]] = []

    def transmit(apdu: bytes) -> bytes:
        answer = card.process(apdu)
        assert answer
        sent.append((apdu, answer))
        return answer

    return sent, iso.Iso7816(transmit, extended=True)


def test_6cxx_in_extended_mode_resends_a_two_byte_le() -> None:
    card = VirtualEktp(0, CardFaults(wrong_le_extended=True))
    sent, channel = _recording(card)
    _authenticate(channel)  # reads every data group
    resends = [now for now, before in zip(sent[1:], sent, strict=False) if before[1][-2] == 0x6C]
    assert resends, "the card answered 6Cxx at least once"
    for apdu, answer in resends:
        assert apdu[-3:-2] == b"\x00" and answer[-2:] == b"\x90\x00", (apdu.hex(), answer.hex())


def test_6282_with_data_is_the_end_of_the_file() -> None:
    card = VirtualEktp(0, CardFaults(eof_6282=True))
    sent, channel = _recording(card)
    _authenticate(channel)
    assert any(answer[-2:] == b"\x62\x82" for _, answer in sent)
    data, eof = channel.read_chunk(0, 65535)
    assert eof and data == card.data.files[0x0104]  # the last file selected: DG4


@pytest.mark.parametrize("extended", [True, False])
def test_files_past_32_kib_use_odd_ins(extended: bool) -> None:
    card = VirtualEktp(0, CardFaults(photo_padding=100_000))
    channel = iso.Iso7816(card.process, extended=extended)  # type: ignore[arg-type]
    _authenticate(channel)
    photo = channel.read_tlv_file(EF_PHOTO)
    assert photo == card.data.files[EF_PHOTO] and len(photo) > 100_000


def test_one_size_limit_for_every_file() -> None:
    card = VirtualEktp(0, CardFaults(photo_padding=iso.tlv.MAX_TOTAL))
    channel = iso.Iso7816(card.process, extended=True)  # type: ignore[arg-type]
    _authenticate_only(channel)
    with pytest.raises(iso.tlv.TlvError, match="limit 262144"):
        channel.read_tlv_file(EF_PHOTO)


def _authenticate_only(channel: iso.Iso7816) -> None:
    from drivers.card_reader.profiles import reference as ref

    sam = PcscSam(iso.Iso7816(VirtualSam().process))  # type: ignore[arg-type]
    sam.select()
    fci = iso.tlv.parse_one(channel.select_aid(AID))
    serial = fci.require(ref.TAG_FCI_PROPRIETARY).require(ref.TAG_CARD_SERIAL).value
    challenge = channel.send(bytes([0, 0x84, 0, 0, 8]))
    answer = sam.authenticate(serial, challenge)
    sam.verify(channel.send(bytes([0, 0x82, 0, 0, len(answer)]) + answer + b"\x10"))


@pytest.mark.parametrize(
    "faults", [SamFaults(wrong_sw=0x6581), SamFaults(wrong_sw=0x6F00), SamFaults(garbled=True)]
)
def test_sam_failures_are_sam_faults_not_card_faults(faults: SamFaults) -> None:
    _, channel = _card()
    sam = PcscSam(iso.Iso7816(VirtualSam(faults=faults).process))  # type: ignore[arg-type]
    sam.select()
    with pytest.raises(SamFault):
        ReferenceProfile().read(channel, sam)
    with pytest.raises(SamFault):
        sam.self_test()
