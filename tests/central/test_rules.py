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
