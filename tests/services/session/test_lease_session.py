"""The session books from the kiosk's lease while the central server cannot be reached: certain
date and window, LOK number with a note, a sealed QR, the lease and seal in the outbox row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kiosk_app.central import CentralClient, Lease
from kiosk_app.domain.session import SessionState
from kiosk_app.domain.ticket import LEASE_NOTE, Slot
from kiosk_app.services import receipt_seal
from kiosk_app.services.leases import LeaseStore, ReceiptSigner
from kiosk_app.services.outbox.sender import Backoff
from kiosk_app.services.session.schedule import NO_LEASE
from tests.services.session.session_rig import OutboxRig, outbox_session

KIOSK = "KIOSK-TEST-01"
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens on the discard port


@dataclass
class LeaseRig:
    rig: OutboxRig
    leases: LeaseStore
    signer: ReceiptSigner


def lease(lease_id: str, day: date, window: str, places: int, service: str) -> Lease:
    now = datetime.now(UTC)
    return Lease(
        lease_id,
        service,
        Slot(day, window),
        places,
        0,
        now + timedelta(days=3),
        now + timedelta(days=4),
    )


@pytest.fixture
def lease_rig(tmp_path: Path) -> Iterator[LeaseRig]:
    central = CentralClient(UNREACHABLE, KIOSK, "3517", token="t", timeout=0.5)
    signer = ReceiptSigner(
        receipt_seal.new_key(),
        kiosk_id=KIOSK,
        office_code="3517",
        verify_base="https://dukcapil.example/",
    )
    leases = LeaseStore(tmp_path / "leases.db")
    with outbox_session(
        tmp_path,
        central,
        KIOSK,
        backoff=Backoff(base_s=30, cap_s=60),
        leases=leases,
        send_timeout_s=0.5,
        signer=signer,
    ) as rig:
        yield LeaseRig(rig, leases, signer)


def test_unreachable_server_offers_the_lease_and_books_a_certain_sealed_place(
    lease_rig: LeaseRig,
) -> None:
    rig, leases = lease_rig.rig, lease_rig.leases
    day = date.today() + timedelta(days=2)
    leases.replace(
        [
            lease("L-1", day, "08.00-11.00", 2, "akta_kelahiran"),
            lease("L-2", day, "13.00-15.00", 1, "akta_kelahiran"),
            lease("L-3", day, "08.00-11.00", 5, "akta_kematian"),  # another service
        ]
    )
    rig.to_form()
    rig.fill_all_pages()
    view = rig.wait(lambda v: bool(v.slots) and not v.slots_loading)
    assert [(s.slot.window, s.remaining) for s in view.slots] == [
        ("08.00-11.00", 2),
        ("13.00-15.00", 1),
    ]
    assert view.message is None
    chosen = view.slots[1].slot
    rig.service.choose_slot(chosen)
    rig.service.submit()
    view = rig.wait(lambda v: v.state is SessionState.RESULT)
    outcome = view.outcome
    assert outcome is not None and outcome.offline
    assert outcome.local_reference.startswith(f"LOK-{KIOSK}-")
    assert outcome.slot == chosen and LEASE_NOTE in outcome.messages
    printed = lease_rig.rig.ticket.tickets[0]
    assert LEASE_NOTE in printed.notes
    assert printed.qr_payload.startswith("https://dukcapil.example/r/AJ1.")
    sealed = receipt_seal.parse_qr(printed.qr_payload)
    assert sealed is not None
    public = receipt_seal.public_key_from_text(lease_rig.signer.public_key)
    claims = receipt_seal.verify(sealed, lambda kiosk: public if kiosk == KIOSK else None)
    assert (claims.reference, claims.service, claims.day, claims.window) == (
        outcome.local_reference,
        "akta_kelahiran",
        chosen.date,
        chosen.window,
    )
    # the outbox row carries the lease and the seal; the lease counts the place
    row = lease_rig.rig.box.entries()[0]
    assert row.local_reference == outcome.local_reference
    assert lease_rig.rig.box.submission(row.id).lease == {"lease_id": "L-2", "seal": sealed}
    assert [s.remaining for s in leases.offer("akta_kelahiran")] == [2]
    forged = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(receipt_seal.SealInvalid):
        receipt_seal.verify(forged, lambda kiosk: public)


def test_no_lease_for_the_service_says_what_to_do(lease_rig: LeaseRig) -> None:
    rig = lease_rig.rig
    day = date.today() + timedelta(days=2)
    lease_rig.leases.replace([lease("L-9", day, "08.00-11.00", 5, "akta_kematian")])
    rig.to_form()
    rig.fill_all_pages()
    view = rig.wait(lambda v: v.message is not None and not v.slots_loading)
    assert view.slots == () and view.message == NO_LEASE


def test_a_server_lost_after_the_schedule_loaded_still_gives_a_certain_date(
    tmp_path: Path,
) -> None:
    from central_server.embedded import start_embedded

    server = start_embedded(f"sqlite:///{tmp_path / 'central.db'}")
    central = CentralClient(server.base_url, KIOSK, "3517")
    central.register("test kiosk")
    leases = LeaseStore(tmp_path / "leases.db")
    signer = ReceiptSigner(receipt_seal.new_key(), kiosk_id=KIOSK, office_code="3517")
    with outbox_session(
        tmp_path,
        central,
        KIOSK,
        backoff=Backoff(base_s=30, cap_s=60),
        server=server,
        leases=leases,
        signer=signer,
    ) as rig:
        box, ticket = rig.box, rig.ticket
        first = central.slots("akta_kelahiran")[0].slot
        leases.replace([lease("L-7", first.date, first.window, 1, "akta_kelahiran")])
        rig.to_form()
        rig.fill_all_pages()
        view = rig.wait(lambda v: bool(v.slots) and not v.slots_loading)
        assert view.slots[0].slot == first  # the server's slot (it has room of its own)
        rig.service.choose_slot(first)
        central.base_url = UNREACHABLE  # the server goes away before the submission
        rig.service.submit()
        view = rig.wait(lambda v: v.state is SessionState.RESULT)
        outcome = view.outcome
        assert outcome is not None and outcome.offline and LEASE_NOTE in outcome.messages
        sealed = receipt_seal.parse_qr(ticket.tickets[0].qr_payload)
        assert sealed is not None and receipt_seal.read(sealed).reference == outcome.local_reference
        row = box.entries()[0]
        assert box.submission(row.id).lease == {"lease_id": "L-7", "seal": sealed}
        assert leases.offer("akta_kelahiran") == []  # its one place is taken
