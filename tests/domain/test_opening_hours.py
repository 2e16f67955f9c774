"""Opening hours: windows, closed dates, time zones, and when the kiosk opens again."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk_app.domain.opening_hours import (
    NOT_REOPENING,
    ZONES,
    OpeningHours,
    Window,
    parse_opening_hours,
    parse_window,
)

JOMBANG = {
    "timezone": "WIB",
    "monday": ["08.00-12.00", "13.00-16.00"],
    "tuesday": ["08.00-12.00", "13.00-16.00"],
    "wednesday": ["08.00-12.00", "13.00-16.00"],
    "thursday": ["08.00-12.00", "13.00-16.00"],
    "friday": ["08.00-11.00", "19.00-22.00"],  # Friday evening service until 22.00
    "closed_dates": ["2026-12-25", date(2027, 1, 1)],
}
WIB = ZONES["WIB"]


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)  # type: ignore[misc]


def test_friday_evening_service_then_the_weekend() -> None:
    hours = parse_opening_hours(JOMBANG)
    assert hours.is_open(wib(2026, 11, 20, 21, 59))
    assert not hours.is_open(wib(2026, 11, 20, 22, 0))
    assert not hours.is_open(wib(2026, 11, 20, 12, 0))  # Friday prayers: closed at noon
    assert hours.next_opening(wib(2026, 11, 20, 12, 0)) == wib(2026, 11, 20, 19, 0)
    assert hours.next_opening(wib(2026, 11, 20, 22, 0)) == wib(2026, 11, 23, 8, 0)
    text = hours.reopening_text(wib(2026, 11, 20, 22, 0))
    assert text.id == "Buka lagi Senin, 23 November 2026 pukul 08.00 WIB"
    assert text.en == "Opens again Monday, 23 November 2026 at 08.00 WIB"
    assert hours.closes_at(wib(2026, 11, 20, 20, 0)) == wib(2026, 11, 20, 22, 0)
    assert hours.closes_at(wib(2026, 11, 21, 10, 0)) is None


def test_closed_dates_are_skipped() -> None:
    hours = parse_opening_hours(JOMBANG)
    assert not hours.is_open(wib(2026, 12, 25, 9, 0))  # Christmas, a Friday
    assert hours.next_opening(wib(2026, 12, 24, 16, 0)) == wib(2026, 12, 28, 8, 0)
    assert hours.next_opening(wib(2026, 12, 31, 16, 30)) == wib(2027, 1, 4, 8, 0)


@pytest.mark.parametrize(("zone", "local_hour"), [("WIB", 8), ("WITA", 9), ("WIT", 10)])
def test_the_office_zone_decides(zone: str, local_hour: int) -> None:
    hours = parse_opening_hours({**JOMBANG, "timezone": zone.lower()})
    at = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 08.00 WIB, 09.00 WITA, 10.00 WIT
    assert hours.local(at).hour == local_hour
    assert hours.is_open(at)
    assert hours.reopening_text(datetime(2026, 11, 22, 1, tzinfo=UTC)).id.endswith(
        f"pukul 08.00 {zone}"
    )


def test_no_schedule_is_always_open_and_an_empty_one_never_reopens() -> None:
    always = parse_opening_hours(None)
    assert always.is_open(wib(2026, 11, 22, 3, 0)) and always.closes_at(wib(2026, 1, 1)) is None
    never = parse_opening_hours({"timezone": "WIT"})
    assert not never.is_open(wib(2026, 11, 23, 9, 0))
    assert never.next_opening(wib(2026, 11, 23, 9, 0)) is None
    assert never.reopening_text(wib(2026, 11, 23, 9, 0)) == NOT_REOPENING


@pytest.mark.parametrize(
    "bad",
    [
        {"monday": ["8-12"]},
        {"monday": ["12.00-08.00"]},
        {"monday": ["08.00-25.00"]},
        {"monday": ["08.00-12.00", "11.00-13.00"]},
        {"timezone": "UTC"},
        {"funday": []},
        {"closed_dates": ["25-12-2026"]},
        {"monday": 8},
    ],
)
def test_bad_config_is_refused_with_a_reason(bad: dict) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        parse_opening_hours(bad)


def test_window_text_round_trips() -> None:
    assert str(parse_window("8:05 - 22.00")) == "08.05-22.00"


minutes = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def schedules(draw: st.DrawFn) -> OpeningHours:
    """Random weekly schedules (some days closed) with random closed dates."""
    weekly = []
    for _ in range(7):
        cuts = sorted(draw(st.lists(minutes, max_size=6, unique=True)))
        cuts = cuts[: len(cuts) // 2 * 2]
        weekly.append(
            tuple(
                Window(time(a // 60, a % 60), time(b // 60, b % 60))
                for a, b in zip(cuts[::2], cuts[1::2], strict=True)
            )
        )
    closed = draw(st.frozensets(st.dates(date(2026, 1, 1), date(2026, 3, 1)), max_size=20))
    return OpeningHours(tuple(weekly), closed, draw(st.sampled_from(sorted(ZONES))))


instants = st.datetimes(datetime(2026, 1, 1), datetime(2026, 2, 1), timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(schedules(), instants, st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_next_opening_is_the_first_open_moment(
    hours: OpeningHours, at: datetime, probes: list[float]
) -> None:
    when = hours.next_opening(at)
    if hours.is_open(at):
        assert when == at
        closing = hours.closes_at(at)
        assert closing is not None and closing > at
        return
    assert hours.closes_at(at) is None
    if when is None:  # never opens: no window at all outside closed dates
        assert all(not hours.windows_on(at.date() + timedelta(days=n)) for n in range(60))
        return
    assert when > at and hours.is_open(when)
    assert when.tzinfo is not None and when.utcoffset() == hours.tz.utcoffset(None)
    for fraction in probes:  # everything between now and the opening is closed
        assert not hours.is_open(at + (when - at) * fraction * 0.999999)
    assert hours.reopening_text(at).id.startswith("Buka lagi ")


@settings(max_examples=100, deadline=None)
@given(schedules(), instants)
def test_closed_dates_are_never_open(hours: OpeningHours, at: datetime) -> None:
    if hours.local(at).date() in hours.closed_dates:
        assert not hours.is_open(at)
