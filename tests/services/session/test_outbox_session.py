"""The session with an outbox: offline submissions get a local reference and OFFLINE prints."""

from __future__ import annotations

import threading
from pathlib import Path

from central_server.embedded import start_embedded
from drivers.card_reader.simulator import SimulatedCardReader
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.domain.session import SessionState
from kiosk_app.services.outbox.sender import Backoff, OutboxSender
from kiosk_app.services.outbox.store import Outbox
from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.session.service import SessionService
from tests.services.session.test_session_service import TIMEOUTS, FakeClock, Rig


def test_offline_submission_gets_local_reference_then_is_sent_once(tmp_path: Path) -> None:
    server = start_embedded(f"sqlite:///{tmp_path / 'central.db'}")
    central = CentralClient(server.base_url, "KIOSK-TEST-01", "3517")
    central.register("test kiosk")
    box = Outbox(tmp_path / "outbox.db", bytes(32), "KIOSK-TEST-01")
    sender = OutboxSender(box, central, backoff=Backoff(base_s=0.01, cap_s=0.02))
    reader, clock = SimulatedCardReader(read_delay_s=0.01), FakeClock()
    ticket, a4 = SimulatedTicketPrinter(), SimulatedDocumentPrinter()
    journal = PrintJournal(tmp_path / "journal.db", "KIOSK-TEST-01")
    service = SessionService(
        card_reader=reader,
        central=central,
        timeouts=TIMEOUTS,
        clock=clock,
        outbox=sender,
        printing=PrintingService(ticket, a4, kiosk_id="KIOSK-TEST-01", journal=journal),
        send_timeout_s=1.0,
    )
    changed = threading.Condition()

    def listener(_view: object) -> None:
        with changed:
            changed.notify_all()

    service.subscribe(listener)
    service.start()
    rig = Rig(service, reader, ticket, a4, clock, journal, server, [], changed)
    try:
        rig.to_form()
        rig.fill_all_pages()
        view = rig.wait(lambda v: bool(v.slots))
        chosen = view.slots[0].slot
        rig.service.choose_slot(chosen)
        real = central.base_url
        central.base_url = "http://127.0.0.1:9"  # the server is unreachable
        rig.service.submit()
        view = rig.wait(lambda v: v.state is SessionState.RESULT)
        outcome = view.outcome
        assert outcome is not None and outcome.offline
        assert outcome.registration_number == outcome.local_reference
        assert outcome.local_reference.startswith("LOK-KIOSK-TEST-01-")
        assert outcome.slot == chosen and outcome.ticket_printed and outcome.receipt_printed
        assert ticket.tickets[0].offline and ticket.tickets[0].qr_payload == outcome.local_reference
        assert box.depth() == 1
        central.base_url = real  # the server is back: the sender delivers it, once
        assert sender.drain_once() == 1
        row = box.entries()[0]
        assert row.status == "sent" and row.local_reference == outcome.local_reference
        assert central.status(row.registration_number or "").slot == chosen
        assert sender.drain_once() == 0 and box.depth() == 0
    finally:
        service.close()
        sender.stop()
        box.close()
        journal.close()
        server.stop()


def test_scans_of_an_offline_submission_reach_the_officer_when_the_server_returns(
    tmp_path: Path,
) -> None:
    from drivers.scanner.simulator import SimulatedScanner
    from tests.services.scanning.test_scan_step import stored_scans

    db = tmp_path / "central.db"
    server = start_embedded(f"sqlite:///{db}")
    central = CentralClient(server.base_url, "KIOSK-TEST-01", "3517")
    central.register("test kiosk")
    box = Outbox(tmp_path / "outbox.db", bytes(32), "KIOSK-TEST-01")
    sender = OutboxSender(box, central, backoff=Backoff(base_s=0.01, cap_s=0.02))
    reader, clock = SimulatedCardReader(read_delay_s=0.01), FakeClock()
    journal = PrintJournal(tmp_path / "journal.db", "KIOSK-TEST-01")
    service = SessionService(
        card_reader=reader,
        central=central,
        timeouts=TIMEOUTS,
        clock=clock,
        outbox=sender,
        printing=PrintingService(
            SimulatedTicketPrinter(),
            SimulatedDocumentPrinter(),
            kiosk_id="KIOSK-TEST-01",
            journal=journal,
        ),
        send_timeout_s=1.0,
        scanner=SimulatedScanner(),
    )
    changed = threading.Condition()

    def listener(_view: object) -> None:
        with changed:
            changed.notify_all()

    service.subscribe(listener)
    service.start()
    rig = Rig(service, reader, None, None, clock, journal, server, [], changed)  # type: ignore[arg-type]
    try:
        rig.to_form()
        rig.fill_all_pages()
        rig.wait(lambda v: v.state is SessionState.SCAN)
        service.scan_page()
        rig.wait(lambda v: v.scan is not None and not v.scan.busy and v.scan.current.pages == 1)
        service.scan_next_document()
        rig.wait(lambda v: v.scan is not None and not v.scan.busy and v.scan.index == 1)
        service.scan_skip_all()
        view = rig.wait(lambda v: v.state is SessionState.SCHEDULE and bool(v.slots))
        service.choose_slot(view.slots[0].slot)
        real = central.base_url
        central.base_url = "http://127.0.0.1:9"  # the server is unreachable
        service.submit()
        view = rig.wait(lambda v: v.state is SessionState.RESULT)
        assert view.outcome is not None and view.outcome.offline
        row = box.entries()[0]
        assert [a.name for a in box.attachments(row.id)] != []  # the scan is in the durable row
        service.finish()  # the citizen leaves: the session's copy is wiped, the outbox's stays
        central.base_url = real
        assert sender.drain_once() == 1
        number = box.entries()[0].registration_number or ""
        scans = stored_scans(db, number)
        assert len(scans) == 1 and next(iter(scans.values())).startswith(b"%PDF")
        assert box.attachments(row.id) == []  # wiped once delivered
    finally:
        service.close()
        sender.stop()
        box.close()
        journal.close()
        server.stop()
