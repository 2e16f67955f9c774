"""Pindah (moving residence) pre-application, after form F-1.03: moving out or moving in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from kiosk_app.domain.formkit import (
    FormRules,
    Variant,
    address_of,
    check_address,
    check_doc_number,
    check_kk,
    check_name,
    distinct_niks,
    make_field,
    number_between,
    summary_rows,
)
from kiosk_app.domain.forms import Choice, FieldKind, FormPage, ValidationResult
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.text import Language, Text

T = Text
K = FieldKind
f = make_field

OUT, IN = "keluar", "datang"
DIRECTIONS = (
    Choice(OUT, T("Pindah keluar dari sini", "Moving out of this area")),
    Choice(IN, T("Pindah datang ke sini", "Moving into this area")),
)
REASONS = (
    Choice("pekerjaan", T("Pekerjaan", "Work")),
    Choice("pendidikan", T("Pendidikan", "Education")),
    Choice("keamanan", T("Keamanan", "Safety")),
    Choice("kesehatan", T("Kesehatan", "Health")),
    Choice("perumahan", T("Perumahan", "Housing")),
    Choice("keluarga", T("Keluarga", "Family")),
    Choice("lainnya", T("Lainnya", "Other")),
)
ALONE, WHOLE, PART = "sendiri", "seluruh", "sebagian"
MOVE_TYPES = (
    Choice(ALONE, T("Saya sendiri", "Only me")),
    Choice(WHOLE, T("Seluruh anggota KK", "The whole family card")),
    Choice(PART, T("Saya dan sebagian anggota keluarga", "Me and some family members")),
)
ONLY_OUT = T(
    "Hanya untuk pindah keluar. Pilihan lain: lewati.", "Only when moving out. Otherwise: skip."
)
ONLY_IN = T(
    "Hanya untuk pindah datang. Pilihan lain: lewati.", "Only when moving in. Otherwise: skip."
)
MEMBER_HINT = T(
    "NIK anggota yang ikut pindah (boleh kosong)", "NIK of a member moving with you (may be empty)"
)

PAGES: tuple[FormPage, ...] = (
    FormPage(
        "arah",
        T("Jenis kepindahan", "Kind of move"),
        (
            f(
                "direction",
                "Anda pindah ke mana?",
                "Which way are you moving?",
                K.CHOICE,
                choices=DIRECTIONS,
            ),
            f(
                "kk_number",
                "Nomor KK",
                "Family card (KK) number",
                K.DIGITS,
                hint=T("16 angka di bagian atas KK", "16 digits at the top of the family card"),
            ),
            f("kk_head_name", "Nama kepala keluarga", "Name of the head of the family", K.TEXT),
        ),
    ),
    FormPage(
        "tujuan",
        T("Pindah keluar: tujuan", "Moving out: destination"),
        (
            f(
                "dest_region",
                "Desa/kelurahan tujuan",
                "Destination village",
                K.REGION,
                required=False,
            ),
            f(
                "dest_address",
                "Alamat tujuan (jalan, nomor, RT/RW)",
                "Destination address (street, number, RT/RW)",
                K.TEXT,
                max_length=150,
                required=False,
                hint=ONLY_OUT,
            ),
            f(
                "move_reason",
                "Alasan pindah",
                "Reason for moving",
                K.CHOICE,
                choices=REASONS,
                required=False,
                hint=ONLY_OUT,
            ),
            f(
                "move_type",
                "Siapa yang pindah?",
                "Who is moving?",
                K.CHOICE,
                choices=MOVE_TYPES,
                required=False,
                hint=ONLY_OUT,
            ),
        ),
    ),
    FormPage(
        "anggota",
        T("Pindah keluar: yang ikut pindah", "Moving out: who moves with you"),
        (
            f(
                "members_count",
                "Jumlah orang yang pindah",
                "Number of people moving",
                K.NUMBER,
                max_length=2,
                required=False,
                hint=T("Termasuk Anda, 1 sampai 20", "Including you, 1 to 20"),
            ),
            f(
                "member1_nik",
                "NIK anggota 1",
                "Member 1 NIK",
                K.DIGITS,
                required=False,
                hint=MEMBER_HINT,
            ),
            f(
                "member2_nik",
                "NIK anggota 2",
                "Member 2 NIK",
                K.DIGITS,
                required=False,
                hint=MEMBER_HINT,
            ),
            f(
                "member3_nik",
                "NIK anggota 3",
                "Member 3 NIK",
                K.DIGITS,
                required=False,
                hint=T("Anggota lain sebutkan di loket", "Name any others at the counter"),
            ),
        ),
    ),
    FormPage(
        "datang",
        T("Pindah datang: asal dan alamat baru", "Moving in: origin and new address"),
        (
            f(
                "origin_region",
                "Desa/kelurahan asal",
                "Village you come from",
                K.REGION,
                required=False,
            ),
            f(
                "origin_address",
                "Alamat asal",
                "Previous address",
                K.TEXT,
                max_length=150,
                required=False,
                hint=T("Dari e-KTP, boleh diubah", "From the e-KTP, may be changed"),
            ),
            f(
                "moving_letter_number",
                "Nomor surat keterangan pindah (SKPWNI)",
                "Number of the moving letter (SKPWNI)",
                K.TEXT,
                max_length=40,
                required=False,
                hint=T("Dari Disdukcapil daerah asal", "From the civil registry you came from"),
            ),
            f(
                "new_region",
                "Desa/kelurahan alamat baru",
                "Village of the new address",
                K.REGION,
                required=False,
            ),
            f(
                "new_address",
                "Alamat baru (jalan, nomor, RT/RW)",
                "New address (street, number, RT/RW)",
                K.TEXT,
                max_length=150,
                required=False,
                hint=ONLY_IN,
            ),
        ),
    ),
)

_OUT_FIELDS = frozenset(f.name for page in PAGES[1:3] for f in page.fields)
_IN_FIELDS = frozenset(f.name for f in PAGES[3].fields)
VARIANTS = {
    OUT: Variant(
        DIRECTIONS[0].label,
        _OUT_FIELDS,
        frozenset({"dest_region", "dest_address", "move_reason", "move_type", "members_count"}),
    ),
    IN: Variant(DIRECTIONS[1].label, _IN_FIELDS, _IN_FIELDS),
}

MSG = {
    "alone_count": T(
        "Anda pindah sendiri: jumlah orang harus 1.", "You move alone: the number must be 1."
    ),
    "part_count": T(
        "Bila sebagian keluarga ikut, jumlahnya paling sedikit 2 (termasuk Anda).",
        "If some family members come along, the number is at least 2 (including you).",
    ),
    "part_member": T(
        "Isi NIK paling sedikit satu anggota yang ikut pindah.",
        "Enter the NIK of at least one member moving with you.",
    ),
    "same_region": T(
        "Desa asal dan desa alamat baru sama. Pilih lagi dari daftar.",
        "The village you come from and the new one are the same. Pick again from the list.",
    ),
}
ADDRESS_FIELDS = ("dest_address", "origin_address", "new_address")
CHECKS = {
    "kk_head_name": check_name,
    "kk_number": check_kk,
    "members_count": number_between(1, 20),
    "moving_letter_number": check_doc_number,
    **dict.fromkeys(ADDRESS_FIELDS, check_address),
}


def _cross(values: Mapping[str, str], errors: dict[str, Text], today: date) -> None:
    if values.get("direction") == OUT and "members_count" not in errors:
        kind, count = values.get("move_type", ""), values.get("members_count", "")
        if kind == ALONE and count and count != "1":
            errors["members_count"] = MSG["alone_count"]
        if kind == PART and count == "1":
            errors["members_count"] = MSG["part_count"]
        if kind == PART and not values.get("member1_nik"):
            errors.setdefault("member1_nik", MSG["part_member"])
    origin, new = values.get("origin_region", ""), values.get("new_region", "")
    if origin and origin == new and "new_region" not in errors and "origin_region" not in errors:
        errors["new_region"] = MSG["same_region"]
    distinct_niks(values, errors, ("member1_nik", "member2_nik", "member3_nik"))


RULES = FormRules(PAGES, checks=CHECKS, variant_field="direction", variants=VARIANTS, cross=_cross)
FIELDS = RULES.fields


def validate(values: Mapping[str, str], today: date | None = None) -> ValidationResult:
    """Check the fields of the chosen direction and the rules between them."""
    return RULES.validate(values, today or date.today())


def prefill(identity: Identity) -> dict[str, str]:
    """Moving in, the e-KTP still shows the address the citizen comes from."""
    address = address_of(identity, FIELDS["origin_address"].max_length or 150)
    return {"origin_address": address} if address else {}


def summary(
    values: Mapping[str, str], lang: Language, *, mask: bool = False
) -> list[tuple[str, str]]:
    """Rows of the chosen direction only."""
    return summary_rows(RULES, values, lang, mask)


PINDAH = RULES.form("pindah", T("Surat Pindah", "Moving letter"))
