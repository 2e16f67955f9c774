"""A receipt copy that printed nothing does not use up one of the day's copies, through the real
parts: the central server over HTTP on loopback (SQLite and PostgreSQL), the ESC/POS driver on
a pty to the printer emulator with its paper out, and cupsd with the ippeveprinter queue out of
paper or stopped. The kiosk's report survives a network drop (a fault proxy) and is applied
once; a copy that partly printed counts; the citizen is told which, the technician gets a log
line naming the failed devices."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kiosk_app.central import CentralClient
from kiosk_app.domain.identity import Identity
from kiosk_app.services.durable import STORAGE, open_durable
from kiosk_app.services.printing.copy_outcomes import PENDING, REJECTED, SENT, CopyOutcomes
from kiosk_app.services.printing.receipt_copy import (
    ATTENDANT_CALLED,
    COPIED,
    COPY_LIMIT,
    NOT_COUNTED,
    NOT_COUNTED_LATER,
    PARTLY_COUNTED,
)

# The officer tests' server on SQLite and PostgreSQL, CUPS and the pty printer (imported fixtures).
from tests.central.conftest import database_url as database_url
from tests.central.conftest import pg_database as pg_database
from tests.central.conftest import postgres as postgres
from tests.central.officer.conftest import OFFICE, Central
from tests.central.officer.conftest import central as central
from tests.central.officer.conftest import cheap_password_hashing as cheap_password_hashing
from tests.central.officer.test_receipt_copies import ask, rows
from tests.drivers.cups.fixtures import IppFaults, cups_testbed  # noqa: F401 (session fixture)
from tests.drivers.cups.testbed import IPP_QUEUE, CupsTestbed
from tests.drivers.escpos.harness import TicketPrinterHarness
from tests.services.faultproxy import FaultProxy
from tests.services.printing.test_issued_print import paper
from tests.services.printing.test_receipt_copy import KIOSK, MARK, Rig, file_for, holder, tickets

__all__ = ["holder", "tickets"]  # fixtures used by name

OUTCOME = b"POST /api/v1/card-holder/receipt-copy/"  # the report's request line, not the copy's


def test_three_copies_that_printed_nothing_leave_the_fourth(
    central: Central,
    cups_testbed: CupsTestbed,  # noqa: F811 - the imported session fixture
    tickets: TicketPrinterHarness,
    holder: Identity,
    tmp_path: Path,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The old code refused the fourth: three jams cost an elderly citizen her three copies."""
    number = file_for(central, holder)
    rig = Rig(central, cups_testbed, tickets, tmp_path)
    outcomes = CopyOutcomes(tmp_path / "copy-outcomes.db", rig.client)
    faults = IppFaults(cups_testbed)
    tickets.faults["paper_out"](True)  # the ticket roll is out
    faults.paper_out(True)  # and the A4 tray is empty
    caplog.set_level(logging.WARNING, "kiosk_app.services.printing.receipt_copy")
    try:
        failed = [
            rig.copier(IPP_QUEUE, outcomes).print_copy(holder, number, "id") for _ in range(3)
        ]
    finally:
        tickets.faults["paper_out"](False)
        faults.reset()
    for result in failed:
        assert not result.ticket_printed and not result.receipt_printed
        assert NOT_COUNTED in result.messages and result.messages[-1] == ATTENDANT_CALLED
        assert "not printed" in result.attendant_reason
    assert tickets.printed() == []
    line = next(r.getMessage() for r in caplog.records if "copy " in r.getMessage())
    assert "ticket: PaperOut" in line and "receipt: " in line and "given back" in line
    assert holder.nik not in caplog.text

    before = paper(cups_testbed)
    fourth = rig.copier(IPP_QUEUE, outcomes).print_copy(holder, number, "id")
    assert fourth.ticket_printed and fourth.receipt_printed, fourth.messages
    assert fourth.messages[0] == COPIED.format(number=number)
    (ticket,) = tickets.printed()
    assert MARK in ticket.text and number in ticket.text
    assert len(paper(cups_testbed) - before) == 0  # ippeveprinter's paper is its spool
    outcomes.drain_once()  # the printed copy's report goes in the background
    assert [e.status for e in outcomes.entries()] == [SENT] * 4
    audited = rows(
        database_url, "SELECT outcome, print_outcome, print_failure FROM receipt_copies ORDER BY id"
    )
    assert [(o, p) for o, p, _f in audited] == [
        ("allowed", "not_printed"),
        ("allowed", "not_printed"),
        ("allowed", "not_printed"),
        ("allowed", "printed"),
    ]
    assert all(f and f.startswith("ticket: PaperOut; receipt: ") for _o, _p, f in audited[:3])
    # Three copies printed today, counted: the limit holds.
    for _ in range(2):
        assert rig.copier(IPP_QUEUE, outcomes).print_copy(holder, number, "en").receipt_printed
    limit = rig.copier(IPP_QUEUE, outcomes).print_copy(holder, number, "id")
    assert limit.messages == (COPY_LIMIT.format(limit=3),)
    outcomes.close()


def test_a_report_lost_to_the_network_is_queued_and_applied_once(
    central: Central,
    cups_testbed: CupsTestbed,  # noqa: F811
    tickets: TicketPrinterHarness,
    holder: Identity,
    tmp_path: Path,
    database_url: str,
) -> None:
    number = file_for(central, holder)
    proxy = FaultProxy(int(central.url.rsplit(":", 1)[1]))
    proxy.only = OUTCOME
    rig = Rig(central, cups_testbed, tickets, tmp_path, url=proxy.base_url)
    outcomes = CopyOutcomes(tmp_path / "copy-outcomes.db", rig.client)
    faults = IppFaults(cups_testbed)
    try:
        # Both printers fail and the network drops before the report: it waits on disk.
        proxy.set_mode("down")
        tickets.faults["paper_out"](True)
        faults.stopped(True)
        try:
            lost = rig.copier(IPP_QUEUE, outcomes).print_copy(holder, number, "id")
        finally:
            tickets.faults["paper_out"](False)
            faults.reset()
        assert not lost.ticket_printed and not lost.receipt_printed
        assert NOT_COUNTED_LATER in lost.messages and NOT_COUNTED not in lost.messages
        (queued,) = outcomes.entries()
        assert queued.status == PENDING and queued.attempts == 1
        outcomes.close()  # the kiosk restarts: the report is still on disk
        outcomes = CopyOutcomes(tmp_path / "copy-outcomes.db", rig.client)
        # The server applies it but the answer is lost: the resend is replayed, not re-applied.
        proxy.set_mode("reset_after_forward")
        outcomes._bring_forward()
        assert outcomes.drain_once() == 0
        assert outcomes.entries()[0].status == PENDING
        proxy.set_mode("forward")
        outcomes._bring_forward()
        assert outcomes.drain_once() == 1
        (sent,) = outcomes.entries()
        assert sent.status == SENT and sent.idempotency_key == queued.idempotency_key
        audited = rows(database_url, "SELECT print_outcome, report_key FROM receipt_copies")
        assert audited == [("not_printed", queued.idempotency_key)]

        # The ticket printed, the A4 did not: the citizen holds a sealed receipt; it counts.
        faults.stopped(True)
        try:
            partly = rig.copier(IPP_QUEUE, outcomes).print_copy(holder, number, "id")
        finally:
            faults.reset()
        assert partly.ticket_printed and not partly.receipt_printed
        assert PARTLY_COUNTED in partly.messages and NOT_COUNTED not in partly.messages
        outcomes.drain_once()
        audited = rows(database_url, "SELECT print_outcome FROM receipt_copies ORDER BY id")
        assert audited == [("not_printed",), ("partly_printed",)]
        left = [rig.copier(IPP_QUEUE, outcomes).print_copy(holder, number, "id")]
        left.append(rig.copier(IPP_QUEUE, outcomes).print_copy(holder, number, "id"))
        assert [r.receipt_printed for r in left] == [True, True]  # the given-back one and one
        assert rig.copier(IPP_QUEUE, outcomes).print_copy(holder, number, "id").messages == (
            COPY_LIMIT.format(limit=3),
        )
        assert outcomes.drain_once() == 2  # the printed copies' reports, in the background
        # A report the server refuses for good (no such copy of this kiosk) is kept, not retried.
        assert (
            outcomes.report(99999, ticket_printed=False, receipt_printed=False, wait=True) is None
        )
        refused = outcomes.entries()[-1]
        assert refused.copy_id == 99999 and refused.status == REJECTED
        assert "not_found" in refused.last_error or "404" in refused.last_error
        assert outcomes.drain_once() == 0 and outcomes.entries()[-1].attempts == 1
    finally:
        outcomes.close()
        proxy.close()


def test_a_damaged_report_is_set_aside_and_the_next_is_sent(
    central: Central, tmp_path: Path, database_url: str
) -> None:
    number = central.submit()
    first, second = (ask(central, number, kiosk=KIOSK).json()["copy_id"] for _ in range(2))
    client = CentralClient(central.url, KIOSK, OFFICE, timeout=30)
    client.register("Lobi")
    path = tmp_path / "copy-outcomes.db"
    outcomes = CopyOutcomes(path, client)
    try:
        for copy_id in (first, second):
            outcomes.report(copy_id, ticket_printed=False, receipt_printed=False)
        db = open_durable(path, "")
        db.execute("UPDATE copy_outcomes SET idempotency_key=x'00ff' WHERE copy_id=?", (first,))
        db.close()
        assert outcomes.drain_once() == 1  # the damaged row no longer blocks the one behind
        assert [(e.copy_id, e.status) for e in outcomes.entries()] == [(second, SENT)]
        assert "copy-outcomes.db" in STORAGE.status()["files"]
    finally:
        outcomes.close()
    audited = rows(database_url, "SELECT id, print_outcome FROM receipt_copies ORDER BY id")
    assert audited == [(first, None), (second, "not_printed")]  # the damaged one still counts


def test_a_report_made_while_the_kiosk_has_no_token_waits_for_one(
    central: Central, tmp_path: Path, database_url: str
) -> None:
    """A kiosk without its token (re-enrolment under way) keeps the report and sends it once
    it has one: a refusal for good would leave the citizen's copy counted."""
    number = central.submit()
    copy_id = ask(central, number, kiosk=KIOSK).json()["copy_id"]
    client = CentralClient(central.url, KIOSK, OFFICE, timeout=30)  # not registered yet
    now = [1_000_000.0]
    outcomes = CopyOutcomes(tmp_path / "copy-outcomes.db", client, clock=lambda: now[0])
    try:
        assert (
            outcomes.report(copy_id, ticket_printed=False, receipt_printed=False, wait=True) is None
        )
        assert [(e.copy_id, e.status) for e in outcomes.entries()] == [(copy_id, PENDING)]
        client.register("Lobi")
        now[0] += 3600
        # Stamped and measured by the queue's one clock (the stamp was once the wall clock's:
        # an hour on this clock read as none, or as 3599 s on a slow machine).
        assert outcomes.status()["oldest_waiting_s"] == "3600"
        assert outcomes.drain_once() == 1
        assert [(e.copy_id, e.status) for e in outcomes.entries()] == [(copy_id, SENT)]
    finally:
        outcomes.close()
    audited = rows(database_url, "SELECT id, print_outcome FROM receipt_copies ORDER BY id")
    assert audited == [(copy_id, "not_printed")]
