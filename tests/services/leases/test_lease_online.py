"""Online, the kiosk offers its own leased places where the server shows none left (places lent
to a kiosk are offered to nobody else) and books one with an immediate try: the citizen gets the
final registration number and a sealed QR, and the server counts the place against the lease."""

from __future__ import annotations

from pathlib import Path

import requests

from kiosk_app.domain.session import SessionState
from kiosk_app.domain.ticket import LEASE_NOTE
from kiosk_app.services import receipt_seal
from kiosk_app.services.leases import LeaseKeeper, LeaseStore
from kiosk_app.services.outbox.sender import Backoff
from tests.services.leases.lease_rig import lease_kiosk
from tests.services.outbox_rig import ADMIN, KIOSK_ID, SERVICE, start_server
from tests.services.session.session_rig import outbox_session


def test_own_leased_places_are_offered_and_booked_online(tmp_path: Path) -> None:
    server = start_server(tmp_path / "central.db")
    requests.put(  # one place a window: this kiosk's lease takes them all
        f"{server.base_url}/api/v1/offices/3517/quotas/{SERVICE}",
        json={"daily_quota": 2},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    ).raise_for_status()
    signer, central = lease_kiosk(server.base_url, verify_base="https://x.id")
    leases = LeaseStore(tmp_path / "leases.db")
    with outbox_session(
        tmp_path,
        central,
        KIOSK_ID,
        backoff=Backoff(base_s=0.01, cap_s=0.02),
        server=server,
        leases=leases,
        send_timeout_s=5.0,
        signer=signer,
    ) as rig:
        box, ticket = rig.box, rig.ticket
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
