"""NIK (Nomor Induk Kependudukan) rules: structure, region prefix, coded birth date and sex."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from kiosk_app.domain.regions import is_known_province
from kiosk_app.domain.text import Text

NIK_LENGTH = 16
FEMALE_DAY_OFFSET = 40
_DIGITS = frozenset("0123456789")

MSG_NOT_DIGITS = Text(
    "NIK hanya boleh berisi angka 0-9.",
    "The NIK may contain only the digits 0-9.",
)
MSG_LENGTH = Text(
    "NIK harus tepat 16 angka (yang diisi: {count} angka).",
    "The NIK must be exactly 16 digits (entered: {count}).",
)
MSG_PROVINCE = Text(
    "Dua angka pertama NIK ({code}) bukan kode provinsi yang dikenal.",
    "The first two digits of the NIK ({code}) are not a known province code.",
)
MSG_REGENCY = Text(
    "Angka ke-3 dan ke-4 NIK (kode kabupaten/kota) tidak boleh 00.",
    "Digits 3-4 of the NIK (the regency/city code) cannot be 00.",
)
MSG_DISTRICT = Text(
    "Angka ke-5 dan ke-6 NIK (kode kecamatan) tidak boleh 00.",
    "Digits 5-6 of the NIK (the district code) cannot be 00.",
)
MSG_UNKNOWN_REGION = Text(
    "Kode wilayah NIK ({code}) tidak ditemukan dalam daftar kecamatan.",
    "The NIK's region code ({code}) is not in the list of districts.",
)
MSG_DATE = Text(
    "Angka ke-7 sampai ke-12 NIK harus tanggal lahir: dua angka tanggal, dua angka bulan, "
    "dua angka tahun (untuk perempuan tanggalnya ditambah 40). Periksa kembali NIK ini.",
    "Digits 7-12 of the NIK must be the birth date: two digits each for the day, the month "
    "and the year (for a woman the day plus 40). Please check this NIK again.",
)
MSG_SERIAL = Text(
    "Empat angka terakhir NIK (nomor urut) tidak boleh 0000.",
    "The last four digits of the NIK (the serial number) cannot be 0000.",
)
MSG_BIRTH_DATE = Text(
    "Tanggal lahir dalam NIK tidak sama dengan tanggal lahir di e-KTP.",
    "The birth date in the NIK does not match the birth date on the e-KTP.",
)
MSG_SEX = Text(
    "Jenis kelamin dalam NIK tidak sama dengan jenis kelamin di e-KTP.",
    "The sex coded in the NIK does not match the sex on the e-KTP.",
)
MSG_BIRTH_DATE_AND_SEX = Text(
    "Tanggal lahir dan jenis kelamin dalam NIK tidak sama dengan data di e-KTP.",
    "The birth date and sex coded in the NIK do not match the e-KTP.",
)


@dataclass(frozen=True)
class NikParts:
    """The pieces of a NIK; codes are the two-digit parts as written in the NIK."""

    province: str  # "35"
    regency: str  # "17" (kabupaten/kota within the province)
    district: str  # "01" (kecamatan within the kabupaten/kota)
    birth_date: date
    sex: str  # "L" or "P"
    serial: str  # "0001"

    @property
    def regency_code(self) -> str:
        """Full kabupaten/kota code, e.g. "3517"."""
        return self.province + self.regency

    @property
    def district_code(self) -> str:
        """Full kecamatan code, e.g. "351701"."""
        return self.province + self.regency + self.district


def normalize_sex(sex: str | None) -> str | None:
    """Map "L", "LAKI-LAKI", "P", "PEREMPUAN" (any case) to "L"/"P"; None if unknown."""
    if not isinstance(sex, str):
        return None
    value = sex.strip().upper()
    if value in ("L", "LAKI-LAKI", "LAKI LAKI", "PRIA", "M", "MALE"):
        return "L"
    if value in ("P", "PEREMPUAN", "WANITA", "F", "FEMALE"):
        return "P"
    return None


def _is_digits(value: str) -> bool:
    return bool(value) and all(c in _DIGITS for c in value)


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _decode_date(ddmmyy: str, today: date) -> tuple[date, str] | None:
    """Decode DDMMYY (women +40 on the day) into a date not after `today`, and the sex."""
    day, month, yy = int(ddmmyy[0:2]), int(ddmmyy[2:4]), int(ddmmyy[4:6])
    sex = "L"
    if day > FEMALE_DAY_OFFSET:
        day -= FEMALE_DAY_OFFSET
        sex = "P"
    century = today.year - today.year % 100
    for year in (century + yy, century - 100 + yy):
        found = _real_date(year, month, day)
        if found is not None and found <= today:
            return found, sex
    return None


def parse_nik(nik: str, today: date | None = None) -> NikParts | None:
    """Split a NIK into its parts; None when it is not 16 digits or holds no real date."""
    if not isinstance(nik, str) or len(nik) != NIK_LENGTH or not _is_digits(nik):
        return None
    decoded = _decode_date(nik[6:12], today or date.today())
    if decoded is None:
        return None
    birth_date, sex = decoded
    return NikParts(nik[0:2], nik[2:4], nik[4:6], birth_date, sex, nik[12:16])


def _two_digits(value: str | int, what: str) -> str:
    text = f"{value:02d}" if isinstance(value, int) else str(value)
    if len(text) != 2 or not _is_digits(text):
        raise ValueError(f"{what} must be two digits")
    return text


def make_nik(
    province: str | int,
    regency: str | int,
    district: str | int,
    birth_date: date,
    sex: str,
    serial: str | int,
) -> str:
    """Build a NIK from its parts (for simulators and tests); raises ValueError on bad parts."""
    code = sex if sex in ("L", "P") else normalize_sex(sex)
    if code is None:
        raise ValueError("sex must be L or P")
    serial_text = f"{serial:04d}" if isinstance(serial, int) else str(serial)
    if len(serial_text) != 4 or not _is_digits(serial_text):
        raise ValueError("serial must be four digits")
    day = birth_date.day + (FEMALE_DAY_OFFSET if code == "P" else 0)
    return (
        _two_digits(province, "province")
        + _two_digits(regency, "regency")
        + _two_digits(district, "district")
        + f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"
        + serial_text
    )


def _region_known(known_region: Callable[[str], bool], code: str) -> bool:
    try:
        return bool(known_region(code))
    except Exception:  # a broken lookup must not block the citizen: skip the check
        return True


def validate_nik(
    nik: str,
    *,
    birth_date: date | None = None,
    sex: str | None = None,
    known_region: Callable[[str], bool] | None = None,
    today: date | None = None,
) -> list[Text]:
    """Check a NIK; one bilingual message per defect, empty when valid; never raises.

    `birth_date` and `sex` are the card's own data to compare with; `known_region` is asked
    about the six-digit kecamatan code (e.g. "351701") once the full region tree is loaded.
    """
    if not isinstance(nik, str):
        return [MSG_NOT_DIGITS]
    if not _is_digits(nik):
        return [MSG_NOT_DIGITS] if nik else [MSG_LENGTH.format(count=0)]
    if len(nik) != NIK_LENGTH:
        return [MSG_LENGTH.format(count=len(nik))]
    errors: list[Text] = []
    region_ok = True
    if not is_known_province(nik[0:2]):
        errors.append(MSG_PROVINCE.format(code=nik[0:2]))
        region_ok = False
    if nik[2:4] == "00":
        errors.append(MSG_REGENCY)
        region_ok = False
    if nik[4:6] == "00":
        errors.append(MSG_DISTRICT)
        region_ok = False
    if region_ok and known_region is not None and not _region_known(known_region, nik[0:6]):
        errors.append(MSG_UNKNOWN_REGION.format(code=f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}"))
    parts = parse_nik(nik, today)
    if parts is None:
        errors.append(MSG_DATE)
    else:
        date_bad = birth_date is not None and (
            (parts.birth_date.day, parts.birth_date.month, parts.birth_date.year % 100)
            != (birth_date.day, birth_date.month, birth_date.year % 100)
        )
        card_sex = normalize_sex(sex)
        sex_bad = card_sex is not None and card_sex != parts.sex
        if date_bad and sex_bad:
            errors.append(MSG_BIRTH_DATE_AND_SEX)
        elif date_bad:
            errors.append(MSG_BIRTH_DATE)
        elif sex_bad:
            errors.append(MSG_SEX)
    if nik[12:16] == "0000":
        errors.append(MSG_SERIAL)
    return errors
