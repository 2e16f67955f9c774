"""Kartu Identitas Anak (KIA, the child identity card) pre-application: children under 17."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from kiosk_app.domain.formkit import (
    SEX,
    YES,
    FormRules,
    age_on,
    check_doc_number,
    check_kk,
    check_name,
    holder_sex,
    make_field,
    nik_matches,
    parse_date,
    summary_rows,
)
from kiosk_app.domain.forms import Choice, FieldKind, FormPage, ValidationResult
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.nik import parse_nik
from kiosk_app.domain.text import Language, Text

T = Text
K = FieldKind
f = make_field

KIA_MAX_AGE = 17  # from 17 the child records an e-KTP instead
PHOTO_FROM_AGE = 5  # the KIA of a child aged 5 and over carries a photo
PARENT_ROLES = (
    Choice("ayah", T("Ayah", "Father")),
    Choice("ibu", T("Ibu", "Mother")),
    Choice("wali", T("Wali", "Guardian")),
)

PAGES: tuple[FormPage, ...] = (
    FormPage(
        "anak_1",
        T("Data anak (1)", "The child (1)"),
        (
            f(
                "child_nik",
                "NIK anak",
                "Child's NIK",
                K.DIGITS,
                hint=T(
                    "16 angka, lihat KK atau akta kelahiran",
                    "16 digits, see the family card or birth certificate",
                ),
            ),
            f("child_name", "Nama lengkap anak", "Child's full name", K.TEXT),
            f("child_sex", "Jenis kelamin anak", "Child's sex", K.CHOICE, choices=SEX),
            f("child_birth_date", "Tanggal lahir anak", "Child's date of birth", K.DATE),
        ),
    ),
    FormPage(
        "anak_2",
        T("Data anak (2)", "The child (2)"),
        (
            f("child_birth_place", "Tempat lahir anak", "Child's place of birth", K.TEXT),
            f(
                "birth_certificate_number",
                "Nomor akta kelahiran anak",
                "Number of the child's birth certificate",
                K.TEXT,
                max_length=40,
                hint=T("Contoh 3517-LU-01022020-0001", "E.g. 3517-LU-01022020-0001"),
            ),
            f(
                "kk_number",
                "Nomor KK",
                "Family card (KK) number",
                K.DIGITS,
                hint=T("16 angka di bagian atas KK", "16 digits at the top of the family card"),
            ),
            f(
                "child_photo",
                "Saya akan membawa pas foto anak berwarna 2x3",
                "I will bring a 2x3 colour photo of the child",
                K.CHOICE,
                choices=YES,
                required=False,
                hint=T("Wajib untuk anak 5 tahun ke atas", "Needed for children aged 5 and over"),
            ),
        ),
    ),
    FormPage(
        "orang_tua",
        T("Orang tua / wali (Anda)", "Parent / guardian (you)"),
        (
            f("parent_nik", "NIK ayah / ibu / wali", "NIK of the parent / guardian", K.DIGITS),
            f("parent_name", "Nama ayah / ibu / wali", "Name of the parent / guardian", K.TEXT),
            f("parent_role", "Anda adalah", "You are the child's", K.CHOICE, choices=PARENT_ROLES),
        ),
    ),
)

MSG = {
    "too_old": T(
        "KIA hanya untuk anak di bawah 17 tahun. Umur 17 ke atas membuat e-KTP.",
        "The KIA is only for children under 17. From 17 the child makes an e-KTP.",
    ),
    "photo": T(
        "Anak berumur 5 tahun ke atas perlu pas foto berwarna 2x3. Pilih \u201cYa\u201d.",
        "Children aged 5 and over need a 2x3 colour photo. Choose \u201cYes\u201d.",
    ),
    "parent_is_child": T(
        "NIK orang tua tidak boleh sama dengan NIK anak.",
        "The parent's NIK cannot be the child's NIK.",
    ),
    "parent_too_young": T(
        "Orang tua harus paling sedikit 10 tahun lebih tua dari anak. Periksa NIK.",
        "The parent must be at least 10 years older than the child. Check the NIK.",
    ),
}
CHECKS = {
    "child_name": check_name,
    "parent_name": check_name,
    "kk_number": check_kk,
    "birth_certificate_number": check_doc_number,
}


def child_age(values: Mapping[str, str], today: date) -> int | None:
    """The child's age in whole years from the date of birth, None if not a date."""
    born = parse_date(values.get("child_birth_date", ""))
    return age_on(born, today) if born else None


def _cross(values: Mapping[str, str], errors: dict[str, Text], today: date) -> None:
    nik_matches(
        values, errors, "child_nik", sex_key="child_sex", birth_key="child_birth_date", today=today
    )
    age = child_age(values, today) if "child_birth_date" not in errors else None
    if age is not None and age >= KIA_MAX_AGE:
        errors["child_birth_date"] = MSG["too_old"]
    elif age is not None and age >= PHOTO_FROM_AGE and not values.get("child_photo"):
        errors.setdefault("child_photo", MSG["photo"])
    child, parent = values.get("child_nik", ""), values.get("parent_nik", "")
    if child and child == parent and "parent_nik" not in errors:
        errors["parent_nik"] = MSG["parent_is_child"]
    born = parse_date(values.get("child_birth_date", ""))
    if parent and born and "parent_nik" not in errors and "child_birth_date" not in errors:
        parts = parse_nik(parent, today)
        if parts is not None and age_on(parts.birth_date, born) < 10:
            errors["parent_nik"] = MSG["parent_too_young"]


RULES = FormRules(PAGES, checks=CHECKS, cross=_cross)
FIELDS = RULES.fields


def validate(values: Mapping[str, str], today: date | None = None) -> ValidationResult:
    """Check the child, the parent and the rules between them."""
    return RULES.validate(values, today or date.today())


def prefill(identity: Identity) -> dict[str, str]:
    """The card holder is the parent who applies: father or mother from the card's sex."""
    sex = holder_sex(identity)
    values = {
        "parent_nik": identity.nik.strip(),
        "parent_name": identity.name.strip(),
        "parent_role": {"L": "ayah", "P": "ibu"}.get(sex, ""),
    }
    return {k: v for k, v in values.items() if v}


def summary(
    values: Mapping[str, str], lang: Language, *, mask: bool = False
) -> list[tuple[str, str]]:
    """Rows for the review screen and receipt, with the photo note for children of 5 and over."""
    rows = summary_rows(RULES, values, lang, mask)
    age = child_age(values, date.today())
    if age is not None and age >= PHOTO_FROM_AGE:
        note = T("Bawa pas foto anak berwarna 2x3", "Bring a 2x3 colour photo of the child")
        rows.append((T("Catatan", "Note")(lang), note(lang)))
    return rows


KIA = RULES.form("kia", T("Kartu Identitas Anak (KIA)", "Child identity card (KIA)"))
