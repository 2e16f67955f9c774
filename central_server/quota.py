"""Verification days, time windows and how a daily quota is split across windows."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta

WINDOWS: tuple[str, ...] = ("08.00-11.00", "13.00-15.00")
WINDOW_LETTERS: dict[str, str] = {"08.00-11.00": "A", "13.00-15.00": "B"}
DEFAULT_DAILY_QUOTA = 50
MAX_DAILY_QUOTA = 300  # keeps registration (4-digit) and queue (3-digit) sequences in range
MAX_DAYS_AHEAD = 14
FRIDAY = 4


def windows_on(day: date) -> tuple[str, ...]:
    """Open windows on `day`: Mon-Thu both, Friday morning only (Friday prayers), weekend none."""
    weekday = day.weekday()
    if weekday < FRIDAY:
        return WINDOWS
    if weekday == FRIDAY:
        return WINDOWS[:1]
    return ()


def window_capacity(daily_quota: int, window: str) -> int:
    """Share of a daily quota for one window: morning ceil(q/2), afternoon floor(q/2).

    The two shares add up to the daily quota. Friday opens only the morning window, so a
    Friday offers ceil(q/2): the office works a short day.
    """
    return (daily_quota + 1) // 2 if window == WINDOWS[0] else daily_quota // 2


def verification_days(today: date, days: int) -> list[date]:
    """Working days in (today, today + days], days capped at MAX_DAYS_AHEAD."""
    horizon = min(days, MAX_DAYS_AHEAD)
    candidates = (today + timedelta(days=n) for n in range(1, horizon + 1))
    return [d for d in candidates if windows_on(d)]


def slot_problem(today: date, day: date, window: str) -> str | None:
    """Why (day, window) cannot be booked today, or None when it can."""
    if window not in WINDOWS:
        return f"unknown window {window!r}; windows are {', '.join(WINDOWS)}"
    if day <= today:
        return "verification must be on a later day than the submission"
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        return f"verification must be within {MAX_DAYS_AHEAD} days"
    if window not in windows_on(day):
        return f"window {window} is closed on {day:%A}"
    return None


def later_slots(today: date, day: date, window: str) -> Iterator[tuple[date, str]]:
    """Bookable slots after (day, window), earliest first: the same day's later windows, then
    the following days' up to the booking horizon (where a full slot moves to)."""
    after = WINDOWS.index(window) + 1 if window in WINDOWS else len(WINDOWS)
    last = today + timedelta(days=MAX_DAYS_AHEAD)
    current = day
    while current <= last:
        for w in windows_on(current):
            if (current > day or WINDOWS.index(w) >= after) and not slot_problem(today, current, w):
                yield current, w
        current += timedelta(days=1)


def windows_between(first: date, last: date) -> int:
    """How many windows open from `first` to `last` inclusive."""
    return sum(len(windows_on(first + timedelta(days=n))) for n in range((last - first).days + 1))


def lease_demand(recent: int, windows: int, headroom: float) -> int:
    """Places a kiosk should hold per slot of a service: its `recent` bookings spread over the
    `windows` they were made in, with `headroom` for an outage's rush; at least 1."""
    return max(1, math.ceil(headroom * recent / max(1, windows)))


def lease_top_up(wanted: int, free: int, holding: int, kiosks: int) -> int:
    """Places to add to a kiosk's lease of one slot.

    `wanted`: what it should hold (lease_demand); `free`: the slot's places neither booked nor
    lent; `holding`: the unused places it holds already (never taken back here: it returns
    them itself); `kiosks`: the office's kiosks. Never more than a fair share of what is left,
    (free + holding) // (kiosks + 1), one share kept for online bookings, but at least one
    place while any is free; never more than is free, so leased + booked stays within quota.
    """
    share = max(1, (free + holding) // (kiosks + 1))
    return max(0, min(min(wanted, share) - holding, free))
