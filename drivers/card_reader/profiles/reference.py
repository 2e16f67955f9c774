"""The project's reference e-KTP profile (docs/ektp-reference-profile.md): reader side and codec."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from drivers.card_reader import tlv
from drivers.card_reader.iso7816 import Iso7816, StatusWordError, WarningStatus
from drivers.card_reader.profiles.base import CardData, FingerprintMatcher, SamAuthenticator
from drivers.errors import CardExpired, CardNotAuthentic, CardUnreadable, SamMissing
from kiosk_app.domain.identity import Identity

log = logging.getLogger(__name__)

AID = bytes.fromhex("F0414E4A554E47414E01")  # proprietary (F0) "ANJUNGAN" + version 01
SAM_AID = bytes.fromhex("F0414E4A53414D01")  # proprietary "ANJSAM" + version 01

EF_DEMOGRAPHICS = 0x0101
EF_PHOTO = 0x0102
EF_SIGNATURE = 0x0103
EF_MINUTIAE = 0x0104

TAG_FCI = 0x6F
TAG_FCI_PROPRIETARY = 0xA5
TAG_CARD_SERIAL = 0xC0
TAG_DG1, TAG_DG2, TAG_DG3, TAG_DG4 = 0x71, 0x72, 0x73, 0x74
TAG_JPEG = 0x5F40
TAG_PNG = 0x5F43
TAG_FINGER = 0xA1
TAG_FINGER_CODE, TAG_FINGER_MINUTIAE = 0x80, 0x81

CHALLENGE_SIZE = 8
CRYPTOGRAM_SIZE = 16
LIFETIME = "SEUMUR HIDUP"

# DG1 field order: context tags 0x80.. in Identity field order (birth date as YYYYMMDD).
DG1_FIELDS: tuple[str, ...] = (
    "nik", "name", "birth_place", "birth_date", "sex", "blood_type", "address", "rt_rw",
    "kelurahan_desa", "kecamatan", "kabupaten_kota", "province", "religion", "marital_status",
    "occupation", "citizenship", "valid_until",
)  # fmt: skip
DG1_TAGS = {name: 0x80 + i for i, name in enumerate(DG1_FIELDS)}
MAX_FIELD = 200


def encode_demographics(identity: Identity) -> bytes:
    """Encode EF.DG1 from an Identity (used to personalise virtual cards)."""
    parts = []
    for name, tag in DG1_TAGS.items():
        value = getattr(identity, name)
        text = value.strftime("%Y%m%d") if isinstance(value, date) else str(value)
        parts.append(tlv.encode(tag, text.encode("utf-8")))
    return tlv.encode(TAG_DG1, parts)


def decode_demographics(raw: bytes) -> dict[str, Any]:
    """Decode EF.DG1 into Identity keyword arguments; TlvError/CardUnreadable when malformed."""
    dg1 = tlv.parse_one(raw)
    if dg1.tag != TAG_DG1:
        raise tlv.TlvError(f"DG1 has tag {dg1.tag:X}")
    values: dict[str, Any] = {}
    for name, tag in DG1_TAGS.items():
        item = dg1.require(tag)
        if len(item.value) > MAX_FIELD:
            raise tlv.TlvError(f"field {name} is {len(item.value)} bytes")
        try:
            text = item.value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise tlv.TlvError(f"field {name} is not UTF-8") from exc
        values[name] = text
    try:
        birth = str(values["birth_date"])
        values["birth_date"] = date(int(birth[0:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError as exc:
        raise tlv.TlvError("birth date is not YYYYMMDD") from exc
    nik = str(values["nik"])
    if len(nik) != 16 or not nik.isdigit():
        raise CardUnreadable("DG1 NIK is not 16 digits")
    if values["sex"] not in ("L", "P"):
        raise CardUnreadable("DG1 sex is neither L nor P")
    return values


def is_expired(valid_until: str, today: date) -> bool:
    """True when `valid_until` is a date (YYYY-MM-DD or DD-MM-YYYY) before `today`."""
    text = valid_until.strip().upper()
    if not text or text == LIFETIME:
        return False
    try:
        if len(text) == 10 and text[4] == "-":
            until = date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
        elif len(text) == 10 and text[2] == "-":
            until = date(int(text[6:10]), int(text[3:5]), int(text[0:2]))
        else:
            return False
    except ValueError:
        return False
    return until < today


def encode_photo(jpeg: bytes) -> bytes:
    """Encode EF.DG2."""
    return tlv.encode(TAG_DG2, [tlv.encode(TAG_JPEG, jpeg)])


def encode_signature(png: bytes) -> bytes:
    """Encode EF.DG3."""
    return tlv.encode(TAG_DG3, [tlv.encode(TAG_PNG, png)])


def encode_minutiae_file(fingers: dict[int, bytes]) -> bytes:
    """Encode EF.DG4 from finger code -> packed minutiae."""
    return tlv.encode(
        TAG_DG4,
        [
            tlv.encode(
                TAG_FINGER,
                [tlv.encode(TAG_FINGER_CODE, bytes([code])), tlv.encode(TAG_FINGER_MINUTIAE, raw)],
            )
            for code, raw in fingers.items()
        ],
    )


def encode_fci(serial: bytes) -> bytes:
    """Encode the FCI returned by SELECT AID."""
    return tlv.encode(
        TAG_FCI,
        [tlv.encode(0x84, AID), tlv.encode(TAG_FCI_PROPRIETARY, [tlv.encode(0xC0, serial)])],
    )


def _single(raw: bytes, outer: int, inner: int) -> bytes:
    """Return the value of `inner` inside the one `outer` object in `raw`."""
    item = tlv.parse_one(raw)
    if item.tag != outer:
        raise tlv.TlvError(f"expected tag {outer:X}, found {item.tag:X}")
    return item.require(inner).value


class ReferenceProfile:
    """Reads the reference e-KTP: SELECT, SAM mutual authentication, then DG1-DG4."""

    name = "reference"
    needs_sam = True

    def __init__(self, today: date | None = None) -> None:
        """`today` pins the expiry check (tests); None means the real date."""
        self._today = today

    def read(self, card: Iso7816, sam: SamAuthenticator | None) -> CardData:
        """Authenticate and read every data group; minutiae stay in the returned matcher."""
        uid = _uid(card)
        fci = tlv.parse_one(card.select_aid(AID))
        serial = fci.require(TAG_FCI_PROPRIETARY).require(TAG_CARD_SERIAL).value
        if sam is None:
            raise SamMissing("reference profile needs a SAM and none is available")
        challenge = card.send(bytes([0x00, 0x84, 0x00, 0x00, CHALLENGE_SIZE]), "GET CHALLENGE")
        if len(challenge) != CHALLENGE_SIZE:
            raise CardUnreadable(f"challenge of {len(challenge)} bytes")
        answer = sam.authenticate(serial, challenge)
        apdu = bytes([0x00, 0x82, 0x00, 0x00, len(answer)]) + answer + bytes([CRYPTOGRAM_SIZE])
        try:
            proof = card.send(apdu, "MUTUAL AUTHENTICATE")
        except WarningStatus as exc:  # 6300: the chip does not trust our SAM (or is forged)
            raise CardNotAuthentic(f"chip rejected the SAM's cryptogram: {exc}") from exc
        sam.verify(proof)

        values = decode_demographics(card.read_tlv_file(EF_DEMOGRAPHICS))
        if is_expired(str(values["valid_until"]), self._today or date.today()):
            raise CardExpired(f"card valid until {values['valid_until']}")
        photo = _single(card.read_tlv_file(EF_PHOTO), TAG_DG2, TAG_JPEG)
        if photo[:2] != b"\xff\xd8" or photo[-2:] != b"\xff\xd9":
            raise CardUnreadable(f"DG2 photo is not a whole JPEG ({len(photo)} bytes)")
        signature = _single(card.read_tlv_file(EF_SIGNATURE), TAG_DG3, TAG_PNG)
        dg4 = tlv.parse_one(card.read_tlv_file(EF_MINUTIAE))
        fingers: dict[int, bytes] = {}
        for finger in dg4.children:
            if finger.tag == TAG_FINGER:
                code = finger.require(TAG_FINGER_CODE).value
                fingers[code[0] if code else 0] = finger.require(TAG_FINGER_MINUTIAE).value
        try:
            matcher = FingerprintMatcher(fingers)
        except ValueError as exc:
            raise tlv.TlvError(str(exc)) from exc
        identity = Identity(photo_jpeg=photo, **values)
        return CardData(uid=uid, identity=identity, signature_png=signature, fingerprints=matcher)


def _uid(card: Iso7816) -> str:
    """Return the UID in hex, or '' when the reader does not answer GET DATA."""
    try:
        return card.get_data_uid().hex().upper()
    except StatusWordError:
        return ""
