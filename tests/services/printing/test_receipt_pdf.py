"""The A4 receipt PDF: content, pages and QR read back with poppler-utils and zxing-cpp."""

from __future__ import annotations

import dataclasses
import io
import logging
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from drivers.card_reader.citizens import citizen
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import SubmissionReceipt
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Letterhead, Receipt, Slot
from kiosk_app.services.printing.receipt_pdf import FONT_DIRS, KEY_ROWS, render_receipt_pdf
from kiosk_app.services.printing.service import PrintingService

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(
    PDFTOTEXT is None or shutil.which("pdfinfo") is None or shutil.which("pdftoppm") is None,
    reason="pdftotext, pdfinfo and pdftoppm (Debian package poppler-utils) are not installed",
)

APPLICANT = citizen(1)
LOGO = Path(__file__).resolve().parents[3] / "assets" / "images" / "office-logo.png"
KOP = Letterhead(
    government="PEMERINTAH KABUPATEN JOMBANG",
    office="DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
    address="Jl. Uji Coba No. 7, Jombang",
    telephone="(0321) 861234",
    logo=str(LOGO),
)
ORIGINALS = SERVICES["akta_kelahiran"].required_documents


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
        queue_number="A-017",
        originals=ORIGINALS,
        letterhead=KOP,
    )
    return dataclasses.replace(receipt, **changes)


def pages(pdf: bytes) -> int:
    """The page count pdfinfo reads."""
    done = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, timeout=30, check=True)
    [line] = [x for x in done.stdout.decode().splitlines() if x.startswith("Pages:")]
    return int(line.split()[1])


def first_page(pdf: bytes, dpi: int = 150) -> Image.Image:
    """Page 1 as printed at `dpi`, drawn by pdftoppm."""
    done = subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-png", "-"],
        input=pdf,
        capture_output=True,
        timeout=60,
        check=True,
    )
    return Image.open(io.BytesIO(done.stdout)).convert("L")


def long_summary(rows: int = 40) -> list[tuple[str, str]]:
    """A form as long as the longest (pindah with its moving members)."""
    return [(f"Isian ke-{i}", f"NILAI ISIAN {i} " * (1 + i % 3)) for i in range(1, rows + 1)]


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


@needs_pdftotext
def test_receipt_is_one_page_with_kop_numbers_qr_originals_and_notes() -> None:
    pdf = render_receipt_pdf(make_receipt(), "id", long_summary())
    assert pages(pdf) == 1
    text = pdf_text(pdf)
    for kop_line in (KOP.government, KOP.office, KOP.address, KOP.telephone):
        assert kop_line in text
    assert "Nomor Antrean" in text and "A-017" in text
    assert "Senin, 23 November 2026, pukul 08.00-11.00 WIB" in text
    assert "Dokumen asli yang dibawa" in text
    assert all(doc.id in text for doc in ORIGINALS)
    assert all(note.id[:40] in text for note in make_receipt().notes)
    # The key rows of the form; the rest stays with the application on the server.
    assert "NILAI ISIAN 1 " in text + " " and f"Isian ke-{KEY_ROWS}" in text
    assert f"Isian ke-{KEY_ROWS + 1}" not in text
    assert f"{40 - KEY_ROWS} isian lainnya tersimpan" in text
    assert (
        zxingcpp.read_barcodes(first_page(pdf), formats=zxingcpp.BarcodeFormat.QRCode)[0].text
        == "ANJUNGAN:PRA-3517-20261122-0042"
    )


@needs_pdftotext
@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_worst_case_still_fits_one_page(lang: str) -> None:
    worst = make_receipt(
        offline=True, address="JL. PANJANG SEKALI " * 40, for_whom="NAMA YANG SANGAT PANJANG " * 8
    )
    pdf = render_receipt_pdf(worst, lang, long_summary(80))
    assert pages(pdf) == 1
    text = pdf_text(pdf)
    assert "OFFLINE" in text and "A-017" in text and "Catatan" in text
    assert (
        zxingcpp.read_barcodes(first_page(pdf, 200), formats=zxingcpp.BarcodeFormat.QRCode)[0].text
        == worst.qr_payload
    )


def test_the_logo_is_embedded_and_a_missing_one_is_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with_logo = render_receipt_pdf(make_receipt())
    without = render_receipt_pdf(make_receipt(letterhead=dataclasses.replace(KOP, logo="")))
    assert b"/Subtype /Image" in with_logo and b"/Subtype /Image" not in without
    with caplog.at_level(logging.WARNING):
        missing = render_receipt_pdf(
            make_receipt(letterhead=dataclasses.replace(KOP, logo="/nonexistent/logo.png"))
        )
    assert b"/Subtype /Image" not in missing and "logo" in caplog.text


@needs_pdftotext
def test_without_a_configured_office_the_server_office_name_heads_the_page() -> None:
    text = pdf_text(render_receipt_pdf(make_receipt(letterhead=Letterhead())))
    assert "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL KABUPATEN JOMBANG" in text
    assert "PEMERINTAH" not in text


@needs_pdftotext
def test_the_printing_service_prints_the_kop_queue_number_and_originals(tmp_path: Path) -> None:
    a4 = SimulatedDocumentPrinter()
    printing = PrintingService(
        SimulatedTicketPrinter(), a4, kiosk_id="KIOSK-JBG-01", letterhead=KOP
    )
    info = SERVICES["akta_kelahiran"]
    answer = SubmissionReceipt(
        "AKTA-35.17.261122.0007",
        "B-042",
        "submitted",
        info.key,
        "3517",
        "Disdukcapil Kab. Jombang",
        Slot(date(2026, 11, 24), "08.00-09.00"),
        "",
    )
    result = printing.print_pre_application(
        receipt=answer, info=info, identity=APPLICANT, values=sample_birth_values(), language="id"
    )
    assert result.receipt_printed
    [(_title, pdf)] = a4.printed
    assert pages(pdf) == 1
    text = pdf_text(pdf)
    assert KOP.government in text and "B-042" in text and "AKTA-35.17.261122.0007" in text
    assert all(doc.id in text for doc in info.required_documents)
    assert APPLICANT.nik not in text


def test_the_kop_logo_carries_no_transparency() -> None:
    # A soft mask makes CUPS's filters rasterise the whole page: the receipt would print as a
    # 300 dpi picture (the UI privacy canary saw cups-pdf's copy lose every word).
    pdf = render_receipt_pdf(make_receipt())
    assert b"/Image" in pdf and b"/SMask" not in pdf
