"""Render a Ticket as the 1-bit bitmap an 80 mm thermal printer prints (576 dots at 203 dpi)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from kiosk_app.domain.dates import long_date
from kiosk_app.domain.ticket import Ticket

WIDTH = 576  # 72 mm printable at 203 dpi
MARGIN = 16
_MAX_HEIGHT = 6000

FONT_DIRS = (
    Path(__file__).resolve().parents[2] / "assets" / "fonts",
    Path("/usr/share/fonts/truetype/dejavu"),
)


_LABELS = {
    "id": {
        "queue": "NOMOR ANTREAN",
        "reg": "No. Registrasi",
        "service": "Layanan",
        "name": "Nama",
        "schedule": "Jadwal verifikasi",
        "window": "pukul {window} WIB",
        "issued": "Dicetak",
        "offline": "OFFLINE - akan dikirim otomatis",
    },
    "en": {
        "queue": "QUEUE NUMBER",
        "reg": "Registration no.",
        "service": "Service",
        "name": "Name",
        "schedule": "Verification",
        "window": "at {window} WIB",
        "issued": "Issued",
        "offline": "OFFLINE - will be sent automatically",
    },
}


def font_path(bold: bool = False) -> Path | None:
    """Return the DejaVu Sans TTF shipped in assets/fonts (or the system copy), if any."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=64)
def load_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Load DejaVu Sans at `size` px, falling back to Pillow's built-in font."""
    path = font_path(bold)
    if path is not None:
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def qr_matrix(payload: str, border: int = 4) -> list[list[bool]]:
    """Return the QR code modules (True = dark) of `payload`, quiet zone included."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=border)
    qr.add_data(payload)
    qr.make(fit=True)
    return [list(row) for row in qr.get_matrix()]


def wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """Split `text` into lines no wider than `width` pixels (long words are cut)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if font.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while font.getlength(word) > width and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and font.getlength(word[:cut]) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


class _Canvas:
    """A tall white strip we draw on top to bottom, then crop to the used height."""

    def __init__(self) -> None:
        """Start an empty strip."""
        self.image = Image.new("L", (WIDTH, _MAX_HEIGHT), 255)
        self.draw = ImageDraw.Draw(self.image)
        self.y = MARGIN

    def text(
        self,
        text: str,
        size: int,
        bold: bool = False,
        align: str = "left",
        indent: int = 0,
        gap: int = 6,
    ) -> None:
        """Draw word-wrapped text."""
        font = load_font(size, bold)
        inner = WIDTH - 2 * MARGIN - indent
        for line in wrap(text, font, inner):
            left, top, right, bottom = self.draw.textbbox((0, 0), line or " ", font=font)
            x = MARGIN + indent
            if align == "center":
                x = (WIDTH - (right - left)) // 2 - left
            self.draw.text((x, self.y), line, font=font, fill=0)
            self.y += int(size * 1.25)
        self.y += gap

    def field(self, label: str, value: str, size: int = 24) -> None:
        """Draw a small label above a bold value."""
        self.text(label, size - 6, gap=0)
        self.text(value, size, bold=True, gap=10)

    def rule(self, dashed: bool = False, gap: int = 12) -> None:
        """Draw a horizontal separator."""
        y = self.y + gap // 2
        if dashed:
            for x in range(MARGIN, WIDTH - MARGIN, 16):
                self.draw.line([(x, y), (x + 8, y)], fill=0, width=2)
        else:
            self.draw.line([(MARGIN, y), (WIDTH - MARGIN, y)], fill=0, width=3)
        self.y += gap

    def qr(self, payload: str, target: int = 264) -> None:
        """Draw a centred QR code about `target` pixels wide with whole-dot modules."""
        matrix = qr_matrix(payload)
        box = max(2, target // len(matrix))
        side = box * len(matrix)
        x0 = (WIDTH - side) // 2
        for r, row in enumerate(matrix):
            for c, dark in enumerate(row):
                if dark:
                    x, y = x0 + c * box, self.y + r * box
                    self.draw.rectangle((x, y, x + box - 1, y + box - 1), fill=0)
        self.y += side + 4

    def banner(self, text: str, size: int = 24) -> None:
        """Draw white text on a black bar (reverse print) so it cannot be missed."""
        font = load_font(size, True)
        lines = wrap(text, font, WIDTH - 2 * MARGIN - 16)
        height = len(lines) * int(size * 1.25) + 16
        self.draw.rectangle((MARGIN, self.y, WIDTH - MARGIN, self.y + height), fill=0)
        y = self.y + 8
        for line in lines:
            left, _, right, _ = self.draw.textbbox((0, 0), line, font=font)
            self.draw.text(((WIDTH - (right - left)) // 2 - left, y), line, font=font, fill=255)
            y += int(size * 1.25)
        self.y += height + 10

    def finish(self) -> Image.Image:
        """Crop to the used height (plus feed before the cut) and make it 1-bit."""
        height = min(_MAX_HEIGHT, self.y + MARGIN * 2)
        return self.image.crop((0, 0, WIDTH, height)).point(lambda p: 255 if p > 140 else 0, "1")


def render_ticket(ticket: Ticket, lang: str = "id") -> Image.Image:
    """Return the ticket as a 576-px-wide 1-bit image whose height grows with the content."""
    lang = "en" if lang == "en" else "id"
    labels = _LABELS[lang]
    canvas = _Canvas()
    canvas.text(ticket.office_name, 24, bold=True, align="center", gap=2)
    canvas.rule()
    canvas.text(labels["queue"], 22, align="center", gap=0)
    canvas.text(ticket.queue_number, 96, bold=True, align="center", gap=8)
    canvas.rule(dashed=True)
    canvas.field(labels["reg"], ticket.registration_number)
    canvas.field(labels["service"], ticket.service(lang))
    canvas.field(labels["name"], ticket.masked_name)
    canvas.text(labels["schedule"], 18, gap=0)
    canvas.text(long_date(ticket.slot.date, lang), 26, bold=True, gap=0)
    canvas.text(labels["window"].format(window=ticket.slot.window), 26, bold=True, gap=10)
    if ticket.qr_payload:
        canvas.qr(ticket.qr_payload)
    canvas.rule(dashed=True)
    for note in ticket.notes:
        canvas.text("\u2022 " + note(lang), 18, gap=4)
    canvas.rule(dashed=True)
    canvas.text(f"{labels['issued']}: {ticket.issued_at}", 18, align="center", gap=4)
    if ticket.offline:
        canvas.banner(labels["offline"])
    return canvas.finish()
