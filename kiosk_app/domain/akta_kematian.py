"""Akta kematian (death certificate) pre-application: the death part of form F-2.01."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from kiosk_app.domain.formkit import (
    CITIZENSHIP,
    KK_HINT,
    SEX,
    FormRules,
    check_address,
    check_kk,
    check_name,
    distinct_niks,
    holder_citizenship,
    make_field,
    nik_matches,
    parse_date,
    summary_rows,
)
from kiosk_app.domain.forms import Choice, FieldKind, FormPage, ValidationResult
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.occupations import occupation_field
from kiosk_app.domain.text import Language, Text

T = Text
K = FieldKind
f = make_field

CAUSES = (
    Choice("sakit", T("Sakit biasa / tua", "Illness / old age")),
    Choice("wabah", T("Wabah penyakit", "Epidemic disease")),
    Choice("kecelakaan", T("Kecelakaan", "Accident")),
    Choice("kriminalitas", T("Kriminalitas", "Crime")),
    Choice("bunuh_diri", T("Bunuh diri", "Suicide")),
    Choice("lainnya", T("Lainnya", "Other")),
)
CERTIFIERS = (
    Choice("dokter", T("Dokter", "Doctor")),
    Choice("tenaga_kesehatan", T("Tenaga kesehatan", "Health worker")),
    Choice("kepolisian", T("Kepolisian", "Police")),
    Choice("lainnya", T("Lainnya (kepala desa, dll.)", "Other (village head, etc.)")),
)
PLACES = (
    Choice("rumah_sakit", T("Rumah sakit / puskesmas", "Hospital / health centre")),
    Choice("rumah", T("Rumah", "Home")),
    Choice("lainnya", T("Tempat lain", "Somewhere else")),
)
RELATIONS = (
    Choice("anak", T("Anak", "Child")),
    Choice("suami_istri", T("Suami / istri", "Husband / wife")),
    Choice("orang_tua", T("Orang tua", "Parent")),
    Choice("saudara", T("Saudara", "Sibling")),
    Choice("lainnya", T("Lainnya", "Other")),
)


def _witness(n: int) -> FormPage:
    """One witness of form F-2.01: NIK, name, citizenship and family card number."""
    return FormPage(
        f"saksi_{n}",
        T(f"Saksi {n}", f"Witness {n}"),
        (
            f(f"witness{n}_nik", f"NIK saksi {n}", f"Witness {n} NIK", K.DIGITS),
            f(f"witness{n}_name", f"Nama saksi {n}", f"Witness {n} name", K.TEXT),
            f(
                f"witness{n}_citizenship",
                f"Kewarganegaraan saksi {n}",
                f"Witness {n} citizenship",
                K.CHOICE,
                choices=CITIZENSHIP,
            ),
            f(
                f"witness{n}_kk",
                f"Nomor KK saksi {n}",
                f"Witness {n} family card number",
                K.DIGITS,
                hint=KK_HINT,
            ),
        ),
    )


PAGES: tuple[FormPage, ...] = (
    FormPage(
        "almarhum_1",
        T("Yang meninggal (1)", "The deceased (1)"),
        (
            f("deceased_nik", "NIK almarhum/almarhumah", "NIK of the deceased", K.DIGITS),
            f(
                "deceased_name",
                "Nama lengkap almarhum/almarhumah",
                "Full name of the deceased",
                K.TEXT,
            ),
            f("deceased_sex", "Jenis kelamin", "Sex", K.CHOICE, choices=SEX),
            f("deceased_birth_date", "Tanggal lahir", "Date of birth", K.DATE),
        ),
    ),
    FormPage(
        "almarhum_2",
        T("Yang meninggal (2)", "The deceased (2)"),
        (
            f(
                "kk_number",
                "Nomor KK almarhum/almarhumah",
                "Family card (KK) number",
                K.DIGITS,
                hint=T("16 angka di bagian atas KK", "16 digits at the top of the family card"),
            ),
            f("deceased_birth_place", "Tempat lahir", "Place of birth", K.TEXT),
            occupation_field("deceased_occupation", "Pekerjaan terakhir", "Last occupation"),
            f("deceased_address", "Alamat terakhir", "Last address", K.TEXT, max_length=150),
        ),
    ),
    FormPage(
        "kematian",
        T("Waktu dan sebab kematian", "Time and cause of death"),
        (
            f("death_date", "Tanggal meninggal", "Date of death", K.DATE),
            f(
                "death_time",
                "Pukul meninggal",
                "Time of death",
                K.TIME,
                required=False,
                hint=T(
                    "Pilih jam, lalu menit (atau Tidak tahu)",
                    "Pick the hour, then the minutes (or Not known)",
                ),
            ),
            f("death_place_type", "Meninggal di", "Died at", K.CHOICE, choices=PLACES),
            f("death_place", "Nama tempat / kota", "Name of the place / town", K.TEXT),
            f("death_cause", "Sebab kematian", "Cause of death", K.CHOICE, choices=CAUSES),
            f(
                "death_certifier",
                "Yang menerangkan kematian",
                "Death certified by",
                K.CHOICE,
                choices=CERTIFIERS,
            ),
        ),
    ),
    FormPage(
        "pelapor",
        T("Pelapor (Anda)", "The reporter (you)"),
        (
            f("reporter_nik", "NIK pelapor", "Reporter's NIK", K.DIGITS),
            f("reporter_name", "Nama pelapor", "Reporter's name", K.TEXT),
            f(
                "reporter_citizenship",
                "Kewarganegaraan pelapor",
                "Reporter's citizenship",
                K.CHOICE,
                choices=CITIZENSHIP,
            ),
            f(
                "reporter_kk",
                "Nomor KK pelapor",
                "Reporter's family card number",
                K.DIGITS,
                hint=KK_HINT,
            ),
            f(
                "reporter_relation",
                "Hubungan dengan yang meninggal",
                "Relation to the deceased",
                K.CHOICE,
                choices=RELATIONS,
            ),
        ),
    ),
    *(_witness(n) for n in (1, 2)),
)

MSG = {
    "death_before_birth": T(
        "Tanggal meninggal tidak boleh sebelum tanggal lahir.",
        "The date of death cannot be before the date of birth.",
    ),
    "reporter_is_deceased": T(
        "Pelapor tidak boleh orang yang meninggal.", "The reporter cannot be the deceased."
    ),
    "witness_is_deceased": T(
        "Saksi tidak boleh orang yang meninggal.", "A witness cannot be the deceased."
    ),
}

NAME_FIELDS = ("deceased_name", "reporter_name", "witness1_name", "witness2_name")
KK_FIELDS = ("kk_number", "reporter_kk", "witness1_kk", "witness2_kk")
CHECKS = {
    **dict.fromkeys(NAME_FIELDS, check_name),
    **dict.fromkeys(KK_FIELDS, check_kk),
    "deceased_address": check_address,
}


def _cross(values: Mapping[str, str], errors: dict[str, Text], today: date) -> None:
    nik_matches(
        values,
        errors,
        "deceased_nik",
        sex_key="deceased_sex",
        birth_key="deceased_birth_date",
        today=today,
    )
    born = parse_date(values["deceased_birth_date"])
    born = born if "deceased_birth_date" not in errors else None
    died = parse_date(values["death_date"]) if "death_date" not in errors else None
    if born and died and died < born:
        errors["death_date"] = MSG["death_before_birth"]
    deceased = values.get("deceased_nik", "")
    if deceased and "deceased_nik" not in errors:
        if values.get("reporter_nik") == deceased and "reporter_nik" not in errors:
            errors["reporter_nik"] = MSG["reporter_is_deceased"]
        for key in ("witness1_nik", "witness2_nik"):
            if values.get(key) == deceased and key not in errors:
                errors[key] = MSG["witness_is_deceased"]
    distinct_niks(values, errors, ("witness1_nik", "witness2_nik"))


RULES = FormRules(PAGES, checks=CHECKS, cross=_cross)
FIELDS = RULES.fields


def validate(values: Mapping[str, str], today: date | None = None) -> ValidationResult:
    """Check every field and the rules between them; never raises, one message per field."""
    return RULES.validate(values, today or date.today())


def prefill(identity: Identity) -> dict[str, str]:
    """The card holder reports the death."""
    values = {
        "reporter_nik": identity.nik.strip(),
        "reporter_name": identity.name.strip(),
        "reporter_citizenship": holder_citizenship(identity),
    }
    return {k: v for k, v in values.items() if v}


def summary(
    values: Mapping[str, str], lang: Language, *, mask: bool = False
) -> list[tuple[str, str]]:
    """(label, display value) rows for the review screen and receipt; `mask` hides NIK/KK."""
    return summary_rows(RULES, values, lang, mask)


AKTA_KEMATIAN = RULES.form("akta_kematian", T("Akta Kematian", "Death certificate"))
