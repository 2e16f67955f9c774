"""Akta kelahiran (birth certificate) pre-application: the fields of form F-2.01 and their rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from kiosk_app.domain.dates import day_name as day_name  # re-exported for the review screen
from kiosk_app.domain.dates import long_date
from kiosk_app.domain.formkit import (
    CITIZENSHIP,
    KK_HINT,
    SEX,
    address_of,
    age_on,
    check_address,
    check_choice,
    check_kk,
    check_name,
    check_nik,
    check_past_date,
    check_time,
    clean_values,
    holder_sex,
    make_field,
    parse_date,
)
from kiosk_app.domain.formkit import MSG as FORM_MSG
from kiosk_app.domain.forms import (
    Choice,
    FieldKind,
    FieldSpec,
    FormPage,
    FormSpec,
    ValidationResult,
)
from kiosk_app.domain.identity import Identity, mask_nik
from kiosk_app.domain.nik import parse_nik
from kiosk_app.domain.occupations import occupation_field
from kiosk_app.domain.text import Language, Text

T = Text
_CITIZENSHIP = CITIZENSHIP
_PLACE_TYPES = (
    Choice("rs_rb", T("Rumah sakit / rumah bersalin", "Hospital / maternity clinic")),
    Choice("puskesmas", T("Puskesmas", "Community health centre")),
    Choice("polindes", T("Polindes (pondok bersalin desa)", "Village maternity post")),
    Choice("rumah", T("Rumah", "Home")),
    Choice("lainnya", T("Lainnya", "Other")),
)
_BIRTH_TYPES = (
    Choice("tunggal", T("Tunggal", "Single")),
    Choice("kembar_2", T("Kembar 2", "Twins")),
    Choice("kembar_3", T("Kembar 3", "Triplets")),
    Choice("kembar_4", T("Kembar 4", "Quadruplets")),
    Choice("lainnya", T("Lainnya", "Other")),
)
_ATTENDANTS = (
    Choice("dokter", T("Dokter", "Doctor")),
    Choice("bidan_perawat", T("Bidan/Perawat", "Midwife/Nurse")),
    Choice("dukun", T("Dukun", "Traditional birth attendant")),
    Choice("lainnya", T("Lainnya", "Other")),
)
_ORDERS = tuple(Choice(str(n), T(str(n), str(n))) for n in range(1, 21))  # one touch, not a pad
K = FieldKind
_f = make_field


def _parent(who: str, id_: str, en: str) -> tuple[FieldSpec, ...]:
    return (
        _f(f"{who}_nik", f"NIK {id_}", f"{en}'s NIK", K.DIGITS),
        _f(f"{who}_name", f"Nama lengkap {id_}", f"{en}'s full name", K.TEXT),
        _f(f"{who}_birth_date", f"Tanggal lahir {id_}", f"{en}'s date of birth", K.DATE),
        occupation_field(f"{who}_occupation", f"Pekerjaan {id_}", f"{en}'s occupation"),
        _f(f"{who}_address", f"Alamat {id_}", f"{en}'s address", K.TEXT, max_length=150),
        _f(
            f"{who}_citizenship",
            f"Kewarganegaraan {id_}",
            f"{en}'s citizenship",
            K.CHOICE,
            choices=_CITIZENSHIP,
        ),
    )


_KELUARGA = (
    _f("kk_head_name", "Nama kepala keluarga", "Name of the head of the family", K.TEXT),
    _f("kk_number", "Nomor Kartu Keluarga (KK)", "Family card (KK) number", K.DIGITS, hint=KK_HINT),
)
_ANAK_1 = (
    _f("child_name", "Nama lengkap anak", "Child's full name", K.TEXT),
    _f("child_sex", "Jenis kelamin anak", "Child's sex", K.CHOICE, choices=SEX),
    _f("birth_place_type", "Tempat dilahirkan", "Place of birth", K.CHOICE, choices=_PLACE_TYPES),
    _f("birth_place_town", "Kota/kabupaten tempat lahir", "Town/city of birth", K.TEXT),
)
_ANAK_2 = (
    _f("child_birth_date", "Tanggal lahir anak", "Child's date of birth", K.DATE),
    _f("child_birth_time", "Pukul lahir", "Time of birth", K.TIME),
    _f("birth_type", "Jenis kelahiran", "Type of birth", K.CHOICE, choices=_BIRTH_TYPES),
    _f(
        "birth_order",
        "Kelahiran anak ke-",
        "Birth order (child number)",
        K.CHOICE,
        choices=_ORDERS,
        max_length=2,
    ),
    _f("birth_attendant", "Penolong kelahiran", "Birth attendant", K.CHOICE, choices=_ATTENDANTS),
)
_KG, _CM = T("Contoh 3,2", "E.g. 3.2"), T("Contoh 49", "E.g. 49")
_ANAK_3 = (
    _f("child_weight_kg", "Berat bayi (kg)", "Weight (kg)", K.NUMBER, max_length=6, hint=_KG),
    _f("child_length_cm", "Panjang bayi (cm)", "Length (cm)", K.NUMBER, max_length=6, hint=_CM),
)
_MOTHER = _parent("mother", "ibu", "Mother")
_FATHER = _parent("father", "ayah", "Father")
_MARRIAGE = _f(
    "marriage_date",
    "Tanggal pencatatan perkawinan",
    "Date the marriage was registered",
    K.DATE,
    required=False,
    hint=T("Lihat buku nikah (kosongkan bila tidak ada)", "See the marriage book (or leave empty)"),
)
_SAKSI = (
    _f("witness1_nik", "NIK saksi 1", "Witness 1 NIK", K.DIGITS),
    _f("witness1_name", "Nama saksi 1", "Witness 1 name", K.TEXT),
    _f("witness2_nik", "NIK saksi 2", "Witness 2 NIK", K.DIGITS),
    _f("witness2_name", "Nama saksi 2", "Witness 2 name", K.TEXT),
)

PAGES: tuple[FormPage, ...] = (
    FormPage("keluarga", T("Data keluarga", "Family card"), _KELUARGA),
    FormPage("anak_1", T("Data anak (1)", "The child (1)"), _ANAK_1),
    FormPage("anak_2", T("Data anak (2)", "The child (2)"), _ANAK_2),
    FormPage("anak_3", T("Data anak (3)", "The child (3)"), _ANAK_3),
    FormPage("ibu_1", T("Data ibu (1)", "The mother (1)"), _MOTHER[:3]),
    FormPage("ibu_2", T("Data ibu (2)", "The mother (2)"), _MOTHER[3:]),
    FormPage("ayah_1", T("Data ayah (1)", "The father (1)"), _FATHER[:3]),
    FormPage("ayah_2", T("Data ayah (2)", "The father (2)"), _FATHER[3:] + (_MARRIAGE,)),
    FormPage("saksi", T("Saksi", "Witnesses"), _SAKSI),
)

FIELDS: dict[str, FieldSpec] = {f.name: f for page in PAGES for f in page.fields}
NAME_FIELDS = tuple(name for name in FIELDS if name.endswith("_name"))
NIK_FIELDS = ("mother_nik", "father_nik", "witness1_nik", "witness2_nik")
PLACE_FIELDS = ("birth_place_town", "mother_occupation", "father_occupation")

MSG = {
    **FORM_MSG,
    "text": T("Isi dengan huruf, 2 sampai {n} huruf.", "Use letters, 2 to {n} characters."),
    "weight": T(
        "Berat bayi harus antara 0,3 dan 8 kg, contoh 3,2.",
        "The weight must be between 0.3 and 8 kg, e.g. 3.2.",
    ),
    "length": T(
        "Panjang bayi harus antara 20 dan 70 cm, contoh 49.",
        "The length must be between 20 and 70 cm, e.g. 49.",
    ),
    "order": T(
        "Isi angka 1 sampai 20 (anak pertama = 1).",
        "Enter a number from 1 to 20 (first child = 1).",
    ),
    "mother_nik_sex": T(
        "Ini bukan NIK perempuan. Periksa lagi NIK ibu.",
        "This is not a woman's NIK. Check the mother's NIK again.",
    ),
    "father_nik_sex": T(
        "Ini bukan NIK laki-laki. Periksa lagi NIK ayah.",
        "This is not a man's NIK. Check the father's NIK again.",
    ),
    "parent_after_child": T(
        "Tanggal lahir {who} harus sebelum tanggal lahir anak.",
        "The {who_en}'s date of birth must be before the child's.",
    ),
    "parent_too_young": T(
        "{Who} harus paling sedikit 10 tahun lebih tua dari anak.",
        "The {who_en} must be at least 10 years older than the child.",
    ),
    "same_witness": T(
        "Saksi 2 harus orang lain, bukan saksi 1.",
        "Witness 2 must be a different person from witness 1.",
    ),
    "witness_is_child": T(
        "Saksi tidak boleh anak itu sendiri.", "The witness cannot be the child."
    ),
}

_TEXT_RE = re.compile(r"[\w .,'()/&\-]+")
_DECIMAL_RE = re.compile(r"(\d{1,3})(?:[.,](\d{1,3}))?")


def parse_decimal(value: str) -> float | None:
    """Parse "3,2" or "3.2" (comma or point as decimal separator), else None."""
    m = _DECIMAL_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None:
        return None
    return float(f"{m[1]}.{m[2] or 0}")


def _check_field(spec: FieldSpec, value: str, today: date) -> Text | None:
    """The first problem with one field on its own, or None."""
    name = spec.name
    if spec.kind is FieldKind.TEXT and spec.max_length and len(value) > spec.max_length:
        return MSG["too_long"].format(n=spec.max_length)
    if name == "birth_order":
        ok = len(value) <= 2 and value.isascii() and value.isdigit() and 1 <= int(value) <= 20
        return None if ok else MSG["order"]
    if spec.kind is FieldKind.CHOICE:
        return check_choice(spec, value, today)
    if name in NAME_FIELDS:
        return check_name(spec, value, today)
    if name in PLACE_FIELDS:
        ok = len(value) >= 2 and _TEXT_RE.fullmatch(value) is not None
        return None if ok and any(c.isalpha() for c in value) else MSG["text"].format(n=60)
    if name.endswith("_address"):
        return check_address(spec, value, today)
    if name == "kk_number":
        return check_kk(spec, value, today)
    if name in NIK_FIELDS:
        problem = check_nik(spec, value, today)
        if problem is not None:
            return problem
        parts = parse_nik(value, today)
        if name == "mother_nik" and parts is not None and parts.sex != "P":
            return MSG["mother_nik_sex"]
        if name == "father_nik" and parts is not None and parts.sex != "L":
            return MSG["father_nik_sex"]
        return None
    if spec.kind is FieldKind.DATE:
        return check_past_date(spec, value, today)
    if name == "child_birth_time":
        return check_time(spec, value, today)
    if name in ("child_weight_kg", "child_length_cm"):
        low, high, key = (0.3, 8.0, "weight") if name == "child_weight_kg" else (20, 70, "length")
        number = parse_decimal(value)
        return None if number is not None and low <= number <= high else MSG[key]
    return None


def _cross_checks(values: dict[str, str], errors: dict[str, Text]) -> None:
    """Rules between fields; only fields that passed their own checks are compared."""
    child = parse_date(values["child_birth_date"]) if "child_birth_date" not in errors else None
    for who, id_, en in (("mother", "ibu", "mother"), ("father", "ayah", "father")):
        key = f"{who}_birth_date"
        parent = parse_date(values[key]) if key not in errors else None
        if child is None or parent is None:
            continue
        if parent >= child:
            errors[key] = MSG["parent_after_child"].format(who=id_, who_en=en)
        elif age_on(parent, child) < 10:
            errors[key] = MSG["parent_too_young"].format(Who=id_.capitalize(), who_en=en)
    n1, n2 = values["witness1_nik"], values["witness2_nik"]
    if n1 and n1 == n2 and "witness1_nik" not in errors and "witness2_nik" not in errors:
        errors["witness2_nik"] = MSG["same_witness"]
    child_name = " ".join(values["child_name"].casefold().split())
    for key in ("witness1_name", "witness2_name"):
        witness = " ".join(values[key].casefold().split())
        if child_name and witness == child_name and key not in errors:
            errors[key] = MSG["witness_is_child"]


def validate(values: Mapping[str, str], today: date | None = None) -> ValidationResult:
    """Check every field and the rules between them; never raises, one message per field."""
    today = today or date.today()
    clean = clean_values(values, FIELDS)
    errors: dict[str, Text] = {}
    for name, spec in FIELDS.items():
        value = clean[name]
        if not value:
            if spec.required:
                errors[name] = MSG["required"]
            continue
        problem = _check_field(spec, value, today)
        if problem is not None:
            errors[name] = problem
    _cross_checks(clean, errors)
    return ValidationResult(errors)


def prefill(identity: Identity) -> dict[str, str]:
    """The card holder reports the birth: fill the father's (man) or mother's (woman) fields."""
    sex = holder_sex(identity)
    if not sex:
        return {}
    who = "father" if sex == "L" else "mother"
    citizenship = identity.citizenship.strip().lower()
    values = {
        f"{who}_nik": identity.nik.strip(),
        f"{who}_name": identity.name.strip(),
        f"{who}_birth_date": identity.birth_date.isoformat() if identity.nik else "",
        f"{who}_occupation": identity.occupation.strip(),
        f"{who}_address": address_of(identity, FIELDS[f"{who}_address"].max_length or 150),
        f"{who}_citizenship": citizenship if citizenship in ("wni", "wna") else "",
    }
    return {k: v for k, v in values.items() if v}


def _display(spec: FieldSpec, value: str, lang: Language, mask: bool) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        return "-"
    if spec.kind is FieldKind.CHOICE:
        for choice in spec.choices:
            if choice.key == value:
                return choice.label(lang)
        return value
    if spec.kind is FieldKind.DATE:
        day = parse_date(value)
        return long_date(day, lang) if day else value  # one format everywhere
    if spec.kind is FieldKind.DIGITS and mask:
        return mask_nik(value)
    if spec.name in ("child_weight_kg", "child_length_cm"):
        number = parse_decimal(value)
        if number is None:
            return value
        shown = f"{number:g}"
        shown = shown.replace(".", ",") if lang == "id" else shown
        return f"{shown} {'kg' if spec.name == 'child_weight_kg' else 'cm'}"
    return value


def summary(
    values: Mapping[str, str], lang: Language, *, mask: bool = False
) -> list[tuple[str, str]]:
    """(label, display value) rows for the review screen and receipt; `mask` hides NIK/KK."""
    rows: list[tuple[str, str]] = []
    for name, spec in FIELDS.items():
        raw = values.get(name, "") if isinstance(values, Mapping) else ""
        rows.append((spec.label(lang), _display(spec, raw, lang, mask)))
        if name == "child_birth_date":
            day = parse_date(raw)
            label = T("Hari lahir", "Day of birth")(lang)
            rows.append((label, day_name(day)(lang) if day else "-"))
    return rows


AKTA_KELAHIRAN = FormSpec(
    service="akta_kelahiran",
    title=T("Akta Kelahiran", "Birth certificate"),
    pages=PAGES,
    check=validate,
)
