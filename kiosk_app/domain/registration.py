"""Registration numbers typed on a keypad, and what each application status means next."""

from __future__ import annotations

import re

from kiosk_app.domain.text import Text

# docs/registration-numbers.md: <PREFIX>-<PP>.<KK>.<YYMMDD>.<NNNN>
PREFIXES: tuple[tuple[str, str], ...] = (
    ("AKTA", "akta_kelahiran"),
    ("AKM", "akta_kematian"),
    ("KK", "perubahan_kk"),
    ("KTP", "cetak_ulang_ktp"),
    ("KIA", "kia"),
    ("PDH", "pindah"),
)
PREFIX_OF_SERVICE = {service: prefix for prefix, service in PREFIXES}
SERVICE_OF_PREFIX = dict(PREFIXES)
GROUPS = (2, 2, 6, 4)  # digits per dotted group
DIGITS = sum(GROUPS)
NUMBER_RE = re.compile(r"^(AKTA|AKM|KK|KTP|KIA|PDH)-\d{2}\.\d{2}\.\d{6}\.\d{4}$")
PLACEHOLDER = "_"


def format_entry(prefix: str, digits: str) -> str:
    """Show a partly typed number with blanks: AKTA-35.17.26____.____."""
    padded = (digits + PLACEHOLDER * DIGITS)[:DIGITS]
    parts, start = [], 0
    for size in GROUPS:
        parts.append(padded[start : start + size])
        start += size
    return f"{prefix}-{'.'.join(parts)}"


def number_from(prefix: str, digits: str) -> str | None:
    """The full registration number once every digit is typed, else None."""
    if prefix not in SERVICE_OF_PREFIX or len(digits) != DIGITS or not digits.isdigit():
        return None
    return format_entry(prefix, digits)


def split_number(number: str) -> tuple[str, str] | None:
    """(prefix, digits) of a well-formed registration number, else None."""
    number = number.strip().upper()
    if not NUMBER_RE.match(number):
        return None
    prefix, rest = number.split("-", 1)
    return prefix, rest.replace(".", "")


def office_digits(office_code: str) -> str:
    """The PP and KK digits of a kiosk's office code (3517 -> 3517), or "" when unusual."""
    return office_code if len(office_code) == 4 and office_code.isdigit() else ""


_T = Text
# What the citizen does next, per status of the central server (lifecycle.State).
NEXT_STEPS: dict[str, Text] = {
    "submitted": _T(
        "Petugas akan memeriksa data Anda. Datang ke kantor pada jadwal verifikasi dengan "
        "membawa dokumen asli dan tiket ini.",
        "An officer will check your details. Come to the office on your verification date "
        "with the original documents and this ticket.",
    ),
    "under_review": _T(
        "Data Anda sedang diperiksa. Tetap datang pada jadwal verifikasi dengan dokumen asli.",
        "Your details are being checked. Still come on your verification date with the "
        "original documents.",
    ),
    "needs_fixing": _T(
        "Ada data yang perlu diperbaiki. Silakan ke loket pelayanan atau tanyakan ke petugas.",
        "Some details need fixing. Please go to the service counter or ask an attendant.",
    ),
    "approved": _T(
        "Disetujui. Datang ke kantor pada jadwal verifikasi dengan membawa dokumen asli.",
        "Approved. Come to the office on your verification date with the original documents.",
    ),
    "verified": _T(
        "Dokumen Anda sedang dibuat. Cek lagi status ini dalam beberapa hari.",
        "Your document is being made. Check this status again in a few days.",
    ),
    "document_ready": _T(
        "Dokumen sudah terbit. Ambil di kantor dengan membawa tiket ini, atau tunggu kiriman Pos "
        "bila Anda memilihnya.",
        "The document is issued. Collect it at the office with this ticket, or wait for the Pos "
        "delivery if you chose it.",
    ),
    "collected": _T("Selesai. Dokumen sudah Anda ambil.", "Done. You collected the document."),
    "delivered": _T(
        "Dokumen sudah dikirim lewat Pos ke alamat Anda.",
        "The document was sent by Pos to your address.",
    ),
    "rejected": _T(
        "Permohonan tidak dapat dilanjutkan. Silakan ke loket pelayanan untuk penjelasan.",
        "The application cannot go on. Please go to the service counter for an explanation.",
    ),
    "in_process": _T(
        "Dokumen sedang diproses. Cek lagi dalam beberapa hari.",
        "The document is being processed. Check again in a few days.",
    ),
    "completed": _T(
        "Dokumen selesai. Ambil di kantor dengan membawa tiket ini.",
        "The document is ready. Collect it at the office with this ticket.",
    ),
}
NEXT_STEP_UNKNOWN = _T(
    "Untuk keterangan lebih lanjut, silakan tanyakan ke petugas.",
    "For more information, please ask an attendant.",
)
# Statuses where the verification date still matters to the citizen.
SLOT_MATTERS = frozenset({"submitted", "under_review", "approved"})


def next_step(status: str) -> Text:
    """What the citizen should do next for an application in `status`."""
    return NEXT_STEPS.get(status, NEXT_STEP_UNKNOWN)
