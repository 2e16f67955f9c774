"""One kiosk session set-up for the session tests: simulated card reader and printers, a print
journal, the encrypted outbox with its sender, optionally the lease store and receipt signer,
all around a real `SessionService` that publishes its views to a condition the test waits on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.card_reader.simulator import SimulatedCardReader
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.services.leases import LeaseStore
from kiosk_app.services.outbox.sender import Backoff, OutboxSender
from kiosk_app.services.outbox.store import Outbox
from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.session.service import SessionService
from tests.services.session.test_session_service import TIMEOUTS, FakeClock, Rig


@dataclass(kw_only=True)
class OutboxRig(Rig):
    """The session rig with the outbox (and lease store) behind it."""

    box: Outbox
    sender: OutboxSender
    leases: LeaseStore | None = None


def started(service: SessionService) -> threading.Condition:
    """Start `service`; the returned condition is notified at every view it publishes."""
    changed = threading.Condition()

    def listener(_view: object) -> None:
        with changed:
            changed.notify_all()

    service.subscribe(listener)
    service.start()
    return changed


@contextmanager
def outbox_session(
    tmp_path: Path,
    central: CentralClient,
    kiosk: str,
    *,
    box: Outbox | None = None,
    backoff: Backoff | None = None,
    server: Any = None,
    journal: bool = True,
    leases: LeaseStore | None = None,
    send_timeout_s: float = 1.0,
    **options: Any,
) -> Iterator[OutboxRig]:
    """A started session sending through an outbox (tmp_path/outbox.db unless `box` is given).

    Everything handed in (`box`, `leases`, `server`) is closed or stopped at the end, with what
    the rig made itself. `options` go to `SessionService` as they are (signer, scanner, ...).
    """
    if box is None:
        box = Outbox(tmp_path / "outbox.db", bytes(32), kiosk)
    sender = (
        OutboxSender(box, central)
        if backoff is None
        else OutboxSender(box, central, backoff=backoff)
    )
    reader, clock = SimulatedCardReader(read_delay_s=0.01), FakeClock()
    ticket, a4 = SimulatedTicketPrinter(), SimulatedDocumentPrinter()
    prints = PrintJournal(tmp_path / "journal.db", kiosk) if journal else None
    service = SessionService(
        card_reader=reader,
        central=central,
        timeouts=TIMEOUTS,
        clock=clock,
        outbox=sender,
        printing=PrintingService(ticket, a4, kiosk_id=kiosk, journal=prints),
        send_timeout_s=send_timeout_s,
        leases=leases,
        **options,
    )
    changed = started(service)
    rig = OutboxRig(
        service,
        reader,
        ticket,
        a4,
        clock,
        prints,  # type: ignore[arg-type]
        server,
        [],
        changed,
        central,
        box=box,
        sender=sender,
        leases=leases,
    )
    try:
        yield rig
    finally:
        service.close()
        sender.stop()
        box.close()
        if leases is not None:
            leases.close()
        if prints is not None:
            prints.close()
        if server is not None:
            server.stop()
