"""The kiosk's side of a lease's end: it stops booking from a lease at `book_until` by its own
clock, and its heartbeats carry each lease's usage, which the central server stores (the count
that lets it free the unused places at expiry)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from kiosk_app.central import Lease
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.health import HealthReporter, RecordingSystemActions
from kiosk_app.services.leases import LeaseExhausted, LeaseKeeper, LeaseStore
from tests.services.leases.lease_rig import lease_kiosk
from tests.services.outbox_rig import SERVICE, start_server

UNTIL = datetime(2030, 1, 6, 17, 0, tzinfo=UTC)


def test_the_kiosk_stops_booking_from_a_lease_at_book_until_by_its_own_clock(
    tmp_path: Path,
) -> None:
    now = [UNTIL - timedelta(seconds=1)]
    store = LeaseStore(tmp_path / "leases.db", clock=lambda: now[0])
    slot = Slot(date(2030, 1, 7), "08.00-11.00")
    store.replace([Lease("L-1", SERVICE, slot, 3, 0, UNTIL, UNTIL + timedelta(hours=6))])
    assert [s.remaining for s in store.offer(SERVICE)] == [3]
    store.book("L-1", "key-1", "LOK-1", lambda _lease: "seal-1")  # a second before: booked
    now[0] = UNTIL
    assert store.offer(SERVICE) == []
    with pytest.raises(LeaseExhausted, match="past its booking time"):
        store.book("L-1", "key-2", "LOK-2", lambda _lease: "seal-2")
    now[0] = UNTIL + timedelta(hours=1)  # the server's margin: still none
    with pytest.raises(LeaseExhausted):
        store.book("L-1", "key-3", "LOK-3", lambda _lease: "seal-3")
    assert store.usage_report() == {"L-1": 1}  # the final count the heartbeat carries
    store.close()


def test_heartbeats_carry_each_leases_usage_to_the_server(tmp_path: Path) -> None:
    server = start_server(tmp_path / "central.db")
    try:
        signer, central = lease_kiosk(server.base_url)
        store = LeaseStore(tmp_path / "leases.db")
        assert LeaseKeeper(store, central, public_key=signer.public_key).drain_once()
        held = store.offer(SERVICE)
        assert held
        first = held[0]
        store.book(
            first.lease_id,
            "key-1",
            "LOK-1",
            lambda lease: signer.seal("LOK-1", lease.service, lease.slot),
        )
        health = HealthReporter(
            central=central,
            devices={},
            app_version="test",
            data_dir=tmp_path,
            system=RecordingSystemActions(),
            lease_usage=store.usage_report,
        )
        empty = LeaseStore(tmp_path / "none.db")
        # holding none is said too: the server settles a lease whose grant never arrived
        assert replace(health, lease_usage=empty.usage_report).collect()["leases"] == {}
        empty.close()
        assert health.collect()["leases"][first.lease_id] == 1
        health.beat_once()
        engine = create_engine(f"sqlite:///{tmp_path / 'central.db'}")
        try:
            with engine.connect() as conn:
                stored = {
                    lease_id: (used, at is not None)
                    for lease_id, used, at in conn.execute(
                        text("SELECT id, reported_used, reported_at FROM slot_leases")
                    )
                }
        finally:
            engine.dispose()
        expected = {u.lease_id: (int(u.lease_id == first.lease_id), True) for u in store.usage()}
        assert stored == expected
        store.close()
        central.close()
    finally:
        server.stop()
