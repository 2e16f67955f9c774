"""Cetak ulang KTP-el (e-KTP reprint): lost (with a police report) or damaged (bring the card)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from kiosk_app.domain.formkit import (
    YES,
    FormRules,
    Variant,
    check_doc_number,
    check_kk,
    check_name,
    make_field,
    parse_date,
    summary_rows,
)
from kiosk_app.domain.forms import Choice, FieldKind, FormPage, ValidationResult
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.text import Language, Text

T = Text
K = FieldKind
f = make_field

LOST, DAMAGED = "hilang", "rusak"
REASONS = (
    Choice(LOST, T("Hilang", "Lost")),
    Choice(
        DAMAGED,
        T("Rusak (patah, pudar, chip tidak terbaca)", "Damaged (broken, faded, chip unreadable)"),
    ),
)
POLICE_HINT = T("Lihat surat keterangan hilang dari polisi", "See the police report of the loss")

PAGES: tuple[FormPage, ...] = (
    FormPage(
        "pemilik",
        T("e-KTP yang dicetak ulang", "The e-KTP to reprint"),
        (
            f("ktp_nik", "NIK pemilik e-KTP", "NIK of the e-KTP's holder", K.DIGITS),
            f("ktp_name", "Nama pemilik e-KTP", "Name of the e-KTP's holder", K.TEXT),
            f(
                "kk_number",
                "Nomor KK",
                "Family card (KK) number",
                K.DIGITS,
                hint=T("16 angka di bagian atas KK", "16 digits at the top of the family card"),
            ),
            f(
                "reprint_reason",
                "Mengapa dicetak ulang?",
                "Why reprint it?",
                K.CHOICE,
                choices=REASONS,
            ),
        ),
    ),
    FormPage(
        "hilang",
        T("Bila e-KTP hilang", "If the e-KTP was lost"),
        (
            f(
                "police_report_number",
                "Nomor surat kehilangan dari polisi",
                "Number of the police report",
                K.TEXT,
                max_length=40,
                required=False,
                hint=POLICE_HINT,
            ),
            f(
                "police_report_date",
                "Tanggal surat kehilangan",
                "Date of the police report",
                K.DATE,
                required=False,
                hint=POLICE_HINT,
            ),
        ),
    ),
    FormPage(
        "rusak",
        T("Bila e-KTP rusak", "If the e-KTP is damaged"),
        (
            f(
                "bring_old_card",
                "Saya akan membawa e-KTP yang rusak ke kantor",
                "I will bring the damaged e-KTP to the office",
                K.CHOICE,
                choices=YES,
                required=False,
                hint=T(
                    "e-KTP lama diserahkan saat verifikasi",
                    "The old e-KTP is handed in at the verification",
                ),
            ),
        ),
    ),
)

VARIANTS = {
    LOST: Variant(
        REASONS[0].label,
        frozenset({"police_report_number", "police_report_date"}),
        frozenset({"police_report_number", "police_report_date"}),
    ),
    DAMAGED: Variant(
        REASONS[1].label, frozenset({"bring_old_card"}), frozenset({"bring_old_card"})
    ),
}
POLICE_REPORT_MAX_AGE = timedelta(days=365)

MSG = {
    "report_too_old": T(
        "Surat kehilangan lebih dari 1 tahun. Minta surat baru di kantor polisi.",
        "The police report is more than a year old. Ask the police for a new one.",
    ),
}
CHECKS = {
    "ktp_name": check_name,
    "kk_number": check_kk,
    "police_report_number": check_doc_number,
}


def _cross(values: Mapping[str, str], errors: dict[str, Text], today: date) -> None:
    day = parse_date(values.get("police_report_date", ""))
    if day and "police_report_date" not in errors and today - day > POLICE_REPORT_MAX_AGE:
        errors["police_report_date"] = MSG["report_too_old"]


RULES = FormRules(
    PAGES, checks=CHECKS, variant_field="reprint_reason", variants=VARIANTS, cross=_cross
)
FIELDS = RULES.fields


def validate(values: Mapping[str, str], today: date | None = None) -> ValidationResult:
    """Check the owner's data and what the chosen reason asks for."""
    return RULES.validate(values, today or date.today())


def prefill(identity: Identity) -> dict[str, str]:
    """The e-KTP reprinted is the card holder's own."""
    values = {"ktp_nik": identity.nik.strip(), "ktp_name": identity.name.strip()}
    return {k: v for k, v in values.items() if v}


def summary(
    values: Mapping[str, str], lang: Language, *, mask: bool = False
) -> list[tuple[str, str]]:
    """Rows of the owner and of the chosen reason only."""
    return summary_rows(RULES, values, lang, mask)


KTP_REPRINT = RULES.form("cetak_ulang_ktp", T("Cetak Ulang e-KTP", "e-KTP reprint"))
