"""Composition root: config -> drivers -> central client -> services."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.registry import Devices, build_devices
from kiosk_app import __version__
from kiosk_app.central import CentralClient
from kiosk_app.config import KioskConfig
from kiosk_app.services.attendant.core import AttendantView
from kiosk_app.services.attendant.service import AttendantService
from kiosk_app.services.audio import AudioGuidance, guidance_from_config
from kiosk_app.services.durable import NO_KEY, STORAGE
from kiosk_app.services.health import HealthReporter, StatusSource, make_test_ticket
from kiosk_app.services.leases import LeaseKeeper, LeaseStore, ReceiptSigner
from kiosk_app.services.outbox.sender import OutboxSender
from kiosk_app.services.outbox.store import Outbox
from kiosk_app.services.printing.copy_outcomes import CopyOutcomes
from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.printing.receipt_vault import ReceiptSealer
from kiosk_app.services.printing.reprint import TicketReprint, report_interrupted
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.regions import RegionCache
from kiosk_app.services.seal_key import SealKeyFile, SealKeyRegistrar, load_or_renew
from kiosk_app.services.sealing import OutboxError, load_key, signing_key_path
from kiosk_app.services.session.service import SessionService
from kiosk_app.services.surveys import SurveyQueue, SurveySender
from kiosk_app.services.system_actions import RecordingSystemActions, SystemdActions

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
    surveys: SurveySender | None = None
    copy_outcomes: CopyOutcomes | None = None
    attendant: AttendantService | None = None
    regions: RegionCache | None = None
    leases: LeaseKeeper | None = None
    audio: AudioGuidance = field(default_factory=lambda: AudioGuidance("off"))
    _closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        """Stop the session, the devices and the embedded server (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.health is not None:
            self.health.stop()
        if self.attendant is not None:
            self.attendant.close()
        self.session.close()
        self.audio.close()
        if self.regions is not None:
            self.regions.stop()
        if self.leases is not None:
            self.leases.stop()
            self.leases.store.close()
        if self.outbox is not None:
            self.outbox.stop()
            self.outbox.outbox.close()
        if self.surveys is not None:
            self.surveys.stop()
            self.surveys.queue.close()
        if self.copy_outcomes is not None:
            self.copy_outcomes.close()
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
        signer, key_file = _signer(config, base_url if embedded is None else None)
        central = CentralClient(
            base_url,
            config.kiosk_id,
            config.office_code,
            token=config.central_token,
            enrol_as=config.kiosk_name,  # no token yet (development): enrol on first use
            ca_file=config.central_ca_file,
            signing_key=signer.public_key if signer is not None else None,
        )
        devices = build_devices(config.devices)
        journal = PrintJournal(config.data_dir / "print-journal.db", config.kiosk_id)
        interrupted = journal.recover()
        if interrupted:
            log.warning(
                "%d print job(s) interrupted by a stop; waiting for an attendant's reprint",
                len(interrupted),
            )
            report_interrupted(interrupted)
        key = _outbox_key(config)  # None: submissions are refused, the kiosk still runs
        # A4 receipts kept sealed for reprints (none without a key: nothing is submitted then)
        receipts = ReceiptSealer(key, config.kiosk_id) if key is not None else None
        printing = PrintingService(
            devices.ticket_printer,
            devices.document_printer,
            kiosk_id=config.kiosk_id,
            journal=journal,
            receipts=receipts,
            letterhead=config.office,
        )
        outbox = OutboxSender(
            Outbox(config.data_dir / "outbox.db", key, config.kiosk_id),
            central,
        )
        surveys = SurveySender(SurveyQueue(config.data_dir / "surveys.db"), central)
        copy_outcomes = CopyOutcomes(config.data_dir / "copy-outcomes.db", central)
        regions = RegionCache(central, config.data_dir, first_delay_s=8.0)  # after 1st heartbeat
        # Places set aside for this kiosk, booked while the server cannot be reached (no
        # signing key: nothing offline can be sealed, so no lease is taken either).
        registrar = (
            SealKeyRegistrar(
                central,
                signer.public_key,
                renewed=key_file.renewed,
                key_file=key_file.path,
                use_key=lambda key: _seal_with(key, signer, central),
            )
            if signer is not None and key_file is not None
            else None
        )
        leases = (
            LeaseKeeper(
                LeaseStore(config.data_dir / "leases.db"),
                central,
                public_key=signer.public_key,
                opening_hours=config.opening_hours,
                first_delay_s=6.0,  # after the first heartbeat
                registrar=registrar,
                rotate_after_days=config.sealing.rotate_after_days,
                idle=lambda: session.idle(),
            )
            if signer is not None
            else None
        )
        session = SessionService(
            regions=regions,
            surveys=surveys,
            outbox=outbox,
            card_reader=devices.card_reader,
            central=central,
            printing=printing,
            timeouts=config.timeouts,
            language=config.language,
            barcode_scanner=devices.barcode_scanner,
            reprint=TicketReprint(journal, devices.ticket_printer),
            scanner=devices.scanner,
            opening_hours=config.opening_hours,
            leases=leases.store if leases is not None else None,
            signer=signer,
            copy_outcomes=copy_outcomes,
        )
        device_map: dict[str, StatusSource] = {
            "card_reader": devices.card_reader,
            "ticket_printer": devices.ticket_printer,
            "document_printer": devices.document_printer,
            "scanner": devices.scanner,
            "barcode_scanner": devices.barcode_scanner,
        }
        attendant = AttendantService(
            config.attendant,
            kiosk_id=config.kiosk_id,
            session=session,
            journal=journal,
            ticket_printer=devices.ticket_printer,
            devices=device_map,
            printing=printing,
            receipts=receipts,
            outbox=outbox,
        )
        audio = guidance_from_config(config.audio_guidance, config.data_dir)
        session.start()
        regions.start()
        health = HealthReporter(
            central=central,
            # attendant: assisted-action counts; storage: damaged or unwritable durable files;
            # copy_reports: receipt-copy print reports waiting for or refused by the server
            devices={
                **device_map,
                "attendant": attendant,
                "storage": STORAGE,
                "copy_reports": copy_outcomes,
                **({"seal_key": registrar} if registrar is not None else {}),
            },
            app_version=__version__,
            data_dir=config.data_dir,
            # A development kiosk on its embedded server must not reboot the developer's machine.
            system=RecordingSystemActions() if embedded is not None else SystemdActions(),
            last_transaction=lambda: session.last_transaction_at,
            outbox_depth=outbox.outbox.depth,
            held_submissions=outbox.outbox.held_count,
            lease_usage=leases.store.usage_report if leases is not None else None,
            print_test_ticket=lambda: devices.ticket_printer.print_ticket(
                make_test_ticket(config.kiosk_id, datetime.now())
            ),
            check_seal_key=leases.check_seal_key if leases is not None else None,
            rotate_seal_key=leases.rotate_seal_key if leases is not None else None,
            clear_copy_reports=copy_outcomes.clear_refused,
            attachment_key=key,  # unsent logs and screenshots sealed at rest
            first_delay_s=5.0,
        )
        # Anything reaching the server again (a heartbeat, a status check) ends the senders'
        # backoff at once: after an outage the queue drains in seconds, not minutes.
        central.on_answer(outbox.server_answered)
        central.on_answer(surveys.server_answered)
        central.on_answer(copy_outcomes.server_answered)
        if leases is not None:
            central.on_answer(leases.server_answered)
            central.on_no_answer(leases.server_silent)
        health.start()
        calls: list[str] = [""]

        def tell_fleet(view: AttendantView) -> None:
            """A new attendant call (a SAM fault) goes out in a heartbeat at once."""
            if view.called and view.called != calls[0]:
                health.beat_soon()
            calls[0] = view.called

        attendant.subscribe(tell_fleet)
        if key is not None:  # without the key its rows stay sealed and pending, never refused
            outbox.start()
        surveys.start()
        copy_outcomes.start()
        if leases is not None:
            leases.start()
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    return Kiosk(
        config,
        devices,
        central,
        session,
        embedded,
        journal,
        health,
        outbox=outbox,
        surveys=surveys,
        copy_outcomes=copy_outcomes,
        attendant=attendant,
        regions=regions,
        leases=leases,
        audio=audio,
    )


def _signer(
    config: KioskConfig, central_url: str | None
) -> tuple[ReceiptSigner, SealKeyFile] | tuple[None, None]:
    """The kiosk's seal signer and its key file (a missing or damaged one replaced by a new
    key, seal_key.load_or_renew), or None (reported as the storage fault naming the key
    file: no new key could be written)."""
    try:
        key_file = load_or_renew(config.signing_key_file, config.data_dir)
    except (OutboxError, OSError, ValueError) as exc:
        path = signing_key_path(config.signing_key_file, config.data_dir)
        STORAGE.report(path, NO_KEY, f"{type(exc).__name__}: {exc}")
        return None, None
    signer = ReceiptSigner(
        key_file.key,
        kiosk_id=config.kiosk_id,
        office_code=config.office_code,
        verify_base=config.verify_url or central_url or "",
    )
    return signer, key_file


def _seal_with(key: Ed25519PrivateKey, signer: ReceiptSigner, central: CentralClient) -> None:
    """Seal with `key` from now on, and enrol with it (the key in use was rejected)."""
    signer.use(key)
    central.signing_key = signer.public_key


def _outbox_key(config: KioskConfig) -> bytes | None:
    """The outbox key, or None (reported as the storage fault naming the key file)."""
    try:
        return load_key(config.outbox_key_file, config.data_dir)
    except (OutboxError, OSError) as exc:
        path = config.outbox_key_file or config.data_dir / "outbox.key"
        STORAGE.report(Path(path), NO_KEY, f"{type(exc).__name__}: {exc}")
        return None
