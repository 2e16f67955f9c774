"""Render the A4 receipt "TANDA TERIMA PRA-PERMOHONAN" as a PDF (reportlab)."""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

import qrcode
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from kiosk_app.domain.dates import long_date
from kiosk_app.domain.text import as_language
from kiosk_app.domain.ticket import Receipt

FONT_DIRS = (
    Path(__file__).resolve().parents[3] / "assets" / "fonts",
    Path("/usr/share/fonts/truetype/dejavu"),
)
TITLE = "TANDA TERIMA PRA-PERMOHONAN"
SUBTITLE_EN = "Pre-application receipt"

# (Indonesian label, English label)
_LABELS = {
    "reg": ("Nomor Registrasi", "Registration number"),
    "service": ("Layanan", "Service"),
    "for": ("Untuk", "For"),
    "nik": ("NIK Pemohon", "Applicant's NIK"),
    "name": ("Nama Pemohon", "Applicant's name"),
    "address": ("Alamat", "Address"),
    "status": ("Status", "Status"),
    "slot": ("Tanggal & Jam verifikasi", "Verification date & time"),
    "purpose": ("Keperluan", "Purpose"),
    "summary": ("Ringkasan isian", "Summary of the form"),
    "notes": ("Catatan", "Notes"),
    "issued": ("Dicetak", "Issued"),
    "kiosk": ("Anjungan", "Kiosk"),
    "offline": (
        "OFFLINE - pra-permohonan ini tersimpan di anjungan dan akan dikirim otomatis "
        "saat jaringan tersedia.",
        "OFFLINE - this pre-application is stored on the kiosk and will be sent "
        "automatically when the network is available.",
    ),
}


def _register_fonts() -> tuple[str, str]:
    """Register DejaVu Sans with reportlab once; fall back to Helvetica if it is missing."""
    names = ("DejaVuSans", "DejaVuSans-Bold")
    if all(n in pdfmetrics.getRegisteredFontNames() for n in names):
        return names
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont(names[0], str(regular)))
            pdfmetrics.registerFont(TTFont(names[1], str(bold)))
            return names
    return "Helvetica", "Helvetica-Bold"


def _label(key: str, lang: str) -> str:
    """Indonesian label, with the English one beside it when the citizen chose English."""
    id_, en = _LABELS[key]
    return f"{id_} / {en}" if lang == "en" else id_


def _qr_drawing(payload: str, size: float = 38 * mm) -> Drawing:
    """Draw the QR code of `payload` as vector squares."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(payload)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    box = size / len(matrix)
    drawing = Drawing(size, size)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                y = size - (r + 1) * box
                drawing.add(
                    Rect(
                        c * box,
                        y,
                        box,
                        box,
                        fillColor=colors.black,
                        strokeColor=None,
                        strokeWidth=0,
                    )
                )
    return drawing


def render_receipt_pdf(
    receipt: Receipt, language: str = "id", summary: list[tuple[str, str]] | None = None
) -> bytes:
    """Return the A4 receipt as PDF bytes (deterministic for the same input)."""
    lang = as_language(language)
    regular, bold = _register_fonts()
    base = ParagraphStyle("base", fontName=regular, fontSize=10, leading=13)
    small = ParagraphStyle("small", parent=base, fontSize=8.5, leading=11)
    strong = ParagraphStyle("strong", parent=base, fontName=bold)
    title = ParagraphStyle(
        "title", parent=base, fontName=bold, fontSize=16, leading=20, alignment=TA_CENTER
    )
    centered = ParagraphStyle("centered", parent=base, alignment=TA_CENTER)
    notice = ParagraphStyle("notice", parent=base, fontName=bold, textColor=colors.white)

    def p(text: object, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    story: list[object] = [
        p(
            receipt.office_name,
            ParagraphStyle("office", parent=centered, fontName=bold, fontSize=12, leading=15),
        ),
        Spacer(1, 4 * mm),
        p(TITLE, title),
    ]
    if lang == "en":
        story.append(p(SUBTITLE_EN, centered))
    story.append(Spacer(1, 6 * mm))

    slot_text = f"{long_date(receipt.slot.date, lang)}, " + (
        f"at {receipt.slot.window} WIB" if lang == "en" else f"pukul {receipt.slot.window} WIB"
    )
    rows = [
        ("reg", receipt.registration_number),
        ("service", receipt.service(lang)),
        ("for", receipt.for_whom),
        ("nik", receipt.applicant_nik_masked),
        ("name", receipt.applicant_name),
        ("address", receipt.address),
        ("status", receipt.status(lang)),
        ("slot", slot_text),
        ("purpose", receipt.purpose(lang)),
    ]
    data = [[p(_label(k, lang)), p(v, strong if k == "reg" else base)] for k, v in rows]
    summary_start = len(data)
    if summary:
        data.append([p(_label("summary", lang), strong), ""])
        data.extend([p(label), p(value)] for label, value in summary)
    table = Table(data, colWidths=[64 * mm, 106 * mm])
    style = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (0, summary_start - 1), colors.HexColor("#EEEEEE")),
    ]
    if summary:
        style += [
            ("SPAN", (0, summary_start), (1, summary_start)),
            ("BACKGROUND", (0, summary_start), (1, summary_start), colors.HexColor("#DDDDDD")),
        ]
    table.setStyle(TableStyle(style))
    story += [table, Spacer(1, 6 * mm)]

    if receipt.offline:
        banner = Table(
            [[p(_LABELS["offline"][0], notice)]]
            + ([[p(_LABELS["offline"][1], notice)]] if lang == "en" else []),
            colWidths=[170 * mm],
        )
        banner.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.black)]))
        story += [banner, Spacer(1, 6 * mm)]

    notes = [p(_label("notes", lang) + ":", strong)]
    notes += [p(f"{i}. {note(lang)}", small) for i, note in enumerate(receipt.notes, 1)]
    notes += [
        Spacer(1, 3 * mm),
        p(f"{_LABELS['issued'][lang == 'en']}: {receipt.issued_at}", small),
        p(f"{_LABELS['kiosk'][lang == 'en']}: {receipt.kiosk_id}", small),
    ]
    bottom = Table(
        [[notes, _qr_drawing(receipt.qr_payload) if receipt.qr_payload else ""]],
        colWidths=[128 * mm, 42 * mm],
    )
    bottom.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")])
    )
    story.append(bottom)

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=TITLE,
        author=receipt.office_name,
        invariant=True,
    )
    doc.build(story)
    return out.getvalue()
