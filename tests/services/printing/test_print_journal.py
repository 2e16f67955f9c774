"""The print journal: durable before sending, nothing lost or doubled across a crash."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drivers.errors import PaperOut
from drivers.ticket_printer.emulator import EscposEmulator
from drivers.ticket_printer.escpos_serial import EscposSerialTicketPrinter
from kiosk_app.services.printing.journal import (
    CodeAlreadyUsed,
    DuplicatePrint,
    PrintJournal,
    ticket_from_payload,
    ticket_payload,
)
from tests.drivers.test_ticket_printer_contract import make_ticket

ROOT = Path(__file__).resolve().parents[3]
REG = "AKTA-35.17.261122.0007"


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[PrintJournal]:
    """A fresh journal for kiosk KIOSK-3517-01."""
    j = PrintJournal(tmp_path / "journal.db", "KIOSK-3517-01")
    yield j
    j.close()


def test_durable_settings(journal: PrintJournal) -> None:
    db = journal._db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_done_job_is_logged_without_its_payload(journal: PrintJournal) -> None:
    ticket = make_ticket(registration_number=REG)
    with journal.track("ticket", REG, payload=ticket_payload(ticket)) as job:
        assert journal.get(job.id).state == "printing"
    done = journal.get(job.id)
    assert done.state == "done" and done.payload is None and done.finished_at
    [entry] = journal.log()
    assert (entry.kind, entry.reference, entry.actor, entry.kiosk_id) == (
        "ticket",
        REG,
        "citizen",
        "KIOSK-3517-01",
    )
    assert journal.pending() == []


def test_never_twice_unasked(journal: PrintJournal) -> None:
    journal.mark_done(journal.record("ticket", REG).id)
    with pytest.raises(DuplicatePrint) as caught:
        journal.record("ticket", REG)
    assert "sudah dicetak" in caught.value.citizen_message("id")
    copy = journal.reprint(1, actor="officer:PTG-07")  # asked for: allowed
    assert copy.reprint_of == 1 and copy.actor == "officer:PTG-07"


def crash_mid_print(journal_path: Path, ticket: Any, reference: str = REG) -> None:
    """A kiosk process journals `ticket` for printing, then dies before the printer finished."""
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from kiosk_app.services.printing.journal import PrintJournal
        j = PrintJournal({str(journal_path)!r}, "KIOSK-3517-01")
        j.record("ticket", {reference!r}, payload=sys.stdin.read())
        os._exit(9)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], input=ticket_payload(ticket), text=True, timeout=30
    )
    assert proc.returncode == 9


def test_crash_mid_print_offers_a_reprint(tmp_path: Path) -> None:
    ticket = make_ticket(registration_number=REG)
    crash_mid_print(tmp_path / "j.db", ticket)
    journal = PrintJournal(tmp_path / "j.db", "KIOSK-3517-01")
    [job] = journal.recover()
    assert job.state == "interrupted" and ticket_from_payload(job.payload or "") == ticket
    assert journal.recover() == []  # start-up recovery happens once
    assert [j.id for j in journal.pending()] == [job.id]
    with pytest.raises(DuplicatePrint):
        journal.record("ticket", REG)  # not automatically again
    again = journal.reprint(job.id, actor="citizen")
    assert journal.get(job.id).state == "reprinted" and journal.get(job.id).payload is None
    assert ticket_from_payload(again.payload or "") == ticket
    journal.mark_done(again.id)
    assert journal.pending() == []
    journal.close()


def test_failed_print_then_reprint_prints_exactly_once(
    journal: PrintJournal, tmp_path: Path
) -> None:
    ticket = make_ticket(registration_number=REG)
    with EscposEmulator(tmp_path / "tty", tmp_path / "png") as emulator:
        printer = EscposSerialTicketPrinter(str(emulator.link), status_timeout_s=1.0)
        emulator.run_out_of_paper_after(200)
        with pytest.raises(PaperOut):
            with journal.track("ticket", REG, payload=ticket_payload(ticket)):
                printer.print_ticket(ticket)
        [failed] = journal.pending()
        assert failed.reason == "PaperOut" and failed.payload
        emulator.set_fault("paper_out", False)  # the attendant loads paper
        again = journal.reprint(failed.id, actor="officer:PTG-07")
        printer.print_ticket(ticket_from_payload(again.payload or ""))
        journal.mark_done(again.id)
        printer.close()
        assert len(emulator.tickets) == 1 and emulator.machine.incomplete == 1
    assert journal.pending() == [] and journal.get(failed.id).state == "reprinted"
    assert [j.state for j in journal.log()] == ["reprinted", "done"]


def test_dismiss_wipes_the_payload(journal: PrintJournal) -> None:
    job = journal.record("receipt", REG, payload="{}")
    journal.mark_failed(job.id, "PrinterOffline")
    journal.dismiss(job.id, actor="officer:PTG-07")
    assert journal.pending() == [] and journal.get(job.id).payload is None


def test_one_time_print_codes(journal: PrintJournal, tmp_path: Path) -> None:
    first = journal.record("document", "AKTA-3517-LU-0001", code="K7Q-99X")
    journal.mark_failed(first.id, "PaperOut")  # nothing printed: the code still works
    second = journal.record("document", "AKTA-3517-LU-0001", code="K7Q-99X")
    journal.mark_done(second.id)
    with pytest.raises(CodeAlreadyUsed):
        journal.record("document", "AKTA-3517-LU-0001", code=" K7Q-99X ")
    other = journal.record("document", "AKTA-3517-LU-0001", code="ZZZ-11A")  # a new code
    assert other.id > second.id
    journal.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("journal.db*"))
    assert b"K7Q-99X" not in raw  # only a hash of the code is stored


def test_no_nik_in_the_log(journal: PrintJournal) -> None:
    with pytest.raises(ValueError, match="NIK"):
        journal.record("ticket", "3517012345678901")
    with pytest.raises(ValueError, match="NIK"):
        journal.record("ticket", REG, actor="citizen 3517012345678901")


def test_purge_old_payloads(tmp_path: Path) -> None:
    clock = [datetime(2026, 11, 22, 10, 0, tzinfo=UTC)]
    journal = PrintJournal(tmp_path / "j.db", "K1", now=lambda: clock[0])
    job = journal.record("ticket", REG, payload="{}")
    journal.mark_failed(job.id, "CoverOpen")
    assert journal.purge_payloads(clock[0] - timedelta(days=1)) == 0
    assert journal.purge_payloads(clock[0] + timedelta(days=1)) == 1
    assert journal.get(job.id).payload is None
    journal.close()


def test_concurrent_records_are_serialised(journal: PrintJournal) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(20):
                journal.mark_done(journal.record("ticket", f"KTP-35.17.261122.{n}{i:03d}").id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == [] and len(journal.log()) == 80


def test_a_printed_calling_job_keeps_one_reprint_and_nothing_personal(
    journal: PrintJournal,
) -> None:
    reference = f"A-001/{REG}/2026-12-07"
    job = journal.record("calling", reference, payload='{"full": "ticket"}')
    journal.mark_done(job.id)
    assert journal.get(job.id).payload is None  # wiped like every job's
    with pytest.raises(ValueError):
        journal.keep_for_reprint(job.id, '{"nik": "3517014501950001"}')
    journal.keep_for_reprint(job.id, '{"calling_number": "A-001"}')
    assert [j.id for j in journal.kept("calling", datetime.now(UTC) - timedelta(hours=1))] == [
        job.id
    ]
    ticket = journal.record("ticket", REG)
    journal.mark_done(ticket.id)
    journal.keep_for_reprint(ticket.id, "{}")  # a ticket keeps nothing once printed
    assert journal.get(ticket.id).payload is None

    again = journal.reprint(job.id, "attendant:PTG-07")
    assert again.payload == '{"calling_number": "A-001"}' and again.reprint_of == job.id
    assert journal.get(job.id).payload is None  # the reprint took it
    with pytest.raises(DuplicatePrint):
        journal.reprint(job.id, "attendant:PTG-07")  # not twice
    assert journal.drop_kept("calling", datetime.now(UTC) + timedelta(hours=1)) == 0
