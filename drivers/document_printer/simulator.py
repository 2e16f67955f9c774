"""A simulated A4 printer that keeps the PDFs it is sent and fails on command."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

from drivers.errors import DeviceError, PaperOut, PrinterOffline

log = logging.getLogger(__name__)


def safe_filename(title: str) -> str:
    """Turn a job title into a harmless file name stem."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", title or "").strip("._-")
    return stem[:80] or "document"


class SimulatedDocumentPrinter:
    """Document printer stand-in: `.printed` holds (title, pdf) pairs; PDFs go to `out_dir`."""

    is_simulated = True

    def __init__(self, out_dir: Path | None = None) -> None:
        """Create an online printer with paper."""
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.printed: list[tuple[str, bytes]] = []
        self.last_pdf_path: Path | None = None
        self._lock = threading.Lock()
        self._jobs = 0
        self._paper = True
        self._offline = False
        self._jammed = False
        self._stopped = False  # like a CUPS queue stopped after a fault
        self._rejecting = False

    def print_pdf(self, pdf: bytes, title: str) -> str:
        """Accept a PDF job and return its id "sim-<n>"; raise a DeviceError on a fault."""
        with self._lock:
            if self._offline:
                raise PrinterOffline("simulated document printer offline")
            if self._stopped or self._rejecting:
                raise PrinterOffline("simulated document printer queue stopped")
            if not self._paper:
                raise PaperOut("simulated document printer out of paper")
            if self._jammed:
                raise DeviceError("simulated document printer paper jam")
            if not isinstance(pdf, bytes | bytearray) or not bytes(pdf[:5]).startswith(b"%PDF"):
                raise DeviceError("simulated document printer rejected a job that is not a PDF")
            self._jobs += 1
            job_id = f"sim-{self._jobs}"
            self.printed.append((title, bytes(pdf)))
            if self.out_dir is not None:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                path = self.out_dir / f"{safe_filename(title)}.pdf"
                path.write_bytes(bytes(pdf))
                self.last_pdf_path = path
        log.info("simulated document job %s printed (%d bytes)", job_id, len(pdf))
        return job_id

    def status(self) -> dict[str, str]:
        """Return {"state": online|offline|paper_out|jammed, "paper": ok|out}."""
        with self._lock:
            if self._offline or self._stopped:
                state = "offline"
            elif not self._paper:
                state = "paper_out"
            elif self._jammed:
                state = "jammed"
            else:
                state = "online"
            return {
                "state": state,
                "paper": "ok" if self._paper else "out",
                "driver": "simulated",
                "jobs": str(self._jobs),
                "queue_state": "stopped" if self._stopped else "idle",
                "accepting": "no" if self._rejecting else "yes",
            }

    def resume(self) -> dict[str, str]:
        """Restart a stopped queue (paper, jams and an unplugged printer stay as they are)."""
        with self._lock:
            self._stopped = self._rejecting = False
        log.info("simulated document printer queue resumed")
        return self.status()

    def set_stopped(self, stopped: bool, *, rejecting: bool | None = None) -> None:
        """Stop the queue (and reject jobs, unless told otherwise), as CUPS does after a fault."""
        with self._lock:
            self._stopped = stopped
            self._rejecting = stopped if rejecting is None else rejecting

    def set_paper(self, present: bool) -> None:
        """Load or run out of paper."""
        with self._lock:
            self._paper = present

    def set_offline(self, offline: bool) -> None:
        """Make the printer stop answering (or come back)."""
        with self._lock:
            self._offline = offline

    def set_jam(self, jammed: bool) -> None:
        """Jam or clear the paper path."""
        with self._lock:
            self._jammed = jammed
