"""Online, the kiosk offers its own leased places where the server shows none left (places lent
to a kiosk are offered to nobody else) and books one with an immediate try: the citizen gets the
final registration number and a sealed QR, and the server counts the place against the lease."""

from __future__ import annotations

import threading
from pathlib import Path

import requests

from drivers.card_reader.simulator import SimulatedCardReader
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.domain.session import SessionState
from kiosk_app.domain.ticket import LEASE_NOTE
from kiosk_app.services import receipt_seal
from kiosk_app.services.leases import LeaseKeeper, LeaseStore, ReceiptSigner
from kiosk_app.services.outbox.sender import Backoff, OutboxSender
from kiosk_app.services.outbox.store import Outbox
from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.session.service import SessionService
from tests.services.outbox_rig import ADMIN, KIOSK_ID, SERVICE, start_server
from tests.services.session.test_session_service import TIMEOUTS, FakeClock, Rig


def test_own_leased_places_are_offered_and_booked_online(tmp_path: Path) -> None:
    server = start_server(tmp_path / "central.db")
    requests.put(  # one place a window: this kiosk's lease takes them all
        f"{server.base_url}/api/v1/offices/3517/quotas/{SERVICE}",
        json={"daily_quota": 2},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    ).raise_for_status()
    signer = ReceiptSigner(
        receipt_seal.new_key(), kiosk_id=KIOSK_ID, office_code="3517", verify_base="https://x.id"
    )
    central = CentralClient(
        server.base_url, KIOSK_ID, "3517", enrol_as="lease kiosk", signing_key=signer.public_key
    )
    leases = LeaseStore(tmp_path / "leases.db")
    box = Outbox(tmp_path / "outbox.db", bytes(32), KIOSK_ID)
    sender = OutboxSender(box, central, backoff=Backoff(base_s=0.01, cap_s=0.02))
    reader, clock = SimulatedCardReader(read_delay_s=0.01), FakeClock()
    ticket, a4 = SimulatedTicketPrinter(), SimulatedDocumentPrinter()
    journal = PrintJournal(tmp_path / "journal.db", KIOSK_ID)
    service = SessionService(
        card_reader=reader,
        central=central,
        timeouts=TIMEOUTS,
        clock=clock,
        outbox=sender,
        printing=PrintingService(ticket, a4, kiosk_id=KIOSK_ID, journal=journal),
        send_timeout_s=5.0,
        leases=leases,
        signer=signer,
    )
    changed = threading.Condition()

    def listener(_view: object) -> None:
        with changed:
            changed.notify_all()

    service.subscribe(listener)
    service.start()
    rig = Rig(service, reader, ticket, a4, clock, journal, server, [], changed)
    try:
        assert LeaseKeeper(leases, central, public_key=signer.public_key).drain_once()
        own = {s.slot: s.remaining for s in leases.offer(SERVICE)}
        assert own
        served = {a.slot: a.remaining for a in central.slots(SERVICE)}
        assert all(served.get(slot, 0) == 0 for slot in own)  # lent: offered to nobody else
        rig.to_form()
        rig.fill_all_pages()
        view = rig.wait(lambda v: bool(v.slots) and not v.slots_loading)
        chosen = next(s.slot for s in view.slots if s.slot in own)
        rig.service.choose_slot(chosen)
        rig.service.submit()
        view = rig.wait(lambda v: v.state is SessionState.RESULT)
        outcome = view.outcome
        assert outcome is not None and not outcome.offline
        assert not outcome.registration_number.startswith("LOK-")
        assert outcome.slot == chosen and LEASE_NOTE not in outcome.messages
        sealed = receipt_seal.parse_qr(ticket.tickets[-1].qr_payload)
        assert sealed is not None
        public = receipt_seal.public_key_from_text(signer.public_key)
        claims = receipt_seal.verify(sealed, lambda _kiosk: public)
        assert claims.reference == outcome.registration_number
        assert box.depth() == 0 and box.entries()[0].status == "sent"
        assert central.status(outcome.registration_number).slot == chosen
        granted = central.leases()
        mine = [lease.used for lease in granted if (lease.service, lease.slot) == (SERVICE, chosen)]
        assert mine == [1]  # its lease
        assert sum(lease.used for lease in granted) == 1
    finally:
        service.close()
        sender.stop()
        box.close()
        leases.close()
        journal.close()
        server.stop()
