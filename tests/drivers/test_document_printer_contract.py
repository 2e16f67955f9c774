"""Contract every DocumentPrinter implementation must satisfy (simulator today, CUPS later)."""

from __future__ import annotations

import pytest

from drivers.errors import DeviceError, PaperOut, PrinterOffline
from tests.drivers.conftest import PrinterHarness

PDF = b"%PDF-1.4\n% minimal test bytes\n%%EOF\n"


def test_print_returns_distinct_job_ids(document_printer: PrinterHarness) -> None:
    printer = document_printer.printer
    first = printer.print_pdf(PDF, "tanda-terima A")
    second = printer.print_pdf(PDF + b" ", "tanda-terima B")
    assert first != second and first.startswith("sim-")
    assert [title for title, _ in printer.printed] == ["tanda-terima A", "tanda-terima B"]
    assert printer.status()["state"] == "online"


def test_written_file_stays_inside_out_dir(document_printer: PrinterHarness) -> None:
    printer = document_printer.printer
    printer.print_pdf(PDF, "../../etc/passwd")
    path = printer.last_pdf_path
    assert path.parent == document_printer.out_dir
    assert path.read_bytes() == PDF
    printer.print_pdf(PDF, "")
    assert printer.last_pdf_path.name == "document.pdf"


@pytest.mark.parametrize("bad", [b"", b"hello", b"<html>", "not bytes"])
def test_non_pdf_is_rejected(document_printer: PrinterHarness, bad: object) -> None:
    with pytest.raises(DeviceError):
        document_printer.printer.print_pdf(bad, "x")
    assert document_printer.printer.printed == []


@pytest.mark.parametrize(
    ("fault", "error", "state"),
    [
        ("paper_out", PaperOut, "paper_out"),
        ("offline", PrinterOffline, "offline"),
        ("jam", DeviceError, "jammed"),
    ],
)
def test_faults_raise_and_clear(
    document_printer: PrinterHarness, fault: str, error: type[DeviceError], state: str
) -> None:
    printer = document_printer.printer
    document_printer.faults[fault](True)
    assert printer.status()["state"] == state
    with pytest.raises(error):
        printer.print_pdf(PDF, "t")
    assert printer.printed == []
    document_printer.faults[fault](False)
    assert printer.print_pdf(PDF, "t").startswith("sim-")
