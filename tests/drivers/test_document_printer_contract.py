"""Contract every DocumentPrinter implementation must satisfy (simulator and CUPS)."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.errors import DeviceError, PaperOut, PrinterOffline
from tests.drivers.cups.fixtures import make_pdf

PDF = make_pdf("Anjungan contract page")


def printed_titles(harness: Any) -> list[str]:
    """Titles of the documents that came out of the printer during this test."""
    if hasattr(harness, "printed_titles"):
        return list(harness.printed_titles())
    return [title for title, _ in harness.printer.printed]


def test_print_returns_distinct_job_ids(document_printer: Any) -> None:
    printer = document_printer.printer
    first = printer.print_pdf(PDF, "tanda-terima A")
    second = printer.print_pdf(PDF, "tanda-terima B")
    assert isinstance(first, str) and first and first != second
    assert printed_titles(document_printer) == ["tanda-terima A", "tanda-terima B"]
    assert printer.status()["state"] == "online"


def test_written_file_stays_inside_out_dir(document_printer: Any) -> None:
    printer = document_printer.printer
    if not hasattr(printer, "last_pdf_path"):
        pytest.skip("this printer writes no files of its own")
    printer.print_pdf(PDF, "../../etc/passwd")
    path = printer.last_pdf_path
    assert path.parent == document_printer.out_dir
    assert path.read_bytes() == PDF
    printer.print_pdf(PDF, "")
    assert printer.last_pdf_path.name == "document.pdf"


@pytest.mark.parametrize("bad", [b"", b"hello", b"<html>", "not bytes"])
def test_non_pdf_is_rejected(document_printer: Any, bad: object) -> None:
    with pytest.raises(DeviceError):
        document_printer.printer.print_pdf(bad, "x")
    assert printed_titles(document_printer) == []


@pytest.mark.parametrize(
    ("fault", "error", "state"),
    [
        ("paper_out", PaperOut, "paper_out"),
        ("offline", PrinterOffline, "offline"),
        ("jam", DeviceError, "jammed"),
    ],
)
def test_faults_raise_and_clear(
    document_printer: Any, fault: str, error: type[DeviceError], state: str
) -> None:
    printer = document_printer.printer
    document_printer.faults[fault](True)
    assert printer.status()["state"] == state
    with pytest.raises(error):
        printer.print_pdf(PDF, "t")
    assert printed_titles(document_printer) == []
    document_printer.faults[fault](False)
    assert printer.print_pdf(PDF, "t")
    assert printed_titles(document_printer) == ["t"]


def test_stopped_queue_is_resumed_and_prints(document_printer: Any) -> None:
    printer = document_printer.printer
    assert printer.resume()["state"] == "online"  # nothing to do on a healthy queue
    document_printer.faults["stopped"](True)
    status = printer.status()
    assert (status["state"], status["queue_state"], status["accepting"]) == (
        "offline",
        "stopped",
        "no",
    )
    with pytest.raises(PrinterOffline, match="stopped|not accepting"):
        printer.print_pdf(PDF, "t")
    after = printer.resume()
    assert (after["state"], after["queue_state"], after["accepting"]) == ("online", "idle", "yes")
    assert printer.print_pdf(PDF, "t")
    assert printed_titles(document_printer) == ["t"]
