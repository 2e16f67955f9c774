"""Composition root: config -> drivers -> central client -> services."""

from __future__ import annotations

import logging
from datetime import datetime
from dataclasses import dataclass, field
from typing import Any

from drivers.registry import Devices, build_devices
from kiosk_app import __version__
from kiosk_app.central import CentralClient
from kiosk_app.config import KioskConfig
from kiosk_app.services.health import (
    HealthReporter,
    RecordingSystemActions,
    SystemdActions,
    make_test_ticket,
)
from kiosk_app.services.outbox import Outbox, load_key
from kiosk_app.services.outbox_sender import OutboxSender
from kiosk_app.services.print_journal import PrintJournal
from kiosk_app.services.printing import PrintingService
from kiosk_app.services.reprint import TicketReprint, report_interrupted
from kiosk_app.services.session import SessionService

log = logging.getLogger(__name__)


@dataclass
class Kiosk:
    """Everything a running kiosk is made of; `close()` releases it all."""

    config: KioskConfig
    devices: Devices
    central: CentralClient
    session: SessionService
    embedded_server: Any = None
    journal: PrintJournal | None = None
    health: HealthReporter | None = None
    outbox: OutboxSender | None = None
    _closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        """Stop the session, the devices and the embedded server (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.health is not None:
            self.health.stop()
        self.session.close()
        if self.outbox is not None:
            self.outbox.stop()
            self.outbox.outbox.close()
        if self.journal is not None:
            self.journal.close()
        if self.embedded_server is not None:
            self.embedded_server.stop()


def build_kiosk(config: KioskConfig) -> Kiosk:
    """Build and start a kiosk from its configuration."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    embedded = None
    base_url = config.central_url
    if base_url is None:
        from central_server.sidecar import SidecarServer

        db = (config.data_dir / "central.db").resolve()
        embedded = SidecarServer(f"sqlite:///{db}")
        base_url = embedded.base_url
        log.info("embedded central server starting at %s", base_url)
    try:
        central = CentralClient(
            base_url,
            config.kiosk_id,
            config.office_code,
            token=config.central_token,
            enrol_as=config.kiosk_name,  # no token yet (development): enrol on first use
        )
        devices = build_devices(config.devices)
        journal = PrintJournal(config.data_dir / "print-journal.db", config.kiosk_id)
        interrupted = journal.recover()
        if interrupted:
            log.warning("%d print job(s) interrupted by a stop; waiting for an attendant's reprint",
                        len(interrupted))
            report_interrupted(interrupted)
        printing = PrintingService(
            devices.ticket_printer,
            devices.document_printer,
            kiosk_id=config.kiosk_id,
            journal=journal,
        )
        outbox = OutboxSender(
            Outbox(config.data_dir / "outbox.db",
                   load_key(config.outbox_key_file, config.data_dir), config.kiosk_id),
            central,
        )
        session = SessionService(
            outbox=outbox,
            card_reader=devices.card_reader,
            central=central,
            printing=printing,
            timeouts=config.timeouts,
            language=config.language,
            barcode_scanner=devices.barcode_scanner,
            reprint=TicketReprint(journal, devices.ticket_printer),
            scanner=devices.scanner,
        )
        session.start()
        health = HealthReporter(
            central=central,
            devices={
                "card_reader": devices.card_reader,
                "ticket_printer": devices.ticket_printer,
                "document_printer": devices.document_printer,
                "scanner": devices.scanner,
                "barcode_scanner": devices.barcode_scanner,
            },
            app_version=__version__,
            data_dir=config.data_dir,
            # A development kiosk on its embedded server must not reboot the developer's machine.
            system=RecordingSystemActions() if embedded is not None else SystemdActions(),
            last_transaction=lambda: session.last_transaction_at,
            outbox_depth=outbox.outbox.depth,
            print_test_ticket=lambda: devices.ticket_printer.print_ticket(
                make_test_ticket(config.kiosk_id, datetime.now())
            ),
            first_delay_s=5.0,
        )
        health.start()
        outbox.start()
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    return Kiosk(config, devices, central, session, embedded, journal, health, outbox=outbox)
