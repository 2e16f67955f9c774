"""The CUPS document printer against a real cupsd: cups-pdf, ippeveprinter faults, spool hygiene."""

from __future__ import annotations

import tempfile
import threading
import uuid
from pathlib import Path

import pytest

from drivers.errors import DoorOpen, PrinterOffline, PrintTimeout
from kiosk_app.services.printing.receipt_pdf import render_receipt_pdf
from tests.drivers.cups.fixtures import IppFaults, find_canary, job_files, make_pdf, wait_for
from tests.drivers.cups.harness import make_printer
from tests.drivers.cups.testbed import DEAD_QUEUE, IPP_QUEUE, PDF_QUEUE, CupsTestbed
from tests.services.printing.test_receipt_pdf import make_receipt


@pytest.fixture
def faults(cups_testbed: CupsTestbed):  # type: ignore[no-untyped-def]
    """The ippeveprinter queue healthy before and after the test."""
    switches = IppFaults(cups_testbed)
    yield switches
    switches.reset()


def private_places(testbed: CupsTestbed) -> list[Path]:
    """Everywhere a copy of a document could linger on the kiosk."""
    return [
        testbed.spool,
        testbed.root / "cache",
        Path("/var/spool/cups-pdf"),
        Path("/var/spool/cups"),
        Path(tempfile.gettempdir()),
    ]


def test_receipt_prints_to_completion_on_cups_pdf(cups_testbed: CupsTestbed) -> None:
    printer = make_printer(cups_testbed, PDF_QUEUE)
    before = len(cups_testbed.new_pdfs())
    job = printer.print_pdf(render_receipt_pdf(make_receipt()), "receipt-PRA-3517")
    assert job.isdigit()
    assert len(cups_testbed.new_pdfs()) == before + 1  # the "paper" came out
    status = printer.status()
    assert status["state"] == "online" and status["driver"] == "cups" and status["jobs"] == "1"
    assert job_files(cups_testbed) == []


def test_completed_job_leaves_no_personal_data(cups_testbed: CupsTestbed) -> None:
    canary = f"NIK-CANARY-{uuid.uuid4().hex}"
    pdf = make_pdf(canary, compress=False)
    assert canary.encode() in pdf
    make_printer(cups_testbed, PDF_QUEUE).print_pdf(pdf, "receipt")
    paper = (cups_testbed.pdf_out,)  # what came out of the printer is the citizen's paper
    assert find_canary(canary.encode(), private_places(cups_testbed), skip=paper) == []


def test_stuck_job_is_cancelled_reported_and_wiped(
    cups_testbed: CupsTestbed, faults: IppFaults
) -> None:
    canary = f"NIK-CANARY-{uuid.uuid4().hex}".encode()
    pdf = make_pdf(canary.decode(), compress=False)
    printer = make_printer(cups_testbed, IPP_QUEUE, job_timeout_s=10.0)  # seen in the spool first
    cups_testbed.set_engine("HOLD")  # the engine never finishes, and reports nothing
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            printer.print_pdf(pdf, "receipt")
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    printer_side = (cups_testbed.ipp_dir, cups_testbed.pdf_out)  # the printer, not the kiosk
    # While the job waits, the document is in cupsd's spool: the search does find it.
    wait_for(lambda: find_canary(canary, [cups_testbed.spool]), 10, "the job in the spool")
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], PrintTimeout)
    assert "cancelled after 10 s" in str(outcome[0])
    assert find_canary(canary, private_places(cups_testbed), skip=printer_side) == []
    assert job_files(cups_testbed) == []


def test_open_door_while_printing_is_door_open(
    cups_testbed: CupsTestbed, faults: IppFaults
) -> None:
    cups_testbed.set_engine("STATE: +cover-open", "HOLD")
    printer = make_printer(cups_testbed, IPP_QUEUE)
    with pytest.raises(DoorOpen) as caught:
        printer.print_pdf(make_pdf(), "receipt")
    assert "cover-open" in str(caught.value)
    assert "terbuka" in caught.value.citizen_message("id")
    assert printer.status()["state"] == "door_open"


def test_unreachable_printer_times_out_and_job_is_cancelled(cups_testbed: CupsTestbed) -> None:
    import cups

    printer = make_printer(cups_testbed, DEAD_QUEUE, job_timeout_s=2.0)
    with pytest.raises(PrinterOffline) as caught:
        printer.print_pdf(make_pdf(), "receipt")
    job = int(str(caught.value).split("CUPS job ")[1].split()[0])
    conn = cups.Connection(host=cups_testbed.socket)
    assert conn.getJobs(which_jobs="not-completed").get(job) is None
    assert job_files(cups_testbed) == []


def test_missing_queue_and_missing_cupsd_are_offline(cups_testbed: CupsTestbed) -> None:
    with pytest.raises(PrinterOffline, match="no-such-queue"):
        make_printer(cups_testbed, "no-such-queue").print_pdf(make_pdf(), "x")
    gone = make_printer(cups_testbed, PDF_QUEUE, server=str(cups_testbed.root / "nothing.sock"))
    with pytest.raises(PrinterOffline, match="cannot reach cupsd"):
        gone.print_pdf(make_pdf(), "x")
    assert gone.status()["state"] == "offline"
