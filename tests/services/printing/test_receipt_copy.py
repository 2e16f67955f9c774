"""A lost receipt printed again from the central server's data, through the real parts: the
server over HTTP on loopback (SQLite and PostgreSQL), the ESC/POS driver on a pty to the printer
emulator, and cupsd (cups-pdf, and an ippeveprinter queue CUPS has stopped). The copy's QR is the
server's seal and the check-in on the booked morning takes it; a printer fault never loses the
copy (journalled, the A4 sealed in the vault for an attendant's reprint) and says what to do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from drivers.card_reader.citizens import citizen
from kiosk_app.central import CentralClient
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.ticket import COPY_MARK
from kiosk_app.services.printing.copy_outcomes import CopyOutcomes
from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.printing.receipt_copy import (
    ATTENDANT_CALLED,
    COPIED,
    COPY_LIMIT,
    NOT_FOUND,
    ReceiptCopyPrint,
)
from kiosk_app.services.printing.receipt_vault import ReceiptSealer
from kiosk_app.services.printing.service import PrintingService

# The officer tests' server and officer, on SQLite and PostgreSQL (imported fixtures).
from tests.central.conftest import database_url as database_url
from tests.central.conftest import pg_database as pg_database
from tests.central.conftest import postgres as postgres
from tests.central.officer.conftest import MONDAY, OFFICE, Central, Staff
from tests.central.officer.conftest import central as central
from tests.central.officer.conftest import cheap_password_hashing as cheap_password_hashing
from tests.central.officer.conftest import officer as officer
from tests.central.officer.test_queue import check_in
from tests.drivers.cups.fixtures import IppFaults, cups_testbed  # noqa: F401 (session fixture)
from tests.drivers.cups.harness import make_printer
from tests.drivers.cups.testbed import IPP_QUEUE, PDF_QUEUE, CupsTestbed
from tests.drivers.escpos.harness import TicketPrinterHarness, escpos_harness
from tests.services.printing.test_issued_print import paper, pdf_text_and_qr

KIOSK = "kiosk-07"  # the copying kiosk (check_in checks in as kiosk-01)
MARK = COPY_MARK.id.split("{")[0].strip()  # "CETAK ULANG"


@pytest.fixture
def holder() -> Identity:
    return citizen(0)


@pytest.fixture
def tickets(tmp_path: Path) -> Iterator[TicketPrinterHarness]:
    with escpos_harness(tmp_path / "escpos") as harness:
        yield harness


class Rig:
    """The kiosk's copy path: central client, ESC/POS on a pty, CUPS, journal and vault."""

    def __init__(
        self,
        server: Central,
        cups: CupsTestbed,
        tickets: TicketPrinterHarness,
        data: Path,
        url: str | None = None,  # e.g. a fault proxy's in front of the server
    ) -> None:
        self.client = CentralClient(url or server.url, KIOSK, OFFICE, timeout=30)
        self.client.register("Lobi")
        self.journal = PrintJournal(data / "print-journal.db", KIOSK)
        self.vault = ReceiptSealer(AESGCM.generate_key(bit_length=256), KIOSK)
        self.cups, self.tickets = cups, tickets

    def copier(
        self, queue: str = PDF_QUEUE, outcomes: CopyOutcomes | None = None
    ) -> ReceiptCopyPrint:
        printing = PrintingService(
            self.tickets.printer,
            make_printer(self.cups, queue, job_timeout_s=60.0),
            kiosk_id=KIOSK,
            journal=self.journal,
            receipts=self.vault,
        )
        return ReceiptCopyPrint(self.client, printing, outcomes=outcomes)


def file_for(server: Central, holder: Identity) -> str:
    """An akta kelahiran filed at the kiosk by the card holder; its registration number."""
    import requests

    r = requests.post(
        f"{server.url}/api/v1/applications",
        json={
            "service": "akta_kelahiran",
            "applicant_nik": holder.nik,
            "applicant_name": holder.name,
            "data": {"child_name": "Budi Santoso", "contact_phone": "081234567890"},
            "slot": {"date": MONDAY.isoformat(), "window": "08.00-11.00"},
        },
        headers={**server.kiosk(KIOSK), "Idempotency-Key": "copy-test-0001"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["registration_number"])


def test_a_copy_prints_on_escpos_and_cups_and_its_qr_checks_in(
    central: Central,
    officer: Staff,
    cups_testbed: CupsTestbed,  # noqa: F811 - the imported session fixture
    tickets: TicketPrinterHarness,
    holder: Identity,
    tmp_path: Path,
) -> None:
    number = file_for(central, holder)
    assert officer.act(number, "approve", slot=f"{MONDAY}|08.00-11.00").status_code == 303
    rig = Rig(central, cups_testbed, tickets, tmp_path)
    before = paper(cups_testbed)
    result = rig.copier().print_copy(holder, number, "id")
    assert result.ticket_printed and result.receipt_printed, result.messages
    assert result.messages[0] == COPIED.format(number=number)
    ((sheet, _),) = paper(cups_testbed) - before  # cups-pdf's paper
    text, on_paper = pdf_text_and_qr(sheet, tmp_path)
    assert MARK in text and number in text and holder.nik not in text
    (ticket,) = tickets.printed()
    assert MARK in ticket.text and number in ticket.text
    on_ticket = [p.decode() for p in ticket.qr_payloads]
    assert on_ticket == on_paper and on_paper[0].startswith(f"{central.url}/r/")
    # the verification morning: the check-in takes the copy's QR
    central.at(MONDAY, 8)
    arrival = check_in(central, seal=on_ticket[0])
    assert arrival.status_code == 200, arrival.text
    assert arrival.json()["registration_number"] == number
    assert [(j.kind, j.state) for j in rig.journal.log()] == [
        ("ticket", "done"),
        ("receipt", "done"),
    ]
    # not the card holder's: nothing printed
    other = citizen(1)
    refused = rig.copier().print_copy(other, number, "en")
    assert not refused.receipt_printed and refused.messages == (NOT_FOUND,)
    assert len(tickets.printed()) == 1


def test_printer_faults_keep_the_copy_and_the_daily_limit_is_said(
    central: Central,
    cups_testbed: CupsTestbed,  # noqa: F811
    tickets: TicketPrinterHarness,
    holder: Identity,
    tmp_path: Path,
) -> None:
    number = file_for(central, holder)
    rig = Rig(central, cups_testbed, tickets, tmp_path)
    faults = IppFaults(cups_testbed)
    faults.stopped(True)  # CUPS stopped the A4 queue after a jam and rejects jobs
    try:
        stopped = rig.copier(IPP_QUEUE).print_copy(holder, number, "id")
    finally:
        faults.reset()
    assert stopped.ticket_printed and not stopped.receipt_printed
    assert stopped.messages[-1] == ATTENDANT_CALLED and "not printed" in stopped.attendant_reason
    (kept,) = rig.journal.pending()  # the A4 copy waits, sealed, for an attendant's reprint
    assert kept.kind == "receipt" and kept.reference.startswith(f"{number} salinan ")
    job = next(j for j in rig.journal.pending() if j.id == kept.id)
    assert job.payload
    pdf = rig.vault.open(kept.reference, job.payload)
    assert pdf.startswith(b"%PDF")

    tickets.faults["paper_out"](True)  # the ticket roll runs out: the A4 still prints
    before = paper(cups_testbed)
    try:
        no_paper = rig.copier().print_copy(holder, number, "en")
    finally:
        tickets.faults["paper_out"](False)
    assert no_paper.receipt_printed and not no_paper.ticket_printed
    assert no_paper.messages[-1] == ATTENDANT_CALLED and len(paper(cups_testbed) - before) == 1
    assert [j.kind for j in rig.journal.pending()] == ["receipt", "ticket"]

    assert rig.copier().print_copy(holder, number, "id").receipt_printed  # the third today
    limit = rig.copier().print_copy(holder, number, "id")
    assert not limit.ticket_printed and limit.messages == (COPY_LIMIT.format(limit=3),)
    # the next WIB day: copies again
    central.at(central.calendar["today"] + timedelta(days=1), 9)
    assert rig.copier().print_copy(holder, number, "id").receipt_printed
