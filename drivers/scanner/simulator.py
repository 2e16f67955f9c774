"""A simulated flatbed scanner returning generated A4 pages as PNG bytes."""

from __future__ import annotations

import io
import logging
import threading

from PIL import Image, ImageDraw

from drivers.errors import ScannerUnavailable
from drivers.fonts import load_font

log = logging.getLogger(__name__)

A4_INCHES = (8.27, 11.69)
MODES = {"Gray": "L", "Color": "RGB", "Lineart": "1"}

_LINES = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "Dokumen contoh hasil pindai simulasi - bukan dokumen asli.",
    "Sample document produced by the scanner simulator.",
    "Nomor: 000/SIM/0000    Tanggal: 01-01-2026",
)


class SimulatedScanner:
    """Scanner stand-in: each scan yields a numbered fake A4 page; faults on command."""

    is_simulated = True

    def __init__(self) -> None:
        """Create an available scanner with no pages scanned yet."""
        self._lock = threading.Lock()
        self._available = True
        self._pages = 0

    @property
    def pages_scanned(self) -> int:
        """How many pages were scanned so far."""
        with self._lock:
            return self._pages

    def scan_page(self, dpi: int = 200, mode: str = "Gray") -> bytes:
        """Return a generated A4 page as PNG; ScannerUnavailable when unplugged/jammed."""
        if not isinstance(dpi, int) or not 50 <= dpi <= 600:
            raise ValueError(f"dpi must be an integer between 50 and 600, got {dpi!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
        with self._lock:
            if not self._available:
                raise ScannerUnavailable("simulated scanner unavailable")
            self._pages += 1
            page = self._pages
        png = _page_png(page, dpi, MODES[mode])
        log.info("simulated scan of page %d at %d dpi (%d bytes)", page, dpi, len(png))
        return png

    def status(self) -> dict[str, str]:
        """Return the scanner's state for the health report."""
        with self._lock:
            return {
                "state": "ready" if self._available else "unavailable",
                "driver": "simulated",
                "pages": str(self._pages),
            }

    def set_available(self, available: bool) -> None:
        """Plug, unplug, jam or clear the simulated scanner."""
        with self._lock:
            self._available = available


def _page_png(page: int, dpi: int, pil_mode: str) -> bytes:
    """Draw a fake A4 page with a title, some text lines and a page counter."""
    width, height = round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)
    img = Image.new("RGB" if pil_mode == "RGB" else "L", (width, height), "white")
    draw = ImageDraw.Draw(img)
    margin = dpi  # one inch
    title = load_font(max(8, dpi // 6), bold=True)
    body = load_font(max(6, dpi // 12))
    draw.text((margin, margin), "SURAT KETERANGAN (SIMULASI)", font=title, fill="black")
    y = margin + dpi // 2
    line_step = dpi // 5
    for i in range(24):
        draw.text((margin, y), _LINES[(i + page) % len(_LINES)], font=body, fill="black")
        y += line_step
    if pil_mode == "RGB":  # a stamp so colour scans look different from grey ones
        r = dpi // 2
        cx, cy = width - 2 * margin, y + r
        draw.ellipse(
            (cx - r, cy - r, cx + r, cy + r), outline=(30, 60, 170), width=max(2, dpi // 50)
        )
    draw.text((width - 2 * margin, height - margin), f"Halaman {page}", font=body, fill="black")
    if pil_mode == "1":
        img = img.convert("1")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()
