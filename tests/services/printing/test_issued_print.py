"""Issued documents printed through a real cupsd (cups-pdf) once per code, logged both sides."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from argon2 import PasswordHasher
from PIL import Image
from sqlalchemy import select

from central_server.app import create_app
from central_server.auth import create_user, use_hasher
from central_server.embedded import EmbeddedServer
from central_server.notify import RecordingChannel
from central_server.print_codes import PrintLogEntry
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.services.printing.issued import (
    ALREADY_PRINTED,
    BAD_CODE,
    PRINTED,
    STILL_VALID,
    TYPE_CODE,
    IssuedDocumentPrint,
)
from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.printing.service import PrintingService
from tests.central.officer.conftest import MONDAY, NIK, OFFICE, PASSWORD, TODAY, Central, Staff
from tests.drivers.cups.harness import make_printer
from tests.drivers.cups.testbed import DEAD_QUEUE, PDF_QUEUE, CupsTestbed

MASKED = "3517********0001"
CODE_RE = re.compile(r"Kode cetak: ([A-Z0-9]{4}-[A-Z0-9]{4})")


@pytest.fixture(scope="module")
def cups_bed() -> Iterator[CupsTestbed]:
    """A CUPS test bed of this module's own (its sockets and folders are private to it)."""
    if os.geteuid() != 0:
        pytest.skip("the CUPS test bed needs root (network namespace, cupsd as root)")
    testbed = CupsTestbed(Path(tempfile.mkdtemp(prefix="anjungan-cups-issued-"))).start()
    try:
        yield testbed
    finally:
        testbed.stop()


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    """A central server on SQLite with an officer and a recording SMS channel."""
    previous = use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    calendar = {"today": TODAY}
    sms = RecordingChannel()
    app = create_app(
        f"sqlite:///{tmp_path / 'central.db'}",
        today=lambda: calendar["today"],
        channels={"sms": sms, "whatsapp": sms, "email": RecordingChannel()},
        secret_key="test-session-key-0123456789abcdef",
    )
    app.state.review.worker.poll_s = 0.05
    create_user(app.state.db, "petugas", PASSWORD, "officer", office_code=OFFICE)
    server = EmbeddedServer(app, "127.0.0.1", 0).start()
    try:
        yield Central(server, app, calendar, sms, RecordingChannel())
    finally:
        server.stop()
        use_hasher(previous)


def issued_application(central: Central) -> tuple[str, str]:
    """An application taken to document_ready; (registration number, SMS print code)."""
    officer = Staff(central.url, "petugas")
    number = central.submit()
    officer.act(number, "approve", slot=f"{MONDAY.isoformat()}|08.00-11.00")
    central.calendar["today"] = MONDAY
    officer.act(number, "arrive")  # at the counter on the slot day
    officer.act(number, "verify")
    r = officer.act(number, "issue", holder_name="Budi Santoso", holder_nik="3517010101260001")
    assert r.status_code == 303, r.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        codes = [m.group(1) for s in central.sms.sent if (m := CODE_RE.search(s.body))]
        if codes:
            return number, codes[0]
        time.sleep(0.05)
    raise AssertionError("no print code was sent")


def kiosk(
    central: Central,
    cups_bed: CupsTestbed,
    tmp_path: Path,
    queue: str = PDF_QUEUE,
    journal: PrintJournal | None = None,
) -> tuple[IssuedDocumentPrint, PrintJournal]:
    """The kiosk's printing path on a real CUPS queue, journalled."""
    client = CentralClient(central.url, "kiosk-01", OFFICE, timeout=30)
    client.register("Lobi")
    journal = journal or PrintJournal(tmp_path / "journal.db", "kiosk-01")
    bound = 3.0 if queue == DEAD_QUEUE else 60.0  # the dead queue fails fast; cups-pdf may be slow
    printing = PrintingService(
        SimulatedTicketPrinter(),
        make_printer(cups_bed, queue, job_timeout_s=bound),
        kiosk_id="kiosk-01",
        journal=journal,
    )
    return IssuedDocumentPrint(client, printing, retry_pause_s=0.05), journal


def server_log(central: Central) -> list[tuple[str, str, str, str]]:
    """(document, kiosk, masked NIK, event) rows of the server's print log."""
    with central.app.state.db.transaction() as session:
        rows = session.scalars(select(PrintLogEntry).order_by(PrintLogEntry.id)).all()
        return [(r.document_number, r.kiosk_id, r.masked_nik, r.event) for r in rows]


def paper(testbed: CupsTestbed) -> set[tuple[Path, int]]:
    """What cups-pdf has put out so far (a reprint of a name overwrites: mtime tells)."""
    return {(p, p.stat().st_mtime_ns) for p in testbed.new_pdfs()}


def pdf_text_and_qr(pdf: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The text of a PDF and the QR codes found on its page."""
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf), str(tmp_path / "page")],
        timeout=30,
        check=True,
    )
    page = Image.open(tmp_path / "page.png").convert("L")
    return text, [
        c.text for c in zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.QRCode)
    ]


def test_document_prints_once_on_cups_with_its_verification_qr(
    central: Central, cups_bed: CupsTestbed, tmp_path: Path
) -> None:
    number, code = issued_application(central)
    printer, journal = kiosk(central, cups_bed, tmp_path)
    before = paper(cups_bed)
    untyped = printer.print_document(NIK, registration_number=number, code="")
    assert not untyped.printed and untyped.messages == (TYPE_CODE,)  # the code is typed
    result = printer.print_document(NIK, registration_number=number, code=code)
    assert result.printed, result.messages
    assert result.messages == (PRINTED.format(number=result.document_number),)
    ((sheet, _),) = paper(cups_bed) - before  # it came out of the printer
    text, codes = pdf_text_and_qr(sheet, tmp_path)
    assert result.document_number in text and MASKED in text and NIK not in text
    (url,) = codes
    assert url.startswith(f"{central.url}/verify/")

    again = printer.print_document(NIK, code=code.lower())  # the SMS code: already used
    assert not again.printed and len(paper(cups_bed) - before) == 1
    (message,) = again.messages
    assert message.id.startswith(ALREADY_PRINTED.id.split("{")[0]) and "loket" in message.id
    assert "Jombang" in message.id

    (job,) = journal.log()
    assert (job.kind, job.reference, job.actor, job.state) == (
        "document",
        result.document_number,
        MASKED,
        "done",
    )
    assert [e[3] for e in server_log(central)] == ["reserved", "printed", "refused"]
    assert {e[2] for e in server_log(central)} == {MASKED}


def test_failed_print_gives_the_code_back_and_it_prints_later(
    central: Central, cups_bed: CupsTestbed, tmp_path: Path
) -> None:
    number, code = issued_application(central)
    broken, journal = kiosk(central, cups_bed, tmp_path, queue=DEAD_QUEUE)
    failed = broken.print_document(NIK, code=code)
    assert not failed.printed and failed.messages[-1] == STILL_VALID
    assert [j.state for j in journal.log()] == ["failed"]
    assert [e[3] for e in server_log(central)] == ["reserved", "released"]

    fixed, _ = kiosk(central, cups_bed, tmp_path, journal=journal)  # paper back in: same code
    before = paper(cups_bed)
    result = fixed.print_document(NIK, code=code)
    assert result.printed, result.messages
    assert len(paper(cups_bed) - before) == 1
    assert [j.state for j in journal.log()] == ["failed", "done"]
    assert [e[3] for e in server_log(central)] == ["reserved", "released", "reserved", "printed"]


def test_a_malformed_code_never_reaches_the_server(
    central: Central, cups_bed: CupsTestbed, tmp_path: Path
) -> None:
    printer, journal = kiosk(central, cups_bed, tmp_path)
    result: Any = printer.print_document(NIK, code="0O1I-LSZB")  # look-alikes are not in codes
    assert not result.printed and result.messages == (BAD_CODE,)
    assert journal.log() == [] and server_log(central) == []
