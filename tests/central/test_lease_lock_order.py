"""The lock order of slot leases on PostgreSQL (central_server.leases): a kiosk's outbox batch
booking from two of its leases runs against the same kiosk's lease renewal, heartbeat usage
report, return of places and the background lease sweep, over HTTP.

Deterministically: a test connection holds the lock of the batch's second slot, so the batch
stops between its two bookings (before the lock order it then held the first lease's row);
the other path starts and runs until it finishes or waits on a lock; then the slot is let go.
Before the fix the renewal and the heartbeat locked the rows in id order against the batch's
booking order and PostgreSQL broke the deadlock by failing one request (HTTP 500,
"DeadlockDetected ... while updating tuple in slot_leases")."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import psycopg
import pytest
import requests
from sqlalchemy import select

from central_server.lease_reports import LeaseSweep
from central_server.models import SlotLease
from tests.central.conftest import OFFICE, two_numbers_left_today, wait_for
from tests.central.fleet.helpers import heartbeat_body
from tests.central.lease_rig import (
    SERVICE,
    LeaseKiosk,
    LeaseServer,
    lease_server,
    online_booking,
    seed_office,
)

MONDAY = date(2026, 11, 23)


@pytest.fixture
def rig(database_url: str) -> Iterator[LeaseServer]:
    with lease_server(database_url) as running:
        yield running


def _locks_waited(dsn: str) -> int:
    """Locks some backend is waiting for right now."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()
    return int(row[0]) if row else 0


def _debug(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        for r in conn.execute(
            "SELECT pid, state, wait_event_type, wait_event, left(query, 120) FROM pg_stat_activity"
        ):
            print("ACT", r)
        for r in conn.execute("SELECT locktype, pid, mode, granted FROM pg_locks"):
            print("LOCK", r)


def _call(answers: dict[str, int], name: str, request: Callable[[], requests.Response]) -> None:
    answers[name] = request().status_code


def _renew(rig: LeaseServer, kiosk: LeaseKiosk, low: dict[str, Any], high: dict[str, Any]) -> Any:
    rig.clock.advance(hours=1)  # the renewal moves the lease times on: it writes every row
    return lambda: kiosk.call("POST", "/api/v1/leases", json={"days": 4})


def _report(rig: LeaseServer, kiosk: LeaseKiosk, low: dict[str, Any], high: dict[str, Any]) -> Any:
    body = heartbeat_body(leases={low["lease_id"]: 1, high["lease_id"]: 1})
    return lambda: kiosk.call("POST", "/api/v1/fleet/heartbeat", json=body)


def _give_back(
    rig: LeaseServer, kiosk: LeaseKiosk, low: dict[str, Any], high: dict[str, Any]
) -> Any:
    # the highest id first: the server must not lock in the order the kiosk lists them
    body = {"returns": [{"lease_id": x["lease_id"], "places": 1} for x in (high, low)]}
    return lambda: kiosk.call("POST", "/api/v1/leases/return", json=body)


def _sweep(rig: LeaseServer, kiosk: LeaseKiosk, low: dict[str, Any], high: dict[str, Any]) -> Any:
    sweep = LeaseSweep(rig.app.state.db, rig.clock)
    rig.clock.advance(hours=31)  # both leases expired; the kiosk's final report gives them back
    kiosk.report({low["lease_id"]: 0, high["lease_id"]: 0})

    def run() -> requests.Response:
        sweep.run_once()  # raises on a deadlock
        response = requests.Response()
        response.status_code = 200
        return response

    return run


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("other", [_renew, _report, _give_back, _sweep])
def test_a_batch_and_the_kiosks_other_lease_writes_never_deadlock(
    rig: LeaseServer, database_url: str, other: Any, caplog: pytest.LogCaptureFixture
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 8})
    # Monday's two windows: a renewal moves both leases' times (Friday's ends at its day)
    leases = sorted(
        (x for x in kiosk.leases(days=4) if x["date"] == str(MONDAY)), key=lambda x: x["lease_id"]
    )
    low, high = leases
    # booked in the other order than the ids: the highest id's slot first
    items = [
        (f"lock-order-{n}", kiosk.offline_booking(lease, rig.clock(), nik=f"351708120885000{n}"))
        for n, lease in enumerate((high, low), start=1)
    ]
    batch = {"items": [{"idempotency_key": k, "application": a} for k, a in items]}
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    answers: dict[str, int] = {}
    request = other(rig, kiosk, low, high)
    with psycopg.connect(dsn) as gate:
        key = f"slot:{OFFICE}:{SERVICE}:{low['date']}:{low['window']}"
        gate.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))
        booking = threading.Thread(
            target=_call,
            args=(
                answers,
                "batch",
                lambda: kiosk.call("POST", "/api/v1/applications/batch", json=batch),
            ),
        )
        booking.start()
        wait_for(lambda: _locks_waited(dsn) >= 1)  # the batch waits for the second slot
        writing = threading.Thread(target=_call, args=(answers, "other", request))
        writing.start()
        wait_for(lambda: not writing.is_alive() or _locks_waited(dsn) >= 2)
        gate.commit()  # the second slot is free: the batch goes on
    booking.join()
    writing.join()
    assert answers == {"batch": 200, "other": 200}
    assert "deadlock" not in caplog.text.lower()
    with rig.app.state.db.transaction() as session:
        used = dict(session.execute(select(SlotLease.id, SlotLease.used)).all())
    assert used[low["lease_id"]] == used[high["lease_id"]] == 1


def test_a_batch_gone_item_by_item_counts_its_lease_places_once(rig: LeaseServer) -> None:
    """The places a batch takes from leases are written at its end: when it falls back to
    one item at a time (here: registration numbers run out), an item stored before is booked
    and still unused in its lease until then, and must not count twice."""
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})  # 2 a window
    [lease] = [x for x in kiosk.leases(days=4) if (x["date"], x["places"]) == (str(MONDAY), 1)][:1]
    [other] = {"08.00-11.00", "13.00-15.00"} - {lease["window"]}
    two_numbers_left_today(rig.app.state.db.engine.url)
    items = [
        kiosk.offline_booking(lease, rig.clock()),
        online_booking(MONDAY, lease["window"], nik="3517081208850002"),  # the slot's last place
        online_booking(MONDAY, other, nik="3517081208850003"),
    ]
    results = kiosk.submit_batch([(f"item-by-item-{n}", a) for n, a in enumerate(items)])
    assert [x["status"] for x in results] == [201, 201, 409]
    assert results[2]["error"]["code"] == "sequence_exhausted"
    with rig.app.state.db.transaction() as session:
        assert session.scalar(select(SlotLease.used).where(SlotLease.id == lease["lease_id"])) == 1
    assert not any(a["application"] and a["application"]["moved_from"] for a in results[:2])
