"""Reconciliation of offline bookings with the real central server over HTTP: each sent once with
its lease and seal, admitted on its sealed slot; one the server refuses lands in the
attendant's held list with the server's reason."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import requests

from kiosk_app.domain.opening_hours import WEEKDAYS, parse_opening_hours
from kiosk_app.services.attendant.held import HeldSubmissions
from kiosk_app.services.leases import LeaseKeeper, LeaseStore
from kiosk_app.services.outbox.records import REJECTED, SENT, Entry
from kiosk_app.services.outbox.sender import Backoff, OutboxSender
from kiosk_app.services.outbox.store import Outbox
from tests.services.leases.lease_rig import lease_kiosk
from tests.services.outbox_rig import KIOSK_ID, SERVICE, start_server, submission


def test_offline_bookings_are_admitted_once_on_their_slot_and_a_refusal_is_held(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path / "central.db")
    signer, central = lease_kiosk(server.base_url)
    store = LeaseStore(tmp_path / "leases.db")
    keeper = LeaseKeeper(store, central, public_key=signer.public_key)
    box = Outbox(tmp_path / "outbox.db", bytes(32), KIOSK_ID)
    sender = OutboxSender(box, central, backoff=Backoff(base_s=0.01, cap_s=0.02))
    try:
        assert keeper.drain_once()  # enrols (with the key), registers it, takes the leases
        offered = store.offer(SERVICE)
        assert offered, "the server lent this kiosk no place"
        good = offered[0]
        # A lease the server never granted (a kiosk's file restored from another kiosk, say).
        held_leases = [lease for o in offered if (lease := store.lease(o.lease_id)) is not None]
        forged = dataclasses.replace(held_leases[0], lease_id="L-NOT-GRANTED")
        store.replace([*held_leases, forged])

        def booked(lease_id: str, key: str) -> Entry:
            def book(reference: str) -> dict[str, str]:
                return store.book(
                    lease_id,
                    key,
                    reference,
                    lambda lease: signer.seal(reference, SERVICE, lease.slot),
                )

            return box.enqueue(submission(good.slot), idempotency_key=key, book=book)

        kept = booked(good.lease_id, "key-good")
        assert booked(good.lease_id, "key-good") == kept  # a retry is the same row, one place
        refused = booked("L-NOT-GRANTED", "key-forged")
        sealed = box.submission(kept.id).lease
        assert sealed is not None and sealed["lease_id"] == good.lease_id

        assert sender.drain_once() == 1
        assert sender.drain_once() == 0  # nothing is sent twice
        row = box.get(kept.id)
        assert row.status == SENT and row.slot == good.slot
        status = central.status(row.registration_number or "")
        assert status.slot == good.slot
        page = requests.get(f"{server.base_url}/r/{sealed['seal']}", timeout=10).text
        assert 'data-status="valid"' in page and 'data-arrived="yes"' in page

        assert box.get(refused.id).status == REJECTED
        held = HeldSubmissions(sender).items()
        assert [(h.reference, h.kind) for h in held] == [(refused.local_reference, "refused")]
        assert "lease" in held[0].reason.en
        assert f"sealed ticket {refused.local_reference}" in held[0].reason.en  # date promised
        # the lease counts the place on both sides now
        assert [u.used for u in store.usage() if u.lease_id == good.lease_id] == [1]
        assert keeper.drain_once()
        assert [u.used for u in store.usage() if u.lease_id == good.lease_id] == [1]
    finally:
        sender.stop()
        box.close()
        store.close()
        server.stop()


def test_places_of_days_the_kiosk_will_not_reach_go_back_to_the_server(tmp_path: Path) -> None:
    server = start_server(tmp_path / "central.db")
    signer, central = lease_kiosk(server.base_url)
    store = LeaseStore(tmp_path / "leases.db")
    try:
        assert LeaseKeeper(store, central, public_key=signer.public_key).drain_once()
        lent = sum(u.places - u.used for u in store.usage())
        assert lent > 0
        before = sum(a.remaining for a in central.slots(SERVICE, days=14))
        # The kiosk is taken out of service: it opens on no day any more.
        never = parse_opening_hours({day: [] for day in WEEKDAYS})
        keeper = LeaseKeeper(store, central, public_key=signer.public_key, opening_hours=never)
        assert keeper.drain_once()
        assert store.offer(SERVICE) == []  # nothing is booked from them any more
        after = sum(a.remaining for a in central.slots(SERVICE, days=14))
        assert after > before  # the places are offered to everyone again
    finally:
        store.close()
        server.stop()
