"""A4 receipts kept sealed for an attendant's reprint: no plaintext at rest, wiped when done."""

from __future__ import annotations

import base64
import logging
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.errors import PaperOut
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import SubmissionReceipt
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.attendant import texts as T
from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, hash_pin
from kiosk_app.services.attendant.service import AttendantService
from kiosk_app.services.durable import STORAGE
from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.printing.receipt_vault import (
    ReceiptSealer,
    SealError,
    receipt_cutoff,
)
from kiosk_app.services.printing.service import PrintingService
from tests.services.canary import Canary, pdf_text, scan

PIN = "482913"
REG = "AKTA-35.17.261122.0042"


@pytest.fixture(scope="module")
def settings() -> AttendantSettings:
    """One attendant (hashed once: scrypt is slow on purpose)."""
    return AttendantSettings(staff=[Attendant("PTG-07", hash_pin(PIN))])


class Kiosk:
    """Printing and attendant services on one journal, with a clock the test moves."""

    def __init__(self, data: Path, settings: AttendantSettings, key: bytes | None = None) -> None:
        noon = datetime.now().astimezone().replace(hour=12, minute=0, second=0, microsecond=0)
        self.now = [noon.astimezone(UTC)]
        clock = lambda: self.now[0]  # noqa: E731
        self.journal = PrintJournal(data / "print-journal.db", "KIOSK-3517-01", now=clock)
        self.key = key or AESGCM.generate_key(bit_length=256)
        self.sealer = ReceiptSealer(self.key, "KIOSK-3517-01", keep=timedelta(hours=4), now=clock)
        self.ticket = SimulatedTicketPrinter()
        self.a4 = SimulatedDocumentPrinter()
        self.printing = PrintingService(
            self.ticket,
            self.a4,
            kiosk_id="KIOSK-3517-01",
            journal=self.journal,
            receipts=self.sealer,
        )
        self.attendant = AttendantService(
            settings,
            kiosk_id="KIOSK-3517-01",
            session=None,
            journal=self.journal,
            ticket_printer=self.ticket,
            printing=self.printing,
            receipts=self.sealer,
            devices={"ticket_printer": self.ticket, "document_printer": self.a4},
        )
        assert self.attendant.unlock_with_pin(PIN)

    def submit(self, canary: Canary, reference: str = REG) -> bool:
        """A citizen's pre-application printed: True when the A4 receipt came out."""
        info = SERVICES["akta_kelahiran"]
        receipt = SubmissionReceipt(
            reference,
            "A-007",
            "submitted",
            info.key,
            "3517",
            "Disdukcapil Kab. Jombang",
            Slot(date(2026, 11, 24), "08:00-09:00"),
            "",
        )
        result = self.printing.print_pre_application(
            receipt=receipt,
            info=info,
            identity=canary.identity(),
            values=sample_birth_values(),
            language="id",
        )
        assert result.ticket_printed
        return result.receipt_printed

    def receipt_payloads(self) -> list[str | None]:
        """The payload column of every receipt job, oldest first (read past the journal API)."""
        with sqlite3.connect(self.journal_path) as db:
            rows = db.execute("SELECT payload FROM print_jobs WHERE kind='receipt' ORDER BY id")
            return [r[0] for r in rows]

    @property
    def journal_path(self) -> Path:
        return Path(self.journal._db.execute("PRAGMA database_list").fetchone()[2])

    def close(self) -> None:
        self.attendant.close()
        self.journal.close()


@pytest.fixture
def kiosk(tmp_path: Path, settings: AttendantSettings):  # type: ignore[no-untyped-def]
    (tmp_path / "data").mkdir()
    running = Kiosk(tmp_path / "data", settings)
    yield running
    running.close()


def test_failed_receipt_kept_sealed_then_reprinted_and_wiped(
    kiosk: Kiosk, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    canary = Canary.fresh()
    kiosk.a4.set_paper(False)
    with caplog.at_level(logging.DEBUG):
        assert not kiosk.submit(canary)
    [sealed] = kiosk.receipt_payloads()
    assert sealed is not None and sealed.startswith("aesgcm1:")  # something is kept...
    assert scan(canary, [tmp_path / "data"]) == {}  # ...and none of it readable,
    assert canary.find(base64.b64decode(sealed.split(":", 1)[1])) is None  # nor once decoded
    kiosk.attendant.refresh()  # the panel's reprint list opens
    [item] = [i for i in kiosk.attendant.view().reprints if i.kind == "receipt"]
    assert (item.reference, item.state) == (REG, "failed")

    with caplog.at_level(logging.INFO):
        assert not kiosk.attendant.reprint(item.job_id)  # still no paper: says so, kept
        assert kiosk.attendant.view().message == PaperOut.citizen_message
        kiosk.a4.set_paper(True)
        [item] = [i for i in kiosk.attendant.view().reprints if i.kind == "receipt"]
        assert kiosk.attendant.reprint(item.job_id)
    assert kiosk.attendant.view().message == T.RECEIPT_REPRINTED.format(reference=REG)
    [(title, pdf)] = kiosk.a4.printed
    assert title == f"receipt-{REG}" and canary.name.encode() in pdf_text(pdf)  # the real one
    assert not [i for i in kiosk.attendant.view().reprints if i.kind == "receipt"]
    assert not kiosk.attendant.reprint(item.job_id)  # never twice
    assert kiosk.receipt_payloads() == [None, None, None]  # wiped once printed
    assert "action=reprint_receipt" in caplog.text and canary.find(caplog.text.encode()) is None
    assert kiosk.attendant.status()["receipt_reprints"] == "3"
    assert scan(canary, [tmp_path / "data"]) == {}


def test_kept_receipt_expires_after_hours_and_cannot_be_opened_elsewhere(
    kiosk: Kiosk, tmp_path: Path
) -> None:
    canary = Canary.fresh()
    kiosk.a4.set_paper(False)
    assert not kiosk.submit(canary)
    [sealed] = kiosk.receipt_payloads()
    assert sealed is not None
    kiosk.attendant.refresh()
    assert kiosk.sealer.open(REG, sealed)[:5] == b"%PDF-"
    other = ReceiptSealer(AESGCM.generate_key(bit_length=256), "KIOSK-3517-01")
    with pytest.raises(SealError):
        other.open(REG, sealed)  # another key
    with pytest.raises(SealError):
        kiosk.sealer.open("AKTA-35.17.261122.0043", sealed)  # bound to its registration number

    kiosk.now[0] += timedelta(hours=3, minutes=59)
    assert kiosk.sealer.expire(kiosk.journal) == 0
    kiosk.attendant.refresh()
    assert [i.state for i in kiosk.attendant.view().reprints if i.kind == "receipt"] == ["failed"]
    kiosk.now[0] += timedelta(minutes=2)  # past the 4 hours
    kiosk.a4.set_paper(True)
    kiosk.attendant.refresh()
    assert [i for i in kiosk.attendant.view().reprints if i.kind == "receipt"] == []
    job = next(j for j in kiosk.journal.pending() if j.kind == "receipt")
    assert not kiosk.attendant.reprint(job.id)
    assert kiosk.attendant.view().message == T.RECEIPT_NOT_KEPT and not kiosk.a4.printed
    assert kiosk.sealer.expire(kiosk.journal) == 1
    assert kiosk.receipt_payloads() == [None]
    assert kiosk.journal.pending()[0].state == "failed"  # the log line stays, without the copy


def test_the_window_ends_with_the_day() -> None:
    local = datetime.now().astimezone()
    early = local.replace(hour=1, minute=30, second=0, microsecond=0)
    midnight = early.replace(hour=0, minute=0)
    assert receipt_cutoff(early, timedelta(hours=4)) == midnight.astimezone(UTC)
    late = local.replace(hour=18, minute=0, second=0, microsecond=0)
    assert receipt_cutoff(late, timedelta(hours=4)) == (late - timedelta(hours=4)).astimezone(UTC)


def test_without_a_sealer_no_receipt_is_kept(tmp_path: Path) -> None:
    journal = PrintJournal(tmp_path / "j.db", "KIOSK-3517-01")
    a4 = SimulatedDocumentPrinter()
    a4.set_paper(False)
    printing = PrintingService(
        SimulatedTicketPrinter(), a4, kiosk_id="KIOSK-3517-01", journal=journal
    )
    info = SERVICES["akta_kelahiran"]
    receipt = SubmissionReceipt(
        REG,
        "A-007",
        "submitted",
        info.key,
        "3517",
        "Disdukcapil",
        Slot(date(2026, 11, 24), "08:00-09:00"),
        "",
    )
    result = printing.print_pre_application(
        receipt=receipt,
        info=info,
        identity=Canary.fresh().identity(),
        values=sample_birth_values(),
        language="id",
    )
    assert not result.receipt_printed
    [job] = [j for j in journal.pending() if j.kind == "receipt"]
    assert job.payload is None
    journal.close()


def test_a_replaced_key_refuses_the_reprint_tells_the_technician_and_keeps_the_receipt(
    tmp_path: Path, settings: AttendantSettings
) -> None:
    """The kiosk restarts with another outbox key (a replaced disk, a wrong file): the kept
    receipt cannot be opened; the attendant hears it is not kept, the health report names the
    journal, and the sealed copy stays for the right key (until it expires)."""
    data = tmp_path / "data"
    data.mkdir()
    first = Kiosk(data, settings)
    first.a4.set_paper(False)
    assert not first.submit(Canary.fresh())
    right_key = first.key
    first.close()

    replaced = Kiosk(data, settings, key=AESGCM.generate_key(bit_length=256))
    try:
        replaced.attendant.refresh()
        [item] = [i for i in replaced.attendant.view().reprints if i.kind == "receipt"]
        assert not replaced.attendant.reprint(item.job_id)
        assert replaced.attendant.view().message == T.RECEIPT_NOT_KEPT
        status = STORAGE.status()
        assert status["state"] == "damaged" and "print-journal.db" in status["files"]
        assert "does not open with this kiosk's key" in status["files"]
        assert replaced.receipt_payloads()[0] is not None  # kept, not wiped
    finally:
        replaced.close()

    again = Kiosk(data, settings, key=right_key)
    try:
        again.attendant.refresh()
        [item] = [i for i in again.attendant.view().reprints if i.kind == "receipt"]
        assert again.attendant.reprint(item.job_id)
        assert again.a4.printed and again.a4.printed[-1][1][:5] == b"%PDF-"
    finally:
        again.close()
