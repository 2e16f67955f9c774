"""Pindah (moving residence) pre-application, after form F-1.03: moving out or moving in.

Moving out asks what F-1.03 asks: the destination and how far it is (klasifikasi pindah), the
planned date, who moves (the applicant alone, the whole family card, the applicant with some
members, or only members while the applicant stays), the family card of those who move and of
those who stay, and each member who moves with their relation in the family card (SHDK): as
many rows as people move, the form shows one row per member."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from kiosk_app.domain.formkit import MSG as FORM_MSG
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
    parse_date,
    summary_rows,
)
from kiosk_app.domain.forms import Choice, FieldKind, FieldSpec, FormPage, ValidationResult
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
ALONE, WHOLE, PART, ONLY_MEMBERS = "sendiri", "seluruh", "sebagian", "anggota"
MOVE_TYPES = (
    Choice(ALONE, T("Saya sendiri", "Only me")),
    Choice(WHOLE, T("Seluruh anggota KK", "The whole family card")),
    Choice(PART, T("Saya dan sebagian anggota keluarga", "Me and some family members")),
    Choice(ONLY_MEMBERS, T("Anggota keluarga saja, saya tetap", "Family members only, I stay")),
)
# F-1.03 "klasifikasi pindah": how far the move goes
CLASSES = (
    Choice("dalam_desa", T("Dalam satu desa/kelurahan", "Within the village")),
    Choice("antar_desa", T("Antar desa dalam satu kecamatan", "To another village, same district")),
    Choice(
        "antar_kecamatan",
        T("Antar kecamatan dalam satu kabupaten/kota", "To another district, same regency/city"),
    ),
    Choice(
        "antar_kabupaten",
        T("Antar kabupaten/kota dalam satu provinsi", "To another regency/city, same province"),
    ),
    Choice("antar_provinsi", T("Antar provinsi", "To another province")),
)
# F-1.03: the family card of those who move and of those who stay
NUMPANG, NEW_KK, SAME_KK, NONE_LEFT = "numpang", "kk_baru", "kk_tetap", "tidak_ada"
KK_MOVING = (
    Choice(NUMPANG, T("Numpang KK di tempat tujuan", "Join a family card at the destination")),
    Choice(NEW_KK, T("Membuat KK baru", "A new family card")),
    Choice(SAME_KK, T("Nama kepala keluarga dan nomor KK tetap", "Same head and KK number")),
)
KK_STAYING = (
    Choice(NUMPANG, T("Numpang KK", "Join another family card")),
    Choice(NEW_KK, T("Membuat KK baru", "A new family card")),
    Choice(NONE_LEFT, T("Tidak ada anggota yang tinggal", "Nobody stays behind")),
    Choice(SAME_KK, T("Nomor KK tetap", "The KK number stays")),
)
# SHDK: status hubungan dalam keluarga, as on the family card
SHDK = (
    Choice("kepala_keluarga", T("Kepala keluarga", "Head of the family")),
    Choice("suami", T("Suami", "Husband")),
    Choice("istri", T("Istri", "Wife")),
    Choice("anak", T("Anak", "Child")),
    Choice("menantu", T("Menantu", "Son/daughter-in-law")),
    Choice("cucu", T("Cucu", "Grandchild")),
    Choice("orang_tua", T("Orang tua", "Parent")),
    Choice("mertua", T("Mertua", "Parent-in-law")),
    Choice("famili_lain", T("Famili lain", "Other relative")),
    Choice("lainnya", T("Lainnya", "Other")),
)
MAX_MEMBERS = 15  # rows of the members list: enough for any family card seen at a counter
ONLY_OUT = T(
    "Hanya untuk pindah keluar. Pilihan lain: lewati.", "Only when moving out. Otherwise: skip."
)
ONLY_IN = T(
    "Hanya untuk pindah datang. Pilihan lain: lewati.", "Only when moving in. Otherwise: skip."
)


def _member(n: int) -> tuple[FieldSpec, ...]:
    """Row `n` of the members who move: NIK and SHDK (shown only up to the number moving)."""
    return (
        f(f"member{n}_nik", f"NIK anggota {n}", f"Member {n} NIK", K.DIGITS, required=False),
        f(
            f"member{n}_shdk",
            f"Hubungan anggota {n} dalam KK",
            f"Member {n}: relation in the family card",
            K.CHOICE,
            choices=SHDK,
            required=False,
            hint=T("Seperti tertulis di KK", "As on the family card"),
        ),
    )


MEMBER_FIELDS = tuple(spec for n in range(1, MAX_MEMBERS + 1) for spec in _member(n))

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
            ),
            f(
                "move_class",
                "Klasifikasi pindah",
                "How far you move",
                K.CHOICE,
                choices=CLASSES,
                required=False,
            ),
            f(
                "move_reason",
                "Alasan pindah",
                "Reason for moving",
                K.CHOICE,
                choices=REASONS,
                required=False,
            ),
        ),
    ),
    FormPage(
        "rencana",
        T("Pindah keluar: rencana", "Moving out: the plan"),
        (
            f("move_date", "Rencana tanggal pindah", "Planned moving date", K.DATE, required=False),
            f(
                "move_type",
                "Siapa yang pindah?",
                "Who is moving?",
                K.CHOICE,
                choices=MOVE_TYPES,
                required=False,
            ),
            f(
                "kk_status_moving",
                "KK bagi yang pindah",
                "Family card of those who move",
                K.CHOICE,
                choices=KK_MOVING,
                required=False,
            ),
            f(
                "kk_status_staying",
                "KK bagi yang tidak pindah",
                "Family card of those who stay",
                K.CHOICE,
                choices=KK_STAYING,
                required=False,
            ),
        ),
    ),
    FormPage(
        "anggota",
        T("Pindah keluar: yang pindah", "Moving out: who moves"),
        (
            f(
                "members_count",
                "Jumlah orang yang pindah",
                "Number of people moving",
                K.NUMBER,
                max_length=2,
                required=False,
                hint=T(
                    "Termasuk Anda bila Anda ikut pindah. Tiap anggota mendapat satu baris.",
                    "Including you if you move. Each member gets a row.",
                ),
            ),
            *MEMBER_FIELDS,
        ),
    ),
    FormPage(
        "datang",
        T("Pindah datang: alamat", "Moving in: addresses"),
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

_OUT_FIELDS = frozenset(f.name for page in PAGES[1:4] for f in page.fields)
_IN_FIELDS = frozenset(f.name for f in PAGES[4].fields)
VARIANTS = {
    OUT: Variant(DIRECTIONS[0].label, _OUT_FIELDS, _OUT_FIELDS),  # every shown row is needed
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
    "whole_staying": T(
        "Seluruh anggota KK pindah: pilih \u201cTidak ada anggota yang tinggal\u201d.",
        "The whole family card moves: choose \u201cNobody stays behind\u201d.",
    ),
    "someone_stays": T(
        "Ada anggota yang tidak pindah: pilih status KK mereka.",
        "Someone stays behind: choose their family card.",
    ),
    "move_date": T(
        "Rencana tanggal pindah paling jauh satu tahun dari hari ini.",
        "The planned moving date must be within a year of today.",
    ),
    "same_region": T(
        "Desa asal dan desa alamat baru sama. Pilih lagi dari daftar.",
        "The village you come from and the new one are the same. Pick again from the list.",
    ),
}


def check_move_date(spec: FieldSpec, value: str, today: date) -> Text | None:
    """A real date within a year before or after today (planned, or just made)."""
    day = parse_date(value)
    if day is None:
        return FORM_MSG["date"]
    return None if abs((day - today).days) <= 366 else MSG["move_date"]


ADDRESS_FIELDS = ("dest_address", "origin_address", "new_address")
CHECKS = {
    "kk_head_name": check_name,
    "kk_number": check_kk,
    "members_count": number_between(1, MAX_MEMBERS + 1),
    "move_date": check_move_date,
    "moving_letter_number": check_doc_number,
    **dict.fromkeys(ADDRESS_FIELDS, check_address),
}


def member_rows(values: Mapping[str, str]) -> int:
    """How many member rows the form shows: those moving besides you (all when you stay)."""
    count = values.get("members_count", "").strip()
    if not (count.isascii() and count.isdigit()) or values.get("direction", "").strip() != OUT:
        return 0
    people = min(int(count), MAX_MEMBERS + 1)
    kind = values.get("move_type", "").strip()
    if kind == ONLY_MEMBERS:
        return min(people, MAX_MEMBERS)
    return 0 if kind == ALONE else max(people - 1, 0)


def _hidden(values: Mapping[str, str]) -> frozenset[str]:
    rows = member_rows(values)
    return frozenset(spec.name for spec in MEMBER_FIELDS if int(spec.name[6:].split("_")[0]) > rows)


def _cross(values: Mapping[str, str], errors: dict[str, Text], today: date) -> None:
    if values.get("direction") == OUT:
        kind, count = values.get("move_type", ""), values.get("members_count", "")
        if "members_count" not in errors:
            if kind == ALONE and count and count != "1":
                errors["members_count"] = MSG["alone_count"]
            if kind == PART and count == "1":
                errors["members_count"] = MSG["part_count"]
        staying = values.get("kk_status_staying", "")
        if staying and "kk_status_staying" not in errors:
            if kind == WHOLE and staying != NONE_LEFT:
                errors["kk_status_staying"] = MSG["whole_staying"]
            elif kind and kind != WHOLE and staying == NONE_LEFT:
                errors["kk_status_staying"] = MSG["someone_stays"]
    origin, new = values.get("origin_region", ""), values.get("new_region", "")
    if origin and origin == new and "new_region" not in errors and "origin_region" not in errors:
        errors["new_region"] = MSG["same_region"]
    distinct_niks(values, errors, tuple(f"member{n}_nik" for n in range(1, MAX_MEMBERS + 1)))


RULES = FormRules(
    PAGES,
    checks=CHECKS,
    variant_field="direction",
    variants=VARIANTS,
    cross=_cross,
    hide=_hidden,
)
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
