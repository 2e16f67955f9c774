"""Scanning service: preview, scan and retake pages, then one PDF per document under a limit."""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass, field

from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from drivers.errors import DeviceError, DocumentTooLarge
from drivers.scanner.protocol import Scanner

log = logging.getLogger(__name__)

PREVIEW_DPI = 75
DEFAULT_LIMIT_BYTES = 2 * 1024 * 1024  # what the central server accepts per attachment
# (JPEG quality, scale) steps tried in order until the PDF fits the limit.
QUALITY_STEPS = ((85, 1.0), (70, 1.0), (55, 0.85), (45, 0.7), (35, 0.5), (30, 0.35))


@dataclass
class ScanSession:
    """The pages of one document being scanned (personal data: `clear()` when done)."""

    scanner: Scanner
    document: str
    dpi: int = 200
    mode: str = "Gray"
    max_pages: int = 10
    limit_bytes: int = DEFAULT_LIMIT_BYTES
    pages: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Validate limits once, so a misconfiguration fails at start, not mid-journey."""
        if self.max_pages < 1 or self.limit_bytes < 10_000:
            raise ValueError("max_pages must be >= 1 and limit_bytes >= 10000")
        self._lock = threading.Lock()

    def preview(self) -> bytes:
        """A quick low-resolution scan to show on screen; not kept as a page."""
        return self.scanner.scan_page(dpi=PREVIEW_DPI, mode=self.mode)

    def scan(self) -> int:
        """Scan one more page; return its index. DeviceError subclasses pass through."""
        with self._lock:
            if len(self.pages) >= self.max_pages:
                raise ValueError(f"a document has at most {self.max_pages} pages")
        png = self.scanner.scan_page(dpi=self.dpi, mode=self.mode)
        with self._lock:
            self.pages.append(png)
            log.info("%s: page %d scanned", self.document, len(self.pages))
            return len(self.pages) - 1

    def scan_feeder(self) -> int:
        """Scan every page in the ADF when the scanner has one; return how many were added."""
        feeder = getattr(self.scanner, "scan_feeder", None)
        if feeder is None or not getattr(self.scanner, "has_feeder", False):
            raise ValueError("this scanner has no document feeder")
        room = self.max_pages - len(self.pages)
        if room <= 0:
            raise ValueError(f"a document has at most {self.max_pages} pages")
        new = feeder(dpi=self.dpi, mode=self.mode, max_pages=room)
        with self._lock:
            self.pages.extend(new)
        log.info("%s: %d pages from the feeder", self.document, len(new))
        return len(new)

    def retake(self, index: int) -> None:
        """Scan page `index` again, replacing it only when the new scan succeeds."""
        self._check_index(index)
        png = self.scanner.scan_page(dpi=self.dpi, mode=self.mode)
        with self._lock:
            self.pages[index] = png
        log.info("%s: page %d retaken", self.document, index + 1)

    def remove(self, index: int) -> None:
        """Drop page `index`."""
        self._check_index(index)
        with self._lock:
            del self.pages[index]

    def to_pdf(self) -> bytes:
        """All pages as one A4 PDF no larger than `limit_bytes` (DocumentTooLarge otherwise)."""
        with self._lock:
            pages = list(self.pages)
        if not pages:
            raise ValueError("no page scanned yet")
        return assemble_pdf(pages, self.limit_bytes, title=self.document)

    def clear(self) -> None:
        """Forget every page."""
        with self._lock:
            self.pages.clear()

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self.pages):
            raise IndexError(f"no page {index + 1} (document has {len(self.pages)})")


def assemble_pdf(pages: list[bytes], limit_bytes: int, title: str = "document") -> bytes:
    """Put PNG pages on A4 pages as JPEG, lowering quality then resolution until under the limit."""
    images = [_load(png) for png in pages]
    size = 0
    for quality, scale in QUALITY_STEPS:
        pdf = _render(images, quality, scale, title)
        size = len(pdf)
        if size <= limit_bytes:
            log.info(
                "%s: %d pages in %d bytes (quality %d, scale %.2f)",
                title,
                len(pages),
                size,
                quality,
                scale,
            )
            return pdf
    raise DocumentTooLarge(
        f"{title}: {len(pages)} pages need {size} bytes at the lowest quality, limit {limit_bytes}"
    )


def _load(png: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(png))
        image.load()
    except (OSError, ValueError) as exc:
        raise DeviceError(f"scanned page is not a readable image: {exc}") from exc
    return image.convert("RGB" if image.mode in ("RGB", "RGBA", "P") else "L")


def _render(images: list[Image.Image], quality: int, scale: float, title: str) -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=1, pageCompression=1)
    pdf.setTitle(title)
    page_w, page_h = A4
    for image in images:
        if scale < 1.0:
            image = image.resize(
                (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                Image.Resampling.LANCZOS,
            )
        jpeg = io.BytesIO()
        image.save(jpeg, "JPEG", quality=quality)
        jpeg.seek(0)
        # Fit the page inside A4, keeping its aspect ratio.
        ratio = min(page_w / image.width, page_h / image.height)
        w, h = image.width * ratio, image.height * ratio
        pdf.drawImage(ImageReader(jpeg), (page_w - w) / 2, (page_h - h) / 2, w, h)
        pdf.showPage()
    pdf.save()
    return out.getvalue()
