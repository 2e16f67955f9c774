"""The A4 receipt PDF: content checked through pdftotext (poppler-utils)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from datetime import date

import pytest

from drivers.card_reader.citizens import citizen
from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Receipt, Slot
from kiosk_app.services.printing.receipt_pdf import FONT_DIRS, render_receipt_pdf

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(
    PDFTOTEXT is None, reason="pdftotext (Debian package poppler-utils) is not installed"
)

APPLICANT = citizen(1)


def make_receipt(**changes: object) -> Receipt:
    """A receipt for a fictional applicant; keyword arguments override fields."""
    receipt = Receipt(
        registration_number="PRA-3517-20261122-0042",
        service=Text("Akta Kelahiran", "Birth certificate"),
        for_whom="AHMAD RIZKI (anak)",
        applicant_nik_masked=mask_nik(APPLICANT.nik),
        applicant_name=APPLICANT.name,
        address=f"{APPLICANT.address}, RT/RW {APPLICANT.rt_rw}, {APPLICANT.kelurahan_desa}",
        status=Text("Menunggu verifikasi", "Awaiting verification"),
        slot=Slot(date(2026, 11, 23), "08.00-11.00"),
        purpose=Text("Penerbitan akta kelahiran", "Issuing a birth certificate"),
        office_name="DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL KABUPATEN JOMBANG",
        qr_payload="ANJUNGAN:PRA-3517-20261122-0042",
        issued_at="22-11-2026 10:15",
        kiosk_id="KIOSK-JBG-01",
    )
    return dataclasses.replace(receipt, **changes)


def pdf_text(pdf: bytes) -> str:
    """Extract the text of `pdf` with pdftotext."""
    assert PDFTOTEXT is not None
    done = subprocess.run(
        [PDFTOTEXT, "-raw", "-", "-"], input=pdf, capture_output=True, timeout=30, check=True
    )
    return " ".join(done.stdout.decode("utf-8").split())


def test_receipt_is_a_deterministic_pdf() -> None:
    pdf = render_receipt_pdf(make_receipt())
    assert pdf.startswith(b"%PDF")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert render_receipt_pdf(make_receipt()) == pdf
    assert render_receipt_pdf(make_receipt(registration_number="PRA-X")) != pdf


@needs_pdftotext
def test_receipt_shows_registration_and_masked_nik_only() -> None:
    text = pdf_text(render_receipt_pdf(make_receipt()))
    assert "TANDA TERIMA PRA-PERMOHONAN" in text
    assert "PRA-3517-20261122-0042" in text
    assert mask_nik(APPLICANT.nik) in text
    assert APPLICANT.nik not in text
    assert "Senin, 23 November 2026" in text and "08.00-11.00 WIB" in text
    assert "KIOSK-JBG-01" in text and "Akta Kelahiran" in text
    assert "Pre-application receipt" not in text
    assert "OFFLINE" not in text


@needs_pdftotext
def test_english_offline_receipt_with_summary() -> None:
    summary = [("Nama anak", "AHMAD RIZKI"), ("Catatan <&>", "a & b < c")]
    text = pdf_text(render_receipt_pdf(make_receipt(offline=True), "en", summary))
    assert "Pre-application receipt" in text
    assert "Monday, 23 November 2026" in text
    assert "Birth certificate" in text
    assert "OFFLINE" in text
    assert "AHMAD RIZKI" in text and "a & b < c" in text


def test_empty_qr_and_long_values_do_not_crash() -> None:
    pdf = render_receipt_pdf(make_receipt(qr_payload="", address="JL. PANJANG " * 60))
    assert pdf.startswith(b"%PDF")


def test_the_shipped_fonts_are_found_first() -> None:
    # A kiosk without fonts-dejavu still prints Indonesian text in the font we ship.
    assert (FONT_DIRS[0] / "DejaVuSans.ttf").is_file()
    assert (FONT_DIRS[0] / "DejaVuSans-Bold.ttf").is_file()
