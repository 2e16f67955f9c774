"""Perubahan Kartu Keluarga (family card changes), after form F-1.02: three kinds of change.

The kind chosen on the first page decides which later fields apply and which are required:
a new member (born or moving in), a correction of one member's data, or a split (pisah KK).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from kiosk_app.domain.formkit import (
    REGION_HINT,
    SEX,
    FormRules,
    Variant,
    check_address,
    check_kk,
    check_name,
    distinct_niks,
    make_field,
    nik_matches,
    number_between,
    parse_date,
    summary_rows,
)
from kiosk_app.domain.forms import Choice, FieldKind, FormPage, ValidationResult
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.text import Language, Text

T = Text
K = FieldKind
f = make_field

NEW_MEMBER, CORRECTION, SPLIT = "anggota_baru", "perbaikan_data", "pisah_kk"
CHANGE_TYPES = (
    Choice(
        NEW_MEMBER,
        T("Tambah anggota keluarga (lahir / datang)", "Add a family member (birth / moving in)"),
    ),
    Choice(CORRECTION, T("Perbaikan data anggota", "Correct a member's data")),
    Choice(SPLIT, T("Pisah KK (membuat KK baru)", "Split off (a new family card)")),
)
MEMBER_REASONS = (
    Choice("lahir", T("Kelahiran", "Birth")),
    Choice("datang", T("Pindah datang", "Moving in")),
    Choice("numpang", T("Menumpang di KK ini", "Joining this family card")),
)
RELATIONS = (
    Choice("anak", T("Anak", "Child")),
    Choice("istri", T("Istri", "Wife")),
    Choice("suami", T("Suami", "Husband")),
    Choice("orang_tua", T("Orang tua / mertua", "Parent / parent-in-law")),
    Choice("cucu", T("Cucu", "Grandchild")),
    Choice("famili_lain", T("Famili lain", "Other relative")),
    Choice("lainnya", T("Lainnya", "Other")),
)
ELEMENTS = (
    Choice("nama", T("Nama", "Name")),
    Choice("tempat_tanggal_lahir", T("Tempat / tanggal lahir", "Place / date of birth")),
    Choice("agama", T("Agama", "Religion")),
    Choice("pendidikan", T("Pendidikan", "Education")),
    Choice("pekerjaan", T("Pekerjaan", "Occupation")),
    Choice("status_perkawinan", T("Status perkawinan", "Marital status")),
    Choice("golongan_darah", T("Golongan darah", "Blood type")),
    Choice("lainnya", T("Lainnya", "Other")),
)
SPLIT_REASONS = (
    Choice("menikah", T("Sudah menikah, membentuk keluarga baru", "Married, a new family")),
    Choice("cerai", T("Cerai", "Divorce")),
    Choice("lainnya", T("Lainnya", "Other")),
)
ONLY_NEW = T(
    "Hanya untuk tambah anggota. Pilihan lain: lewati.",
    "Only when adding a member. Otherwise: skip.",
)
ONLY_FIX = T(
    "Hanya untuk perbaikan data. Pilihan lain: lewati.",
    "Only when correcting data. Otherwise: skip.",
)
ONLY_SPLIT = T(
    "Hanya untuk pisah KK. Pilihan lain: lewati.", "Only when splitting off. Otherwise: skip."
)

PAGES: tuple[FormPage, ...] = (
    FormPage(
        "jenis",
        T("Jenis perubahan KK", "Kind of change"),
        (
            f(
                "change_type",
                "Apa yang ingin diubah?",
                "What do you want to change?",
                K.CHOICE,
                choices=CHANGE_TYPES,
            ),
            f(
                "kk_number",
                "Nomor KK sekarang",
                "Current family card (KK) number",
                K.DIGITS,
                hint=T("16 angka di bagian atas KK", "16 digits at the top of the family card"),
            ),
            f("kk_head_name", "Nama kepala keluarga", "Name of the head of the family", K.TEXT),
        ),
    ),
    FormPage(
        "anggota_baru",
        T("Anggota baru", "The new member"),
        (
            f(
                "member_reason",
                "Alasan masuk KK",
                "Why they join",
                K.CHOICE,
                choices=MEMBER_REASONS,
                required=False,
                hint=ONLY_NEW,
            ),
            f(
                "member_nik",
                "NIK anggota baru",
                "New member's NIK",
                K.DIGITS,
                required=False,
                hint=T(
                    "Bayi yang baru lahir belum punya NIK: kosongkan",
                    "A newborn has no NIK yet: leave empty",
                ),
            ),
            f(
                "member_name",
                "Nama lengkap anggota baru",
                "New member's full name",
                K.TEXT,
                required=False,
                hint=ONLY_NEW,
            ),
            f(
                "member_sex",
                "Jenis kelamin",
                "Sex",
                K.CHOICE,
                choices=SEX,
                required=False,
                hint=ONLY_NEW,
            ),
            f(
                "member_birth_date",
                "Tanggal lahir",
                "Date of birth",
                K.DATE,
                required=False,
                hint=ONLY_NEW,
            ),
            f(
                "member_relation",
                "Hubungan dengan kepala keluarga",
                "Relation to the head of the family",
                K.CHOICE,
                choices=RELATIONS,
                required=False,
                hint=ONLY_NEW,
            ),
        ),
    ),
    FormPage(
        "perbaikan",
        T("Perbaikan data", "Correcting data"),
        (
            f(
                "person_nik",
                "NIK anggota yang datanya salah",
                "NIK of the member to correct",
                K.DIGITS,
                required=False,
                hint=ONLY_FIX,
            ),
            f(
                "person_name",
                "Nama anggota itu",
                "That member's name",
                K.TEXT,
                required=False,
                hint=ONLY_FIX,
            ),
            f(
                "data_element",
                "Data yang salah",
                "Which data is wrong",
                K.CHOICE,
                choices=ELEMENTS,
                required=False,
                hint=ONLY_FIX,
            ),
            f(
                "old_value",
                "Tertulis sekarang",
                "What is written now",
                K.TEXT,
                required=False,
                hint=ONLY_FIX,
            ),
            f(
                "new_value",
                "Seharusnya",
                "What it should be",
                K.TEXT,
                required=False,
                hint=T(
                    "Sesuai dokumen (akta, ijazah, buku nikah)",
                    "As on the document (certificate, diploma, marriage book)",
                ),
            ),
        ),
    ),
    FormPage(
        "pisah",
        T("Pisah KK", "Splitting off"),
        (
            f(
                "new_head_nik",
                "NIK kepala keluarga baru",
                "NIK of the new head of family",
                K.DIGITS,
                required=False,
                hint=ONLY_SPLIT,
            ),
            f(
                "new_head_name",
                "Nama kepala keluarga baru",
                "Name of the new head of family",
                K.TEXT,
                required=False,
                hint=ONLY_SPLIT,
            ),
            f(
                "split_reason",
                "Alasan pisah KK",
                "Why split off",
                K.CHOICE,
                choices=SPLIT_REASONS,
                required=False,
                hint=ONLY_SPLIT,
            ),
            f(
                "split_members",
                "Jumlah orang di KK baru",
                "People on the new family card",
                K.NUMBER,
                max_length=2,
                required=False,
                hint=T(
                    "Termasuk kepala keluarga baru, 1 sampai 20", "Including the new head, 1 to 20"
                ),
            ),
            f(
                "new_region",
                "Desa/kelurahan alamat baru",
                "Village of the new address",
                K.REGION,
                required=False,
                hint=REGION_HINT,
            ),
            f(
                "new_address",
                "Alamat baru (jalan, nomor, RT/RW)",
                "New address (street, number, RT/RW)",
                K.TEXT,
                max_length=150,
                required=False,
                hint=ONLY_SPLIT,
            ),
        ),
    ),
)

_LABEL = {c.key: c.label for c in CHANGE_TYPES}
VARIANTS = {
    NEW_MEMBER: Variant(
        _LABEL[NEW_MEMBER],
        frozenset(f.name for f in PAGES[1].fields),
        frozenset(
            {"member_reason", "member_name", "member_sex", "member_birth_date", "member_relation"}
        ),
    ),
    CORRECTION: Variant(
        _LABEL[CORRECTION],
        frozenset(f.name for f in PAGES[2].fields),
        frozenset(f.name for f in PAGES[2].fields),
    ),
    SPLIT: Variant(
        _LABEL[SPLIT],
        frozenset(f.name for f in PAGES[3].fields),
        frozenset(f.name for f in PAGES[3].fields),
    ),
}

MSG = {
    "member_nik_needed": T(
        "Anggota yang pindah datang atau menumpang sudah punya NIK: isi NIK-nya.",
        "A member moving in or joining already has a NIK: please fill it in.",
    ),
    "newborn_too_old": T(
        "Untuk kelahiran, tanggal lahir paling lama 1 tahun lalu. Bila lebih, pilih alasan lain.",
        "For a birth, the date must be within the last year. Otherwise choose another reason.",
    ),
    "same_value": T(
        "Isi data yang benar, berbeda dari yang tertulis sekarang.",
        "Enter the correct data, different from what is written now.",
    ),
}

NAME_FIELDS = ("kk_head_name", "member_name", "person_name", "new_head_name")
CHECKS = {
    **dict.fromkeys(NAME_FIELDS, check_name),
    "kk_number": check_kk,
    "split_members": number_between(1, 20),
    "new_address": check_address,
}


def _cross(values: Mapping[str, str], errors: dict[str, Text], today: date) -> None:
    kind = values.get("change_type", "")
    if kind == NEW_MEMBER:
        reason = values.get("member_reason", "")
        if reason in ("datang", "numpang") and not values.get("member_nik"):
            errors.setdefault("member_nik", MSG["member_nik_needed"])
        born = parse_date(values.get("member_birth_date", ""))
        if reason == "lahir" and born and "member_birth_date" not in errors:
            if (today - born).days > 366:
                errors["member_birth_date"] = MSG["newborn_too_old"]
        nik_matches(
            values,
            errors,
            "member_nik",
            sex_key="member_sex",
            birth_key="member_birth_date",
            today=today,
        )
    elif kind == CORRECTION:
        old, new = values.get("old_value", ""), values.get("new_value", "")
        if old and new and old.casefold() == new.casefold() and "new_value" not in errors:
            errors["new_value"] = MSG["same_value"]
    distinct_niks(values, errors, ("member_nik", "person_nik", "new_head_nik"))


RULES = FormRules(
    PAGES, checks=CHECKS, variant_field="change_type", variants=VARIANTS, cross=_cross
)
FIELDS = RULES.fields


def validate(values: Mapping[str, str], today: date | None = None) -> ValidationResult:
    """Check the fields of the chosen kind of change and the rules between them."""
    return RULES.validate(values, today or date.today())


def prefill(identity: Identity) -> dict[str, str]:
    """Nothing of the family card is on the e-KTP: the contact page brings the card's address."""
    return {}


def summary(
    values: Mapping[str, str], lang: Language, *, mask: bool = False
) -> list[tuple[str, str]]:
    """Rows of the chosen kind of change only."""
    return summary_rows(RULES, values, lang, mask)


KK_CHANGE = RULES.form("perubahan_kk", T("Perubahan Kartu Keluarga", "Family card update"))
