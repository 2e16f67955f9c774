"""DejaVu fonts for drivers that draw (the printer emulator, the scanner simulator)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TypeAlias

from PIL import ImageFont

# The copy shipped in assets/fonts first, then Debian's fonts-dejavu-core (the Mono faces are
# not shipped: only the emulator uses them, and only on development machines).
FONT_DIRS = (
    Path(__file__).resolve().parents[1] / "assets" / "fonts",
    Path("/usr/share/fonts/truetype/dejavu"),
)

Font: TypeAlias = ImageFont.FreeTypeFont | ImageFont.ImageFont


def font_path(bold: bool = False, mono: bool = False) -> Path | None:
    """Return the DejaVu Sans (or Sans Mono) TTF file, if any is installed."""
    name = f"DejaVuSans{'Mono' if mono else ''}{'-Bold' if bold else ''}.ttf"
    for folder in FONT_DIRS:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=64)
def load_font(size: int, bold: bool = False, mono: bool = False) -> Font:
    """Load DejaVu Sans (or Sans Mono) at `size` px, falling back to Pillow's built-in font."""
    path = font_path(bold, mono)
    if path is not None:
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)
