"""Building blocks of the service forms: field builders, per-field checks, variants, summaries."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from kiosk_app.domain.dates import long_date
from kiosk_app.domain.forms import (
    Choice,
    FieldKind,
    FieldSpec,
    FormPage,
    FormSpec,
    ValidationResult,
)
from kiosk_app.domain.identity import Identity, mask_nik
from kiosk_app.domain.nik import normalize_sex, parse_nik, validate_nik
from kiosk_app.domain.region_search import CODE_LENGTHS
from kiosk_app.domain.regions import is_known_province
from kiosk_app.domain.text import Language, Text

T = Text
K = FieldKind
Check = Callable[[FieldSpec, str, date], Text | None]

NIK_HINT = T("16 angka, lihat e-KTP atau KK", "16 digits, see the e-KTP or family card")
KK_HINT = T("16 angka di bagian atas KK", "16 digits at the top of the family card")
DATE_HINT = T("Tanggal-bulan-tahun", "Day-month-year")
TIME_HINT = T("Pilih jamnya, lalu menitnya", "Pick the hour, then the minutes")
REGION_HINT = T("Ketik nama wilayah, lalu pilih", "Type the area's name, then pick it")
_DEFAULT_LIMITS = {K.DIGITS: 16, K.NUMBER: 3, K.DATE: 10, K.TIME: 5, K.REGION: 10}
_DEFAULT_HINTS = {K.DIGITS: NIK_HINT, K.DATE: DATE_HINT, K.TIME: TIME_HINT, K.REGION: REGION_HINT}
REGION_DIGITS = CODE_LENGTHS  # digits of a region code by level

SEX = (Choice("L", T("Laki-laki", "Male")), Choice("P", T("Perempuan", "Female")))
YES = (Choice("ya", T("Ya", "Yes")),)
CITIZENSHIP = (
    Choice("wni", T("WNI (Warga Negara Indonesia)", "Indonesian citizen")),
    Choice("wna", T("WNA (Warga Negara Asing)", "Foreign citizen")),
)

MSG: dict[str, Text] = {
    "required": T("Wajib diisi.", "Please fill this in."),
    "too_long": T("Terlalu panjang: paling banyak {n} huruf.", "Too long: at most {n} characters."),
    "name": T(
        "Gunakan huruf saja (boleh spasi dan tanda ' . , -), 2 sampai 60 huruf.",
        "Use letters only (spaces and ' . , - are allowed), 2 to 60 characters.",
    ),
    "address": T(
        "Tulis alamat lengkap (5 sampai 150 huruf/angka).",
        "Write the full address (5 to 150 letters/digits).",
    ),
    "choice": T("Pilih salah satu pilihan yang ada.", "Choose one of the options shown."),
    "date": T(
        "Tanggal tidak ada di kalender. Periksa tanggal, bulan dan tahun.",
        "That date does not exist. Check the day, month and year.",
    ),
    "future": T("Tanggal tidak boleh setelah hari ini.", "The date cannot be after today."),
    "before_1900": T("Tahun harus 1900 atau sesudahnya.", "The year must be 1900 or later."),
    "time": T(
        "Tulis jam lahir seperti 14:30 (jam 00-23, menit 00-59).",
        "Write the time like 14:30 (hours 00-23, minutes 00-59).",
    ),
    "kk": T("Nomor KK harus 16 angka.", "The family card number must be 16 digits."),
    "kk_region": T(
        "Enam angka pertama nomor KK bukan kode wilayah yang benar.",
        "The first six digits of the family card number are not a valid region code.",
    ),
    "required_for": T(
        "Wajib diisi untuk pilihan \u201c{what}\u201d.",
        "Please fill this in for \u201c{what_en}\u201d.",
    ),
    "region": T(
        "Pilih wilayah dari daftar (kode {n} angka).",
        "Pick the area from the list ({n}-digit code).",
    ),
    "region_province": T(
        "Kode wilayah ini tidak dimulai dengan kode provinsi yang benar. Pilih lagi dari daftar.",
        "This area code does not start with a real province code. Pick it again from the list.",
    ),
    "nik_sex_mismatch": T(
        "Jenis kelamin tidak sama dengan yang tertulis di NIK. Periksa lagi.",
        "The sex does not match the one coded in the NIK. Check again.",
    ),
    "nik_birth_mismatch": T(
        "Tanggal lahir tidak sama dengan yang tertulis di NIK. Periksa lagi.",
        "The date of birth does not match the one coded in the NIK. Check again.",
    ),
    "same_person": T(
        "Orang ini sudah disebut di isian lain. Isi dengan orang yang berbeda.",
        "This person is already named in another field. Enter a different person.",
    ),
    "number_range": T("Isi angka {low} sampai {high}.", "Enter a number from {low} to {high}."),
    "free_text": T(
        "Tulis dengan huruf atau angka, 2 sampai {n} huruf.",
        "Use letters or digits, 2 to {n} characters.",
    ),
    "doc_number": T(
        "Tulis nomor seperti tertulis di surat (3 sampai {n} huruf/angka).",
        "Write the number as printed on the letter (3 to {n} letters/digits).",
    ),
}

_NAME_PUNCTUATION = frozenset(" '.,-")
_TEXT_RE = re.compile(r"[\w .,'()/&\-]+")
_DOC_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./\-]*")
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME_RE = re.compile(r"(\d{2}):(\d{2})")


def parse_date(value: str) -> date | None:
    """Parse "YYYY-MM-DD" into a real date, else None."""
    m = _DATE_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def make_field(
    name: str,
    id_: str,
    en: str,
    kind: FieldKind,
    *,
    required: bool = True,
    choices: tuple[Choice, ...] = (),
    max_length: int | None = None,
    hint: Text | None = None,
    region_level: int = 4,
) -> FieldSpec:
    """A FieldSpec with the kiosk's default length limits and hints for its kind."""
    if kind is K.REGION and max_length is None:
        max_length = REGION_DIGITS[region_level]
    limit = max_length if max_length is not None else _DEFAULT_LIMITS.get(kind, 60)
    hint = hint if hint is not None else _DEFAULT_HINTS.get(kind)
    return FieldSpec(name, T(id_, en), kind, required, choices, limit, hint, region_level)


# -- checks of one value on its own (value is stripped and not empty) ---------------------------
def check_name(spec: FieldSpec, value: str, today: date) -> Text | None:
    """A person's name: letters, spaces and ' . , - ; 2 to 60 characters."""
    ok = (
        2 <= len(value) <= 60
        and value[0].isalpha()
        and all(c.isalpha() or c in _NAME_PUNCTUATION for c in value)
    )
    return None if ok else MSG["name"]


def check_text(spec: FieldSpec, value: str, today: date) -> Text | None:
    """Short free text with at least one letter (a place, an occupation, a cause)."""
    limit = spec.max_length or 60
    if len(value) > limit:
        return MSG["too_long"].format(n=limit)
    ok = len(value) >= 2 and _TEXT_RE.fullmatch(value) is not None
    return None if ok and any(c.isalnum() for c in value) else MSG["free_text"].format(n=limit)


def check_address(spec: FieldSpec, value: str, today: date) -> Text | None:
    """A street address: 5 to 150 printable characters with letters or digits."""
    limit = spec.max_length or 150
    if len(value) > limit:
        return MSG["too_long"].format(n=limit)
    ok = len(value) >= 5 and value.isprintable() and any(c.isalnum() for c in value)
    return None if ok else MSG["address"]


def check_doc_number(spec: FieldSpec, value: str, today: date) -> Text | None:
    """A number printed on a letter (police report, moving letter): letters, digits, . / -."""
    limit = spec.max_length or 40
    ok = 3 <= len(value) <= limit and value.isascii() and _DOC_RE.fullmatch(value) is not None
    return None if ok and any(c.isdigit() for c in value) else MSG["doc_number"].format(n=limit)


def check_nik(spec: FieldSpec, value: str, today: date) -> Text | None:
    """A NIK: 16 digits, known province, a real coded birth date (nik.validate_nik)."""
    problems = validate_nik(value, today=today)
    return problems[0] if problems else None


def check_kk(spec: FieldSpec, value: str, today: date) -> Text | None:
    """A family card number: 16 digits starting with a real region code."""
    if len(value) != 16 or not all(c in "0123456789" for c in value):
        return MSG["kk"]
    ok = is_known_province(value[:2]) and value[2:4] != "00" and value[4:6] != "00"
    return None if ok else MSG["kk_region"]


def check_past_date(spec: FieldSpec, value: str, today: date) -> Text | None:
    """A real date, not after today, not before 1900."""
    day = parse_date(value)
    if day is None:
        return MSG["date"]
    if day > today:
        return MSG["future"]
    return MSG["before_1900"] if day.year < 1900 else None


def check_any_date(spec: FieldSpec, value: str, today: date) -> Text | None:
    """A real date from 1900 on (it may lie in the future)."""
    day = parse_date(value)
    if day is None:
        return MSG["date"]
    return MSG["before_1900"] if day.year < 1900 else None


def check_time(spec: FieldSpec, value: str, today: date) -> Text | None:
    """A time of day HH:MM."""
    m = _TIME_RE.fullmatch(value)
    return None if m and int(m[1]) < 24 and int(m[2]) < 60 else MSG["time"]


def check_choice(spec: FieldSpec, value: str, today: date) -> Text | None:
    """One of the field's choices."""
    return None if value in {c.key for c in spec.choices} else MSG["choice"]


def check_region(spec: FieldSpec, value: str, today: date) -> Text | None:
    """A Kemendagri code of the field's level (digits only); level 2+ under a known province."""
    digits = REGION_DIGITS.get(spec.region_level, 10)
    if len(value) != digits or not all(c in "0123456789" for c in value):
        return MSG["region"].format(n=digits)
    if spec.region_level >= 2 and not is_known_province(value[:2]):
        return MSG["region_province"]
    return None


def number_between(low: int, high: int) -> Check:
    """A whole number from `low` to `high`."""

    def check(spec: FieldSpec, value: str, today: date) -> Text | None:
        ok = len(value) <= 3 and value.isascii() and value.isdigit() and low <= int(value) <= high
        return None if ok else MSG["number_range"].format(low=low, high=high)

    return check


DEFAULT_CHECKS: dict[FieldKind, Check] = {
    K.TEXT: check_text,
    K.DIGITS: check_nik,
    K.NUMBER: number_between(1, 20),
    K.DATE: check_past_date,
    K.TIME: check_time,
    K.CHOICE: check_choice,
    K.REGION: check_region,
    K.LIST: check_text,
}


def age_on(born: date, day: date) -> int:
    """Whole years between `born` and `day`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def nik_matches(
    values: Mapping[str, str],
    errors: dict[str, Text],
    nik_key: str,
    *,
    sex_key: str = "",
    birth_key: str = "",
    today: date,
) -> None:
    """The sex and birth date fields must agree with what the (valid) NIK codes."""
    if nik_key in errors or not values.get(nik_key):
        return
    parts = parse_nik(values[nik_key], today)
    if parts is None:
        return
    if sex_key and values.get(sex_key) and sex_key not in errors and values[sex_key] != parts.sex:
        errors[sex_key] = MSG["nik_sex_mismatch"]
    born = parse_date(values.get(birth_key, "")) if birth_key and birth_key not in errors else None
    if born is not None and born != parts.birth_date:
        errors[birth_key] = MSG["nik_birth_mismatch"]


def distinct_niks(
    values: Mapping[str, str], errors: dict[str, Text], keys: tuple[str, ...]
) -> None:
    """Each valid NIK among `keys` names a different person (later duplicates get the message)."""
    seen: set[str] = set()
    for key in keys:
        nik = values.get(key, "")
        if not nik or key in errors:
            continue
        if nik in seen:
            errors[key] = MSG["same_person"]
        seen.add(nik)


# -- a whole form: its fields, checks, variants and rules between fields -----------------------
Cross = Callable[[Mapping[str, str], dict[str, Text], date], None]


@dataclass(frozen=True)
class Variant:
    """A choice on the first page that decides which other fields apply and are required."""

    label: Text
    fields: frozenset[str]  # fields that apply only under this variant
    required: frozenset[str]  # of those, the ones the citizen must fill


@dataclass(frozen=True)
class FormRules:
    """Everything `validate` needs: the pages, per-field checks, variants and cross rules."""

    pages: tuple[FormPage, ...]
    checks: Mapping[str, Check] = field(default_factory=dict)
    variant_field: str = ""
    variants: Mapping[str, Variant] = field(default_factory=dict)
    cross: Cross | None = None
    # Fields that do not apply for the values given, beyond the variants: the rows of a list
    # the citizen sized (e.g. the members who move), so the form shows only those rows.
    hide: Callable[[Mapping[str, str]], frozenset[str]] | None = None

    @cached_property
    def fields(self) -> dict[str, FieldSpec]:
        """Every field by name, in page order (built once: the pages never change)."""
        return {f.name: f for page in self.pages for f in page.fields}

    def form(self, service: str, title: Text) -> FormSpec:
        """The FormSpec the kiosk renders (and the central server checks with)."""
        return FormSpec(service=service, title=title, pages=self.pages, check=self.validate)

    def applicable(self, values: Mapping[str, str]) -> frozenset[str]:
        """The fields that apply to the chosen variant (all common fields, none of the others)."""
        chosen = self.variants.get(_get(values, self.variant_field))
        variant_only = {n for v in self.variants.values() for n in v.fields}
        own = chosen.fields if chosen else frozenset()
        hidden = self.hidden(values)
        return frozenset(
            n for n in self.fields if (n not in variant_only or n in own) and n not in hidden
        )

    def hidden(self, values: Mapping[str, str]) -> frozenset[str]:
        """The list rows the values leave out (see `hide`)."""
        return self.hide(values) if self.hide is not None else frozenset()

    def required(self, values: Mapping[str, str]) -> frozenset[str]:
        """The fields the citizen must fill with the values given so far."""
        chosen = self.variants.get(_get(values, self.variant_field))
        extra = chosen.required if chosen else frozenset()
        applicable = self.applicable(values)
        return frozenset(
            n
            for n, spec in self.fields.items()
            if n in applicable and (spec.required or n in extra)
        )

    def validate(self, values: Mapping[str, str], today: date) -> ValidationResult:
        """One message per field: required ones filled, each value well-formed, then cross rules."""
        clean = clean_values(values, self.fields)
        applicable, required = self.applicable(clean), self.required(clean)
        chosen = self.variants.get(clean.get(self.variant_field, ""))
        errors: dict[str, Text] = {}
        for name, spec in self.fields.items():
            value = clean[name]
            if name not in applicable:
                continue
            if not value:
                if name in required:
                    own = chosen is not None and name in chosen.required and not spec.required
                    errors[name] = (
                        MSG["required_for"].format(what=chosen.label.id, what_en=chosen.label.en)
                        if own and chosen is not None
                        else MSG["required"]
                    )
                continue
            check = self.checks.get(name) or DEFAULT_CHECKS[spec.kind]
            problem = check(spec, value, today)
            if problem is not None:
                errors[name] = problem
        if self.cross is not None:
            view = {k: (v if k in applicable else "") for k, v in clean.items()}
            self.cross(view, errors, today)
        return ValidationResult(errors)


def _get(values: Mapping[str, str], key: str) -> str:
    raw = values.get(key, "") if key and isinstance(values, Mapping) else ""
    return raw.strip() if isinstance(raw, str) else ""


def clean_values(values: Mapping[str, str], names: Collection[str]) -> dict[str, str]:
    """Every name mapped to its stripped string value ("" for missing or non-string)."""
    return {name: _get(values, name) for name in names}


# -- prefill and summaries --------------------------------------------------------------------
def address_of(identity: Identity, limit: int = 150) -> str:
    """The card's address on one line, dropping the widest areas first when too long."""
    rt_rw = identity.rt_rw.strip()
    street = identity.address.strip()
    street = f"{street} RT/RW {rt_rw}".strip() if rt_rw else street
    area = (identity.kelurahan_desa, identity.kecamatan, identity.kabupaten_kota, identity.province)
    parts = [p for p in (street, *(a.strip() for a in area)) if p]
    while len(", ".join(parts)) > limit and len(parts) > 1:
        parts.pop()
    return ", ".join(parts)[:limit]


def from_nik(names: Collection[str], name: str, value: str) -> dict[str, str]:
    """What a NIK typed into `name` ("<who>_nik") tells of the same person's fields among
    `names`: "<who>_sex" and "<who>_birth_date" (the NIK codes both; the rules check them)."""
    if not name.endswith("_nik"):
        return {}
    parts = parse_nik(value.strip())
    if parts is None:
        return {}
    who = name[: -len("_nik")]
    derived = {f"{who}_sex": parts.sex, f"{who}_birth_date": parts.birth_date.isoformat()}
    return {key: v for key, v in derived.items() if key in names}


def holder_citizenship(identity: Identity) -> str:
    """ "wni" or "wna" from the card, else ""."""
    citizenship = identity.citizenship.strip().lower()
    return citizenship if citizenship in ("wni", "wna") else ""


def holder_sex(identity: Identity) -> str:
    """ "L" or "P" from the card, else from the NIK, else ""."""
    sex = normalize_sex(identity.sex)
    if sex is None:
        parts = parse_nik(identity.nik)
        sex = parts.sex if parts is not None else None
    return sex or ""


def display(spec: FieldSpec, value: str, lang: Language, mask: bool) -> str:
    """How a value reads on the review screen and the receipt."""
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        return "-"
    if spec.kind is K.CHOICE:
        return next((c.label(lang) for c in spec.choices if c.key == value), value)
    if spec.kind is K.DATE:
        day = parse_date(value)
        return long_date(day, lang) if day else value  # one format everywhere
    if spec.kind is K.DIGITS and mask and len(value) >= 8:
        return mask_nik(value)
    return value


def summary_rows(
    rules: FormRules, values: Mapping[str, str], lang: Language, mask: bool
) -> list[tuple[str, str]]:
    """(label, value) rows of the fields that apply to the chosen variant, in page order."""
    clean = clean_values(values, rules.fields)
    applicable = rules.applicable(clean)
    return [
        (spec.label(lang), display(spec, clean[name], lang, mask))
        for name, spec in rules.fields.items()
        if name in applicable
    ]


# -- one touch for what the form already holds ------------------------------------------------
# A text field whose answer is often another field's: its editor offers that value with one
# touch (the citizen's choice, never filled unasked). The first source holding a value is offered.
SAME_AS: dict[str, tuple[tuple[str, Text], ...]] = {
    "kk_head_name": (
        ("father_name", T("Sama dengan nama ayah", "Same as the father's name")),
        ("mother_name", T("Sama dengan nama ibu", "Same as the mother's name")),
    ),
    "mother_address": (
        ("father_address", T("Sama dengan alamat ayah", "Same as the father's address")),
    ),
    "father_address": (
        ("mother_address", T("Sama dengan alamat ibu", "Same as the mother's address")),
    ),
}


def same_as(name: str, values: Mapping[str, str]) -> tuple[str, Text] | None:
    """(source field, button label) to copy into `name` with one touch, or None."""
    for source, label in SAME_AS.get(name, ()):
        if str(values.get(source, "")).strip():
            return source, label
    return None
