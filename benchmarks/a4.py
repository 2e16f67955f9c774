"""A4 receipt: PDF render time, and request-to-completed time through a real cupsd (cups-pdf queue).

Starts its own private CUPS test bed (cupsd + cups-pdf in a network namespace; needs root), prints
RUNS receipts and reports medians. Last line: {"pdf_render_ms": .., "cups_completed_s": .., ...}.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(ROOT))
RUNS = int(os.environ.get("A4_RUNS", "5"))


def main() -> None:
    """Render and print RUNS receipts; print one JSON line of medians."""
    from drivers.document_printer.cups import CupsDocumentPrinter
    from kiosk_app.services.printing.receipt_pdf import render_receipt_pdf
    from tests.drivers.cups.testbed import PDF_QUEUE, CupsTestbed
    from tests.services.printing.test_receipt_pdf import make_receipt

    render_receipt_pdf(make_receipt())  # fonts registered once, as in a running kiosk
    render_ms = []
    for i in range(RUNS):
        start = time.perf_counter()
        pdf = render_receipt_pdf(make_receipt(registration_number=f"PRA-3517-20261122-{i:04d}"))
        render_ms.append((time.perf_counter() - start) * 1000)

    testbed = CupsTestbed(Path(tempfile.mkdtemp(prefix="bench-cups-"))).start()
    try:
        printer = CupsDocumentPrinter(
            PDF_QUEUE, server=testbed.socket, job_timeout_s=60, poll_s=0.05
        )
        completed_s = []
        for i in range(RUNS):
            start = time.perf_counter()
            printer.print_pdf(pdf, f"receipt-{i}")
            completed_s.append(time.perf_counter() - start)
        pages = len(testbed.new_pdfs())
    finally:
        testbed.stop()
    print(
        json.dumps(
            {
                "runs": RUNS,
                "pdf_bytes": len(pdf),
                "pdfs_out": pages,
                "pdf_render_ms": round(statistics.median(render_ms), 1),
                "cups_completed_s": round(statistics.median(completed_s), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
