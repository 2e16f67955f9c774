"""The heartbeat writer's lease memo: which kiosks' reports it lets skip the database (what the
database makes of the reports it does see: tests/central/test_lease_expiry.py on PostgreSQL)."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from central_server.fleet.lease_memo import TRUST, LeaseMemo
from central_server.models import SlotLease
from tests.central.lease_rig import SERVICE, LeaseServer, lease_server, seed_office

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
NEXT = T0 + timedelta(minutes=8)  # the kiosk's next book_until ahead, as the database answers


def sent(memo: LeaseMemo, usage: dict[str, dict[str, int]], at: datetime) -> list[str]:
    """What the writer sends at `at`, stored with the database's answer."""
    due = memo.due(usage, at)
    memo.learn([(k, NEXT) for k in due], usage, at)
    return due


def test_an_unchanged_report_skips_the_database_until_a_booking_time_passes() -> None:
    memo = LeaseMemo()
    assert sent(memo, {"K": {"L1": 0, "L2": 1}, "J": {}}, T0) == ["K", "J"]  # first reports
    assert sent(memo, {"K": {"L1": 0, "L2": 1}, "J": {}}, T0 + timedelta(minutes=1)) == []
    # a changed count goes; a kiosk now naming fewer leases too (one unnamed may be settled)
    later = T0 + timedelta(minutes=2)
    assert sent(memo, {"K": {"L1": 1, "L2": 1}, "J": {}}, later) == ["K"]
    assert sent(memo, {"K": {"L1": 1}, "J": {}}, later) == ["K"]
    # at the booking time nothing changes yet; right after it the report is final: it goes
    assert sent(memo, {"K": {"L1": 1}, "J": {}}, NEXT) == []
    assert sent(memo, {"K": {"L1": 1}, "J": {}}, NEXT + timedelta(seconds=1)) == ["K", "J"]


def test_an_entry_is_trusted_for_a_while_only() -> None:
    memo = LeaseMemo()
    memo.learn([("K", None)], {"K": {"L1": 0}}, T0)  # no booking time ahead
    assert memo.due({"K": {"L1": 0}}, T0 + TRUST - timedelta(seconds=1)) == []
    assert memo.due({"K": {"L1": 0}}, T0 + TRUST) == ["K"]  # other app servers write too
    assert memo.due({"K": {"L1": 0}}, T0 - timedelta(seconds=1)) == ["K"]  # clock went back


@pytest.fixture
def rig(database_url: str) -> Iterator[LeaseServer]:
    with lease_server(database_url) as running:
        yield running


def test_an_unchanged_report_still_becomes_final_when_the_booking_time_passes(
    rig: LeaseServer,
) -> None:
    """Over HTTP, SQLite and PostgreSQL (the memo's path): the same report before and just
    after a lease's book_until; the one after it is the final report the reclaim needs."""
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 2})
    held = kiosk.leases(days=4)
    report = {x["lease_id"]: 0 for x in held}
    first = min(held, key=lambda x: x["book_until"])
    until = datetime.fromisoformat(first["book_until"])
    rig.clock.now = until - timedelta(minutes=1)
    kiosk.report(report)
    kiosk.report(report)  # unchanged: answered from the memo
    assert stored(rig, first["lease_id"]) <= until
    rig.clock.now = until + timedelta(seconds=1)
    kiosk.report(report)
    assert stored(rig, first["lease_id"]) == rig.clock.now


def stored(rig: LeaseServer, lease_id: str) -> datetime:
    """When the lease's usage was last written (UTC)."""
    with rig.app.state.db.transaction() as session:
        at = session.scalar(select(SlotLease.reported_at).where(SlotLease.id == lease_id))
    assert at is not None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
