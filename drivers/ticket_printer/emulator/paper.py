"""The emulated print head: lays out text, raster images and QR codes on 80 mm paper."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import qrcode
from PIL import Image, ImageDraw

from drivers.fonts import load_font

WIDTH = 576  # 72 mm printable at 203 dpi (an 80 mm roll)
FONTS = {0: (12, 24), 1: (9, 17)}  # Font A and Font B cells in dots
DEFAULT_LINE_SPACING = 30
_QR_EC = {
    48: qrcode.constants.ERROR_CORRECT_L,
    49: qrcode.constants.ERROR_CORRECT_M,
    50: qrcode.constants.ERROR_CORRECT_Q,
    51: qrcode.constants.ERROR_CORRECT_H,
}


@dataclass(frozen=True)
class Style:
    """The character attributes in force when a character is received."""

    font: int = 0
    bold: bool = False
    underline: int = 0
    width: int = 1
    height: int = 1
    invert: bool = False


@lru_cache(maxsize=2048)
def glyph(char: str, style: Style) -> Image.Image:
    """Return the 1-bit cell of `char` as the printer's character generator would draw it."""
    cw, ch = FONTS.get(style.font, FONTS[0])
    cell = Image.new("L", (cw, ch), 0 if style.invert else 255)
    draw = ImageDraw.Draw(cell)
    font = load_font(round(ch * 0.8), style.bold, mono=True)  # closest to a printer's font
    ink = 255 if style.invert else 0
    draw.text((cw / 2, ch * 0.82), char, font=font, fill=ink, anchor="ms")
    if style.underline:
        draw.rectangle((0, ch - style.underline, cw - 1, ch - 1), fill=ink)
    cell = cell.point(lambda p: 255 if p > 128 else 0)
    if style.width > 1 or style.height > 1:  # real printers enlarge the dot pattern
        cell = cell.resize((cw * style.width, ch * style.height), Image.Resampling.NEAREST)
    return cell


class Paper:
    """The strip of paper being printed: a line buffer, then rows of dots until the cut."""

    def __init__(self, width: int = WIDTH) -> None:
        """Start with blank paper."""
        self.width = width
        self.line_spacing = DEFAULT_LINE_SPACING
        self.align = 0
        self._rows: list[Image.Image] = []
        self._line: list[tuple[str, Style]] = []
        self._line_width = 0

    @property
    def height(self) -> int:
        """Dots of paper fed since the last cut."""
        return sum(r.height for r in self._rows)

    def is_blank(self) -> bool:
        """True when nothing has been printed or fed since the last cut."""
        return not self._rows and not self._line

    def char(self, char: str, style: Style) -> None:
        """Put one character in the line buffer, wrapping to a new line when full."""
        cw = FONTS.get(style.font, FONTS[0])[0] * style.width
        if self._line_width + cw > self.width:
            self.print_line()
        self._line.append((char, style))
        self._line_width += cw

    def print_line(self, feed: bool = True) -> None:
        """Print the line buffer (LF): align it, then feed one line."""
        height = max((FONTS.get(s.font, FONTS[0])[1] * s.height for _, s in self._line), default=0)
        advance = max(height, self.line_spacing) if feed else height
        if advance == 0:
            return
        row = Image.new("L", (self.width, advance), 255)
        x = self._x_for(self._line_width)
        for char, style in self._line:
            cell = glyph(char, style)
            row.paste(cell, (x, height - cell.height))
            x += cell.width
        self._rows.append(row)
        self._line, self._line_width = [], 0

    def flush(self) -> None:
        """Print pending characters without an extra feed (before an image or a QR)."""
        if self._line:
            self.print_line(feed=False)

    def feed(self, dots: int) -> None:
        """Feed blank paper."""
        self.flush()
        if dots > 0:
            self._rows.append(Image.new("L", (self.width, dots), 255))

    def raster(
        self, width_bytes: int, height: int, data: bytes, scale_x: int = 1, scale_y: int = 1
    ) -> None:
        """Print a GS v 0 raster bit image (MSB first, 1 = black) at the current alignment."""
        self.flush()
        image = Image.frombytes("1", (width_bytes * 8, height), data)
        image = Image.eval(image.convert("L"), lambda p: 255 - p)  # PIL "1": 1 = white
        if scale_x > 1 or scale_y > 1:
            image = image.resize(
                (image.width * scale_x, image.height * scale_y), Image.Resampling.NEAREST
            )
        self._place(image)

    def qr(self, payload: bytes, module: int, ec: int) -> list[list[bool]]:
        """Print a QR symbol of `payload` with `module`-dot modules; return its module matrix."""
        self.flush()
        code = qrcode.QRCode(error_correction=_QR_EC.get(ec, _QR_EC[48]), border=0)
        code.add_data(payload)
        code.make(fit=True)
        matrix = [list(row) for row in code.get_matrix()]
        side = len(matrix) * module
        image = Image.new("L", (side, side), 255)
        draw = ImageDraw.Draw(image)
        for r, row in enumerate(matrix):
            for c, dark in enumerate(row):
                if dark:
                    draw.rectangle(
                        (c * module, r * module, (c + 1) * module - 1, (r + 1) * module - 1), fill=0
                    )
        self._place(image)
        return matrix

    def cut(self) -> Image.Image:
        """Cut: return the printed piece as a 1-bit image and start fresh paper."""
        self.flush()
        height = max(1, self.height)
        piece = Image.new("L", (self.width, height), 255)
        y = 0
        for row in self._rows:
            piece.paste(row, (0, y))
            y += row.height
        self._rows = []
        return piece.convert("1", dither=Image.Dither.NONE)

    def discard(self) -> None:
        """Lose whatever was on the paper (paper ran out, cover opened)."""
        self._rows, self._line, self._line_width = [], [], 0

    def _place(self, image: Image.Image) -> None:
        """Append an image row at the current alignment, clipped to the paper width."""
        image = image.crop((0, 0, min(image.width, self.width), image.height))
        row = Image.new("L", (self.width, image.height), 255)
        row.paste(image, (self._x_for(image.width), 0))
        self._rows.append(row)

    def _x_for(self, used: int) -> int:
        """Left offset of something `used` dots wide under the current alignment."""
        free = max(0, self.width - used)
        return {1: free // 2, 2: free}.get(self.align, 0)


def styled(style: Style, **changes: Any) -> Style:
    """Return `style` with some attributes changed."""
    return replace(style, **changes)
