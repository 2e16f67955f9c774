"""Session-wide CUPS test bed and helpers that drive faults on its ippeveprinter queue."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.drivers.cups.testbed import IPP_QUEUE, CupsTestbed, wait_for

WAIT_S = 15.0


@pytest.fixture(scope="session")
def cups_testbed() -> Iterator[CupsTestbed]:
    """cupsd with a cups-pdf queue and an ippeveprinter queue, stopped and wiped at the end."""
    if os.geteuid() != 0:
        pytest.skip("the CUPS test bed needs root (network namespace, cupsd as root)")
    root = Path(tempfile.mkdtemp(prefix="anjungan-cups-"))
    testbed = CupsTestbed(root).start()
    try:
        yield testbed
    finally:
        testbed.stop()


def make_pdf(text: str = "Anjungan test page", compress: bool = True) -> bytes:
    """A real one-page A4 PDF; uncompressed when a test must find `text` in raw bytes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, pageCompression=1 if compress else 0, invariant=1)
    page.drawString(72, 760, text)
    page.showPage()
    page.save()
    return out.getvalue()


class IppFaults:
    """Put the ippeveprinter queue into paper-out, jam or offline, the way CUPS really sees it."""

    def __init__(self, testbed: CupsTestbed) -> None:
        """Reset the queue: paper loaded, engine free, queue enabled, no jobs."""
        import cups

        self.testbed = testbed
        self.conn = cups.Connection(host=testbed.socket)
        self.reset()

    def reset(self) -> None:
        """Back to a healthy, empty queue."""
        self.testbed.set_engine("STATE: -media-jam", "STATE: -cover-open")
        self.testbed.set_media(loaded=True)
        self.testbed.command("cupsenable", IPP_QUEUE)
        self.testbed.command("cupsaccept", IPP_QUEUE)
        self.testbed.command("cancel", "-a", "-x", IPP_QUEUE)
        if self._keywords() & {"media-empty", "media-jam", "media-needed", "cover-open"}:
            self._probe(wait_completed=True)
        self.testbed.set_engine()

    def paper_out(self, on: bool) -> None:
        """Empty or refill the tray; a probe job makes CUPS learn the new state."""
        self.testbed.set_media(loaded=not on)
        self._settle("media-empty", on)

    def jam(self, on: bool) -> None:
        """Jam the engine (jobs hold until cleared) or clear it."""
        if on:
            self.testbed.set_engine("STATE: +media-jam", "HOLD")
        else:
            self.testbed.set_engine("STATE: -media-jam")
        self._settle("media-jam", on)

    def offline(self, on: bool) -> None:
        """Stop (cupsdisable) or restart the queue."""
        self.testbed.command("cupsdisable" if on else "cupsenable", IPP_QUEUE)

    def stopped(self, on: bool) -> None:
        """Stop the queue and reject jobs, as CUPS leaves it after a failed job (or undo it)."""
        if on:
            self.testbed.command("cupsdisable", "-r", "paper jam", IPP_QUEUE)
            self.testbed.command("cupsreject", "-r", "paper jam", IPP_QUEUE)
        else:
            self.testbed.command("cupsenable", IPP_QUEUE)
            self.testbed.command("cupsaccept", IPP_QUEUE)

    # -- internals -------------------------------------------------------------------------
    def _keywords(self) -> set[str]:
        attrs = self.conn.getPrinterAttributes(
            IPP_QUEUE, requested_attributes=["printer-state-reasons"]
        )
        raw = attrs.get("printer-state-reasons") or []
        raw = [raw] if isinstance(raw, str) else raw
        return {
            r.rsplit("-", 1)[0] if r.endswith(("-report", "-warning", "-error")) else r for r in raw
        }

    def _probe(self, wait_completed: bool) -> int:
        pdf = make_pdf("probe")
        job = self.conn.createJob(IPP_QUEUE, "probe", {})
        self.conn.startDocument(IPP_QUEUE, job, "probe", "application/pdf", 1)
        self.conn.writeRequestData(pdf, len(pdf))
        self.conn.finishDocument(IPP_QUEUE)
        if wait_completed:
            wait_for(lambda: self._job_state(job) >= 7, WAIT_S, f"probe job {job}")
        return int(job)

    def _job_state(self, job: int) -> int:
        return int(self.conn.getJobAttributes(job, requested_attributes=["job-state"])["job-state"])

    def _settle(self, keyword: str, on: bool) -> None:
        """Run a probe job until CUPS reports (or stops reporting) `keyword`."""
        job = self._probe(wait_completed=not on)
        if on:
            wait_for(lambda: keyword in self._keywords(), WAIT_S, f"{keyword} on {IPP_QUEUE}")
            self.conn.cancelJob(job, purge_job=True)
        else:
            wait_for(lambda: keyword not in self._keywords(), WAIT_S, f"{keyword} cleared")


def find_canary(canary: bytes, folders: list[Path], skip: tuple[Path, ...] = ()) -> list[Path]:
    """Files under `folders` (not under `skip`) whose bytes contain `canary`."""
    hits: list[Path] = []
    for folder in folders:
        if not folder.exists():
            continue
        for dirpath, _dirs, files in os.walk(folder):
            here = Path(dirpath)
            if any(here == s or s in here.parents for s in skip):
                continue
            for name in files:
                path = here / name
                try:
                    if (
                        path.is_file()
                        and path.stat().st_size < 50_000_000
                        and canary in path.read_bytes()
                    ):
                        hits.append(path)
                except OSError:
                    continue
    return hits


def job_files(testbed: CupsTestbed) -> list[Any]:
    """Document files (d*) currently in cupsd's spool."""
    return sorted(p.name for p in testbed.spool.glob("d*"))
