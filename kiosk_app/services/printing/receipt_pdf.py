"""Lay the A4 receipt "TANDA TERIMA PRA-PERMOHONAN" out on one page as a PDF (reportlab)."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from xml.sax.saxutils import escape

import qrcode
from PIL import Image as PILImage
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Image,
    KeepInFrame,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from kiosk_app.domain.dates import long_date
from kiosk_app.domain.text import Language, Text, as_language
from kiosk_app.domain.ticket import COPY_MARK, Letterhead, Receipt

log = logging.getLogger(__name__)

FONT_DIRS = (
    Path(__file__).resolve().parents[3] / "assets" / "fonts",
    Path("/usr/share/fonts/truetype/dejavu"),
)
TITLE = "TANDA TERIMA PRA-PERMOHONAN"
SUBTITLE_EN = "Pre-application receipt"
MARGIN = 15 * mm
PADDING = 12  # points: a frame's 6 pt padding on both sides
WIDTH = A4[0] - 2 * MARGIN - PADDING  # about 176 mm of content
KEY_ROWS = 12  # form rows on paper; the whole form stays on the server

LABELS = {
    "reg": Text("Nomor Registrasi", "Registration number"),
    "queue": Text("Nomor Antrean", "Queue number"),
    "slot": Text("Jadwal verifikasi", "Verification date and time"),
    "service": Text("Layanan", "Service"),
    "for": Text("Untuk", "For"),
    "nik": Text("NIK Pemohon", "Applicant's NIK"),
    "name": Text("Nama Pemohon", "Applicant's name"),
    "address": Text("Alamat", "Address"),
    "status": Text("Status", "Status"),
    "purpose": Text("Keperluan", "Purpose"),
    "summary": Text("Data utama isian", "Key data of the form"),
    "more": Text(
        "{count} isian lainnya tersimpan pada permohonan di server Disdukcapil.",
        "{count} more entries are kept with the application on the Disdukcapil server.",
    ),
    "originals": Text(
        "Dokumen asli yang dibawa saat verifikasi",
        "Original documents to bring to the verification",
    ),
    "notes": Text("Catatan", "Notes"),
    "issued": Text("Dicetak", "Issued"),
    "kiosk": Text("Anjungan", "Kiosk"),
    "telephone": Text("Telp.", "Tel."),
    "window": Text("pukul {window} WIB", "at {window} WIB"),
    "offline": Text(
        "OFFLINE - pra-permohonan ini tersimpan di anjungan dan akan dikirim otomatis saat "
        "jaringan tersedia.",
        "OFFLINE - this pre-application is stored on the kiosk and will be sent automatically "
        "when the network is available.",
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


def _label(key: str, lang: Language) -> str:
    """Indonesian label, with the English one beside it when the citizen chose English."""
    text = LABELS[key]
    return f"{text.id} / {text.en}" if lang == "en" and text.en != text.id else text.id


def _qr_drawing(payload: str, size: float) -> Drawing:
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
                module = Rect(c * box, size - (r + 1) * box, box, box)
                module.fillColor, module.strokeColor, module.strokeWidth = colors.black, None, 0
                drawing.add(module)
    return drawing


class _Styles:
    """The paragraph styles of the receipt, in DejaVu Sans."""

    def __init__(self) -> None:
        """Register the fonts and derive every style from one base."""
        regular, bold = _register_fonts()
        self.base = ParagraphStyle("base", fontName=regular, fontSize=9.5, leading=12)
        self.small = ParagraphStyle("small", parent=self.base, fontSize=8.5, leading=10.5)
        self.label = ParagraphStyle(
            "label", parent=self.small, textColor=colors.HexColor("#333333")
        )
        self.strong = ParagraphStyle("strong", parent=self.base, fontName=bold)
        self.centered = ParagraphStyle("centered", parent=self.base, alignment=TA_CENTER)
        self.government = ParagraphStyle(
            "government", parent=self.centered, fontName=bold, fontSize=12, leading=15
        )
        self.office = ParagraphStyle("office", parent=self.government, fontSize=12.5, leading=15.5)
        self.contact = ParagraphStyle("contact", parent=self.centered, fontSize=9, leading=11)
        self.title = ParagraphStyle(
            "title", parent=self.centered, fontName=bold, fontSize=15, leading=19
        )
        self.number = ParagraphStyle(
            "number", parent=self.base, fontName=bold, fontSize=13, leading=16
        )
        self.queue = ParagraphStyle("queue", parent=self.number, fontSize=24, leading=28)
        self.notice = ParagraphStyle("notice", parent=self.strong, textColor=colors.white)


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (markup characters escaped)."""
    return Paragraph(escape(str(text)), style)


def _opaque_png(path: Path) -> io.BytesIO:
    """The logo flattened onto white: a transparent image (a soft mask in the PDF) makes CUPS's
    filters rasterise the whole page, so the receipt would print as a 300 dpi picture."""
    with PILImage.open(path) as source:
        rgba = source.convert("RGBA")
    flat = PILImage.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, format="PNG")
    out.seek(0)
    return out


def _letterhead(head: Letterhead, office_name: str, s: _Styles) -> list[Flowable]:
    """The kop surat: emblem, government, office, address and telephone, then a double rule."""
    lines = [_p(head.government, s.government)] if head.government else []
    lines.append(_p(head.office or office_name, s.office))
    contact = " \u00b7 ".join(
        part
        for part in (
            head.address,
            f"{LABELS['telephone'].id} {head.telephone}" if head.telephone else "",
        )
        if part
    )
    if contact:
        lines.append(_p(contact, s.contact))
    logo: Flowable | str = ""
    if head.logo and Path(head.logo).is_file():
        logo = Image(_opaque_png(Path(head.logo)), width=22 * mm, height=22 * mm)
    elif head.logo:
        log.warning("receipt: office logo %s not found; printing the kop without it", head.logo)
    # The right column balances the emblem, narrower so a long office name keeps to one line.
    kop = Table([[logo, lines, ""]], colWidths=[26 * mm, WIDTH - 44 * mm, 18 * mm])
    kop.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (0, 0), 0)])
    )
    return [
        kop,
        Spacer(1, 1.5 * mm),
        HRFlowable(width="100%", thickness=2.2, color=colors.black, spaceAfter=1),
        HRFlowable(width="100%", thickness=0.6, color=colors.black, spaceAfter=0),
    ]


def _numbers(receipt: Receipt, lang: Language, s: _Styles) -> Table:
    """Registration and queue numbers, the verification date and window, and the QR."""
    slot = (
        f"{long_date(receipt.slot.date, lang)}, "
        f"{LABELS['window'].format(window=receipt.slot.window)(lang)}"
    )
    qr: Flowable | str = _qr_drawing(receipt.qr_payload, 36 * mm) if receipt.qr_payload else ""
    table = Table(
        [
            [_p(_label("reg", lang), s.label), _p(_label("queue", lang), s.label), qr],
            [
                _p(receipt.registration_number, s.number),
                _p(receipt.queue_number or "-", s.queue),
                "",
            ],
            [_p(_label("slot", lang), s.label), "", ""],
            [_p(slot, s.number), "", ""],
        ],
        colWidths=[80 * mm, 58 * mm, WIDTH - 138 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (1, -1), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (1, 1), 0.5, colors.grey),
                ("SPAN", (2, 0), (2, -1)),
                ("SPAN", (0, 2), (1, 2)),
                ("SPAN", (0, 3), (1, 3)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("VALIGN", (2, 0), (2, -1), "MIDDLE"),
                ("ALIGN", (2, 0), (2, -1), "RIGHT"),
                ("BACKGROUND", (0, 0), (1, -1), colors.HexColor("#F2F2F2")),
            ]
        )
    )
    return table


def _details(receipt: Receipt, lang: Language, s: _Styles) -> Table:
    """Who applied for what: the service, for whom, the masked NIK, name and address."""
    rows = [
        ("service", receipt.service(lang)),
        ("for", receipt.for_whom),
        ("nik", receipt.applicant_nik_masked),
        ("name", receipt.applicant_name),
        ("address", receipt.address),
        ("status", receipt.status(lang)),
        ("purpose", receipt.purpose(lang)),
    ]
    table = Table(
        [[_p(_label(k, lang), s.label), _p(v, s.base)] for k, v in rows if v],
        colWidths=[48 * mm, WIDTH - 48 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#EEEEEE")),
            ]
        )
    )
    return table


def _summary(summary: list[tuple[str, str]], lang: Language, s: _Styles) -> list[Flowable]:
    """The form's first KEY_ROWS rows, two pairs a line; a line counts the rest."""
    if not summary:
        return []
    shown = summary[:KEY_ROWS]
    cells: list[list[Paragraph | str]] = [
        [_p(label, s.label), _p(value, s.small)] for label, value in shown
    ]
    if len(cells) % 2:
        cells.append(["", ""])
    grid = [cells[i] + cells[i + 1] for i in range(0, len(cells), 2)]
    half = WIDTH / 2
    table = Table(grid, colWidths=[34 * mm, half - 34 * mm] * 2)
    table.setStyle(
        TableStyle(
            [("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        )
    )
    story: list[Flowable] = [Spacer(1, 3 * mm), _p(_label("summary", lang), s.strong), table]
    if len(summary) > len(shown):
        story.append(_p(LABELS["more"].format(count=len(summary) - len(shown))(lang), s.small))
    return story


def _originals(receipt: Receipt, lang: Language, s: _Styles) -> list[Flowable]:
    """The numbered list of original documents to bring to the counter."""
    if not receipt.originals:
        return []
    return [Spacer(1, 3 * mm), _p(_label("originals", lang) + ":", s.strong)] + [
        _p(f"{i}. {doc(lang)}", s.base) for i, doc in enumerate(receipt.originals, 1)
    ]


def _footer(receipt: Receipt, lang: Language, s: _Styles) -> list[Flowable]:
    """The offline notice if any, the notes, and when and where it was printed."""
    story: list[Flowable] = [Spacer(1, 3 * mm)]
    if receipt.offline:
        banner = Table(
            [[_p(LABELS["offline"].id, s.notice)]]
            + ([[_p(LABELS["offline"].en, s.notice)]] if lang == "en" else []),
            colWidths=[WIDTH],
        )
        banner.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.black)]))
        story += [banner, Spacer(1, 3 * mm)]
    story.append(_p(_label("notes", lang) + ":", s.strong))
    story += [_p(f"{i}. {note(lang)}", s.small) for i, note in enumerate(receipt.notes, 1)]
    story += [
        Spacer(1, 2 * mm),
        _p(
            f"{LABELS['issued'](lang)}: {receipt.issued_at} \u00b7 "
            f"{LABELS['kiosk'](lang)}: {receipt.kiosk_id}",
            s.small,
        ),
    ]
    return story


def _copy_banner(receipt: Receipt, lang: Language, s: _Styles) -> Table:
    """ "CETAK ULANG <time>" in white on black: a copy printed again, not the original."""
    style = ParagraphStyle("copy", parent=s.notice, alignment=TA_CENTER)
    banner = Table([[_p(COPY_MARK.format(at=receipt.copied_at)(lang), style)]], colWidths=[WIDTH])
    banner.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.black)]))
    return banner


def render_receipt_pdf(
    receipt: Receipt, language: str = "id", summary: list[tuple[str, str]] | None = None
) -> bytes:
    """Return the A4 receipt as a one-page PDF (deterministic for the same input)."""
    lang = as_language(language)
    s = _Styles()
    story: list[Flowable] = _letterhead(receipt.letterhead, receipt.office_name, s)
    story += [Spacer(1, 4 * mm), _p(TITLE, s.title)]
    if lang == "en":
        story.append(_p(SUBTITLE_EN, s.centered))
    if receipt.copied_at:
        story += [Spacer(1, 2 * mm), _copy_banner(receipt, lang, s)]
    story += [
        Spacer(1, 4 * mm),
        _numbers(receipt, lang, s),
        Spacer(1, 3 * mm),
        _details(receipt, lang, s),
    ]
    story += _summary(summary or [], lang, s)
    story += _originals(receipt, lang, s)
    story += _footer(receipt, lang, s)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=TITLE,
        author=receipt.office_name,
        invariant=True,
    )
    # Long values (an address, many notes) shrink the page's content rather than spill onto a
    # second sheet: the receipt is one page by design.
    doc.build([KeepInFrame(WIDTH, A4[1] - 2 * MARGIN - PADDING, story, mode="shrink")])
    return out.getvalue()
