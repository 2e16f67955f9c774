"""Pure rules of the central server: quota split, working days, number formats."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central_server import numbering, quota


@given(st.integers(min_value=0, max_value=quota.MAX_DAILY_QUOTA))
def test_window_shares_add_up_to_the_daily_quota(daily: int) -> None:
    morning, afternoon = (quota.window_capacity(daily, w) for w in quota.WINDOWS)
    assert morning + afternoon == daily and 0 <= morning - afternoon <= 1


@given(st.dates(date(2020, 1, 1), date(2035, 12, 31)), st.integers(1, 30))
def test_verification_days_are_future_working_days(today: date, days: int) -> None:
    result = quota.verification_days(today, days)
    assert all(d.weekday() < 5 for d in result)
    assert all(today < d <= today + timedelta(days=min(days, quota.MAX_DAYS_AHEAD)) for d in result)
    assert all(quota.slot_problem(today, d, quota.WINDOWS[0]) is None for d in result)


@given(
    st.sampled_from(sorted(numbering.SERVICE_PREFIXES)),
    st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    st.integers(1, numbering.MAX_DAILY_SEQUENCE),
)
def test_registration_numbers_match_the_regex(service: str, day: date, seq: int) -> None:
    number = numbering.registration_number(service, "3517", day, seq)
    match = numbering.REGISTRATION_NUMBER_RE.fullmatch(number)
    assert match and int(match["sequence"]) == seq and match["yymmdd"] == f"{day:%y%m%d}"


def test_sequences_beyond_their_width_are_refused() -> None:
    with pytest.raises(numbering.SequenceExhausted):
        numbering.registration_number("kia", "3517", date(2026, 1, 5), 10_000)
    with pytest.raises(numbering.SequenceExhausted):
        numbering.queue_number("A", 1000)
    assert numbering.queue_number("B", 7) == "B-007"


@given(
    st.integers(1, 50),  # wanted
    st.integers(-10, quota.MAX_DAILY_QUOTA),  # free (below 0 after a quota cut)
    st.integers(0, 20),  # holding
    st.integers(1, 40),  # kiosks
)
def test_a_lease_top_up_stays_within_what_is_free_and_a_fair_share(
    wanted: int, free: int, holding: int, kiosks: int
) -> None:
    add = quota.lease_top_up(wanted, free, holding, kiosks)
    assert 0 <= add <= max(free, 0)  # leased + booked never exceeds the quota
    assert holding + add <= max(wanted, holding)  # never more than the kiosk's use asks
    share = (free + holding) // (kiosks + 1)
    assert add == 0 or holding + add <= max(1, share)  # a fair share, at least one place
    if free > 0 and holding == 0:
        assert add >= 1  # at least one where the quota allows


def test_lease_demand_follows_recent_use_and_is_at_least_one() -> None:
    assert quota.lease_demand(0, 20, 2.0) == 1
    assert quota.lease_demand(30, 20, 2.0) == 3
    assert quota.lease_demand(5, 0, 2.0) == 10  # no window in the history: per one window
    assert quota.windows_between(date(2026, 11, 16), date(2026, 11, 22)) == 9  # Mon-Sun
