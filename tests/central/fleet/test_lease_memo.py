"""The heartbeat writer's lease memo: which reports it lets skip the database (the database
side of the same reports: tests/central/test_lease_expiry.py on PostgreSQL)."""

from datetime import UTC, datetime, timedelta

from central_server.fleet.lease_memo import TRUST, LeaseMemo

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
UNTIL = T0 + timedelta(minutes=5)  # the lease's book_until
NEXT = T0 + timedelta(minutes=8)  # the kiosk's next booking time ahead when looked at


def stored(memo: LeaseMemo, usage: dict[str, dict[str, int]], at: datetime) -> tuple:
    """Send what is due, as the writer does, with the database's answer for lease L1."""
    named, kiosks = memo.due(usage, at)
    rows = [(r["kid"], r["lid"], UNTIL) for r in named if r["lid"] == "L1"]
    rows += [(k, None, NEXT) for k in kiosks]
    memo.learn(rows, named, kiosks, at)
    return named, kiosks


def test_unchanged_reports_skip_the_database_until_something_can_change() -> None:
    memo = LeaseMemo()
    named, kiosks = stored(memo, {"K": {"L1": 0, "L2": 1}}, T0)
    assert kiosks == ["K"] and len(named) == 2  # first report: all of it
    assert memo.due({"K": {"L1": 0, "L2": 1}}, T0 + timedelta(minutes=1)) == ([], [])
    # a changed count goes, alone
    named, kiosks = stored(memo, {"K": {"L1": 1, "L2": 1}}, T0 + timedelta(minutes=2))
    assert named == [{"kid": "K", "lid": "L1", "n": 1}] and kiosks == []
    # past book_until the count must be written once more (final), then never again
    after = UNTIL + timedelta(seconds=1)
    named, _ = stored(memo, {"K": {"L1": 1, "L2": 1}}, after)
    assert named == [{"kid": "K", "lid": "L1", "n": 1}]
    assert memo.due({"K": {"L1": 1, "L2": 1}}, after + timedelta(minutes=1)) == ([], [])


def test_unnamed_leases_are_looked_at_when_the_next_booking_time_passes_or_trust_ends() -> None:
    memo = LeaseMemo()
    stored(memo, {"K": {"L1": 0}}, T0)
    assert memo.due({"K": {}}, NEXT)[1] == []  # not past it yet
    assert memo.due({"K": {}}, NEXT + timedelta(seconds=1))[1] == ["K"]
    assert memo.due({"K": {"L1": 0}}, T0 + TRUST)[1] == ["K"]  # other writers: trust expires
    assert memo.due({"K": {"L1": 0}}, T0 - timedelta(seconds=1))[1] == ["K"]  # clock went back
    assert memo.due({"J": {}}, T0)[1] == ["J"]  # a kiosk it has not seen
