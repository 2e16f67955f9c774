"""The journey's scanning step: scan or skip each required document, upload the PDFs later.

Scans are personal data: they live in memory only (never a temp file), are wiped when the
session ends, and the upload job drops its copy as soon as each document is sent or failed.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from PIL import Image

from drivers.errors import DeviceError, ScannerUnavailable
from drivers.scanner.protocol import Scanner
from kiosk_app.domain.text import Text
from kiosk_app.services.background import watched
from kiosk_app.services.scanning.pages import DEFAULT_LIMIT_BYTES, ScanSession

log = logging.getLogger(__name__)

THUMBNAIL_PX = (520, 736)  # what the scan screen shows; a full page would be slow to decode
MAX_PAGES = 10

NO_SCANNER = Text(
    "Pemindai dokumen tidak tersedia. Lewati langkah ini dan bawa dokumen asli ke loket.",
    "The document scanner is unavailable. Skip this step and bring the originals to the counter.",
)
TOO_MANY_PAGES = Text(
    f"Satu dokumen paling banyak {MAX_PAGES} halaman.",
    f"A document has at most {MAX_PAGES} pages.",
)
NO_FEEDER = Text(
    "Pemindai ini tidak memiliki pengumpan dokumen. Gunakan kaca pemindai.",
    "This scanner has no document feeder. Use the scanner glass.",
)
SCAN_FAILED = Text(
    "Pemindaian gagal. Coba lagi, atau lewati dokumen ini dan bawa aslinya ke loket.",
    "Scanning failed. Try again, or skip this document and bring the original to the counter.",
)
SCANS_AT_COUNTER = Text(
    "Dokumen hasil pindai belum terkirim. Dokumen asli Anda akan diperiksa di loket.",
    "The scanned documents could not be sent. Your originals will be checked at the counter.",
)


class DocStatus(Enum):
    """What the citizen did with one required document."""

    PENDING = "pending"
    SCANNED = "scanned"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class DocumentView:
    """One required document as the scan screen shows it."""

    title: Text
    name: str
    status: DocStatus
    pages: int


@dataclass(frozen=True)
class ScanView:
    """Snapshot of the scanning step; `image_png` is a small picture of the last page."""

    documents: tuple[DocumentView, ...]
    index: int
    scanner_ready: bool = True
    has_feeder: bool = False
    busy: bool = False
    message: Text | None = None
    image_png: bytes = field(default=b"", repr=False)
    image_is_preview: bool = False

    @property
    def current(self) -> DocumentView | None:
        """The document being scanned, or None when every one was handled."""
        return self.documents[self.index] if 0 <= self.index < len(self.documents) else None


def scan_name(index: int, title: Text) -> str:
    """A stable upload name such as 02-kartu-keluarga-kk-asli (the server allows 64 chars)."""
    ascii_text = unicodedata.normalize("NFKD", title.id).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return f"{index + 1:02d}-{slug}"[:64].rstrip("-")


@dataclass
class _Document:
    title: Text
    name: str
    pages: ScanSession
    status: DocStatus = DocStatus.PENDING
    pdf: bytes = b""


class UploadTarget(Protocol):
    """What the uploader needs from the central client."""

    def upload_scan(self, registration_number: str, name: str, pdf: bytes) -> None:
        """Attach one PDF to an application."""


# Called with (registration number, scan name, pdf, error) for each document not uploaded.
# The offline outbox plugs in here to queue the document for a later retry.
FailedUpload = Callable[[str, str, bytes, Exception], None]


class DocumentScanStep:
    """Holds one session's documents; device work runs on its own worker thread."""

    def __init__(
        self,
        scanner: Scanner,
        *,
        on_change: Callable[[bool], None],
        dpi: int = 200,
        mode: str = "Gray",
        limit_bytes: int = DEFAULT_LIMIT_BYTES,
        on_upload_failed: FailedUpload | None = None,
    ) -> None:
        """`on_change(finished)` is called (never under this step's lock) after every change."""
        self.scanner = scanner
        self.on_change = on_change
        self.on_upload_failed = on_upload_failed
        self._dpi, self._mode, self._limit_bytes = dpi, mode, limit_bytes
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-worker")
        self._uploads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-upload")
        self._docs: list[_Document] = []
        self._index = 0
        self._generation = 0
        self._busy = False
        self._ready = True
        self._feeder = False
        self._message: Text | None = None
        self._image = b""
        self._image_is_preview = False

    # -- lifecycle ---------------------------------------------------------------------------
    def begin(self, titles: Sequence[Text]) -> None:
        """Start (or, coming back from the schedule, resume) scanning these documents."""
        with self._lock:
            if [d.title for d in self._docs] == list(titles):
                self._index = min(self._index, max(0, len(self._docs) - 1))
                return
            self._wipe()
            self._docs = [
                _Document(
                    t,
                    scan_name(i, t),
                    ScanSession(
                        self.scanner,
                        scan_name(i, t),
                        dpi=self._dpi,
                        mode=self._mode,
                        max_pages=MAX_PAGES,
                        limit_bytes=self._limit_bytes,
                    ),
                )
                for i, t in enumerate(titles)
            ]
        self._run(self._check_scanner)

    def reopen(self) -> None:
        """Back from the schedule: show the last document again."""
        with self._lock:
            self._index = max(0, len(self._docs) - 1)
            self._message = None

    def clear(self) -> None:
        """Wipe every page, PDF and picture (the session ended); late scans are dropped."""
        with self._lock:
            self._wipe()

    def close(self) -> None:
        """Wipe and stop the workers (an upload in flight finishes within its timeout)."""
        self.clear()
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._uploads.shutdown(wait=True, cancel_futures=True)

    def view(self) -> ScanView:
        """The current snapshot."""
        with self._lock:
            docs = tuple(
                DocumentView(d.title, d.name, d.status, len(d.pages.pages)) for d in self._docs
            )
            return ScanView(
                docs,
                self._index,
                self._ready,
                self._feeder,
                self._busy,
                self._message,
                self._image,
                self._image_is_preview,
            )

    # -- citizen actions (all return at once; the worker does the device work) ---------------
    def preview(self) -> None:
        """A quick low-resolution look at what lies on the glass (not kept as a page)."""
        self._device_job(lambda d: d.pages.preview(), preview=True)

    def scan(self) -> None:
        """Scan one more page of the current document."""
        self._device_job(lambda d: d.pages.pages[d.pages.scan()])

    def scan_feeder(self) -> None:
        """Scan every page in the document feeder into the current document."""

        def job(d: _Document) -> bytes:
            d.pages.scan_feeder()
            return d.pages.pages[-1]

        self._device_job(job)

    def retake(self, index: int) -> None:
        """Scan page `index` of the current document again."""

        def job(d: _Document) -> bytes:
            d.pages.retake(index)
            return d.pages.pages[index]

        self._device_job(job)

    def remove(self, index: int) -> None:
        """Drop page `index` of the current document."""
        with self._lock:
            doc = self._current()
            if doc is None or self._busy or not 0 <= index < len(doc.pages.pages):
                return
            doc.pages.remove(index)
            doc.status, doc.pdf = DocStatus.PENDING, b""
            last = doc.pages.pages[-1] if doc.pages.pages else b""
            generation = self._generation
        image = _thumbnail(last) if last else b""  # show the page that is now the last
        with self._lock:
            if generation == self._generation:
                self._message, self._image, self._image_is_preview = None, image, False
        self.on_change(False)

    def next_document(self) -> None:
        """Done with this document: assemble its PDF (or skip it when it has no page)."""
        with self._lock:
            doc = self._current()
            if doc is None or self._busy:
                return
            if not doc.pages.pages:
                self._advance(DocStatus.SKIPPED)
                finished = self._index >= len(self._docs)
            else:
                self._busy, self._message = True, None
                finished = None
            generation = self._generation
        if finished is None:
            self._run(lambda: self._assemble(doc, generation))
            self.on_change(False)
        else:
            self.on_change(finished)

    def skip_document(self) -> None:
        """The citizen will bring this document to the counter (works even mid-scan)."""
        with self._lock:
            if self._current() is None:
                return
            self._abandon_job()
            self._advance(DocStatus.SKIPPED)
            finished = self._index >= len(self._docs)
        self.on_change(finished)

    def skip_rest(self) -> None:
        """Skip every document not scanned yet: the citizen brings them all to the counter."""
        with self._lock:
            if self._current() is None:
                return
            self._abandon_job()
            while self._current() is not None:
                self._advance(DocStatus.SKIPPED)
        self.on_change(True)

    def previous_document(self) -> None:
        """Go back to the document before (its pages are kept)."""
        with self._lock:
            if self._busy or self._index == 0:
                return
            self._index -= 1
            self._message, self._image = None, b""
        self.on_change(False)

    # -- after the submission ----------------------------------------------------------------
    def documents(self) -> list[tuple[str, bytes]]:
        """(name, pdf) of every scanned document (the outbox seam for offline submissions)."""
        with self._lock:
            return [(d.name, d.pdf) for d in self._docs if d.status is DocStatus.SCANNED and d.pdf]

    def upload(
        self, central: UploadTarget, number: str, on_done: Callable[[list[str]], None]
    ) -> bool:
        """Send the scanned PDFs in the background; `on_done(failed names)`. False: nothing."""
        documents = self.documents()
        if not documents:
            return False
        watched(self._uploads.submit(self._upload_job, central, number, documents, on_done))
        return True

    def hand_over_unsent(self, reference: str, reason: str) -> list[str]:
        """Offline: pass every scanned PDF to `on_upload_failed` (the outbox seam) unsent."""
        failed = []
        for name, pdf in self.documents():
            failed.append(name)
            log.warning(
                "scan %s (%d bytes) for %s not uploaded: %s; the counter checks the original",
                name,
                len(pdf),
                reference,
                reason,
            )
            if self.on_upload_failed is not None:
                try:
                    self.on_upload_failed(reference, name, pdf, RuntimeError(reason))
                except Exception:
                    log.exception("queueing the scan %s of %s crashed", name, reference)
        return failed

    def _upload_job(
        self,
        central: UploadTarget,
        number: str,
        documents: list[tuple[str, bytes]],
        on_done: Callable[[list[str]], None],
    ) -> None:
        failed: list[str] = []
        while documents:
            name, pdf = documents.pop(0)  # drop our copy of each document once handled
            try:
                central.upload_scan(number, name, pdf)
                log.info("scan %s (%d bytes) attached to %s", name, len(pdf), number)
            except Exception as exc:  # a failed upload must never lose the submission
                failed.append(name)
                log.warning(
                    "scan upload failed for %s, document %s (%d bytes): %s: %s; the "
                    "counter checks the original",
                    number,
                    name,
                    len(pdf),
                    type(exc).__name__,
                    exc,
                )
                if self.on_upload_failed is not None:
                    try:
                        self.on_upload_failed(number, name, pdf, exc)
                    except Exception:
                        log.exception("queueing the failed scan %s of %s crashed", name, number)
        try:
            on_done(failed)
        except Exception:
            log.exception("scan upload callback failed")

    # -- internals ---------------------------------------------------------------------------
    def _current(self) -> _Document | None:
        return self._docs[self._index] if 0 <= self._index < len(self._docs) else None

    def _advance(self, status: DocStatus) -> None:
        doc = self._docs[self._index]
        if status is DocStatus.SKIPPED:
            doc.pages.clear()
            doc.pdf = b""
        doc.status = status
        self._index += 1
        self._message, self._image, self._image_is_preview = None, b"", False

    def _abandon_job(self) -> None:
        """A scan that hangs must never trap the citizen: its late result is dropped."""
        if self._busy:
            log.warning("skipping while the scanner is still busy; its result will be dropped")
            self._generation += 1
            self._busy = False

    def _wipe(self) -> None:
        self._generation += 1
        for doc in self._docs:
            doc.pages.clear()
            doc.pdf = b""
        self._docs = []
        self._index = 0
        self._busy = False
        self._message, self._image, self._image_is_preview = None, b"", False

    def _run(self, job: Callable[[], None]) -> None:
        try:
            watched(self._worker.submit(job))
        except RuntimeError:  # shut down: the kiosk is closing
            log.info("scan step closed; job dropped")

    def _check_scanner(self) -> None:
        status = _status(self.scanner)
        ready = status.get("state", "ready") == "ready"
        feeder = status.get("feeder") == "yes" or bool(getattr(self.scanner, "has_feeder", False))
        if not ready:
            log.warning("scanner not ready at the scan step: %s", status)
        with self._lock:
            self._ready, self._feeder = ready, ready and feeder
            self._message = None if ready else NO_SCANNER
        self.on_change(False)

    def _device_job(self, work: Callable[[_Document], bytes], preview: bool = False) -> None:
        with self._lock:
            doc = self._current()
            if doc is None or self._busy:
                return
            self._busy, self._message = True, None
            generation = self._generation
        self.on_change(False)
        self._run(lambda: self._device_work(doc, work, preview, generation))

    def _device_work(
        self, doc: _Document, work: Callable[[_Document], bytes], preview: bool, generation: int
    ) -> None:
        image, message, ready = b"", None, True
        try:
            image = _thumbnail(work(doc))
        except DeviceError as exc:
            log.warning("scanning %s failed: %s: %s", doc.name, type(exc).__name__, exc)
            # A jam or an open cover can be fixed on the spot; a missing scanner cannot.
            ready = type(exc) is not ScannerUnavailable
            message = exc.citizen_message if ready else NO_SCANNER
        except IndexError as exc:
            log.warning("scanning %s: %s", doc.name, exc)
            message = SCAN_FAILED
        except ValueError as exc:
            log.warning("scanning %s refused: %s", doc.name, exc)
            message = NO_FEEDER if "feeder" in str(exc) else TOO_MANY_PAGES
        except Exception:  # never let a driver bug leave the citizen stuck on "busy"
            log.exception("scanning %s crashed", doc.name)
            message = SCAN_FAILED
        with self._lock:
            if generation != self._generation:
                doc.pages.clear()  # the session ended while the scanner worked
                return
            self._busy, self._message = False, message
            if not ready:
                self._ready = False
            if image:
                self._image, self._image_is_preview = image, preview
                if not preview:
                    doc.status, doc.pdf = DocStatus.PENDING, b""
        self.on_change(False)

    def _assemble(self, doc: _Document, generation: int) -> None:
        pdf, message = b"", None
        try:
            pdf = doc.pages.to_pdf()
        except DeviceError as exc:
            log.warning("assembling %s failed: %s: %s", doc.name, type(exc).__name__, exc)
            message = exc.citizen_message
        except Exception:
            log.exception("assembling %s crashed", doc.name)
            message = SCAN_FAILED
        with self._lock:
            if generation != self._generation:
                return
            self._busy, self._message = False, message
            finished = False
            if pdf and self._current() is doc:
                doc.pdf = pdf
                self._advance(DocStatus.SCANNED)
                finished = self._index >= len(self._docs)
        self.on_change(finished)


def _status(scanner: Any) -> dict[str, str]:
    try:
        return dict(scanner.status())
    except Exception as exc:  # a status probe must not crash the step
        log.warning("scanner status failed: %s: %s", type(exc).__name__, exc)
        return {"state": "unavailable", "detail": str(exc)}


def _thumbnail(png: bytes) -> bytes:
    """A small PNG of a page, decoded and shrunk here, off the UI thread."""
    with Image.open(io.BytesIO(png)) as image:
        image.thumbnail(THUMBNAIL_PX)
        out = io.BytesIO()
        image.convert("L" if image.mode in ("1", "L") else "RGB").save(out, "PNG")
    return out.getvalue()
