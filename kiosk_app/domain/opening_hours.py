"""The office's opening hours: weekly windows, closed dates, its Indonesian time zone."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from kiosk_app.domain.dates import long_date
from kiosk_app.domain.text import Text

# Indonesia keeps no daylight saving time: each zone is a fixed offset.
ZONES: dict[str, timezone] = {
    "WIB": timezone(timedelta(hours=7), "WIB"),
    "WITA": timezone(timedelta(hours=8), "WITA"),
    "WIT": timezone(timedelta(hours=9), "WIT"),
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SEARCH_DAYS = 400  # a schedule with no opening in more than a year counts as never opening
_WINDOW = re.compile(r"^\s*(\d{1,2})[.:](\d{2})\s*-\s*(\d{1,2})[.:](\d{2})\s*$")

REOPENS = Text("Buka lagi {day_id} pukul {time} {zone}", "Opens again {day_en} at {time} {zone}")
NOT_REOPENING = Text(
    "Anjungan ini sedang tutup. Silakan tanyakan jadwal layanan kepada petugas.",
    "This kiosk is closed. Please ask the staff when service resumes.",
)


@dataclass(frozen=True, order=True)
class Window:
    """One opening window of a day, e.g. 08.00-12.00 (end after start, within the day)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"window {self} must end after it starts")

    def __str__(self) -> str:
        return f"{self.start:%H.%M}-{self.end:%H.%M}"


@dataclass(frozen=True)
class OpeningHours:
    """When the kiosk serves citizens; `weekly[0]` is Monday. Times are the office's zone."""

    weekly: tuple[tuple[Window, ...], ...] = ((),) * 7
    closed_dates: frozenset[date] = field(default_factory=frozenset)
    zone: str = "WIB"
    always_open: bool = False

    def __post_init__(self) -> None:
        if self.zone not in ZONES:
            raise ValueError(f"timezone must be one of {', '.join(ZONES)}, not {self.zone!r}")
        if len(self.weekly) != 7:
            raise ValueError("a weekly schedule has 7 days")
        for windows in self.weekly:
            for a, b in zip(windows, windows[1:], strict=False):
                if b.start < a.end:
                    raise ValueError(f"windows {a} and {b} overlap or are out of order")

    @classmethod
    def always(cls) -> OpeningHours:
        """No schedule configured: open around the clock (development kiosks)."""
        return cls(always_open=True)

    @property
    def tz(self) -> timezone:
        """The office's fixed UTC offset."""
        return ZONES[self.zone]

    def local(self, at: datetime) -> datetime:
        """`at` (aware) in the office's zone."""
        if at.tzinfo is None:
            raise ValueError("opening hours need an aware datetime")
        return at.astimezone(self.tz)

    def windows_on(self, day: date) -> tuple[Window, ...]:
        """The windows of a calendar day (none on a closed date)."""
        if day in self.closed_dates:
            return ()
        return self.weekly[day.weekday()]

    def is_open(self, at: datetime) -> bool:
        """Whether citizens are served at `at`."""
        if self.always_open:
            return True
        now = self.local(at)
        return any(w.start <= now.time() < w.end for w in self.windows_on(now.date()))

    def next_opening(self, at: datetime) -> datetime | None:
        """The first opening strictly after `at` when closed then (the start of the next
        window), `at` itself when open; None when the schedule never opens again."""
        if self.is_open(at):
            return self.local(at)
        now = self.local(at)
        for offset in range(SEARCH_DAYS):
            day = now.date() + timedelta(days=offset)
            for window in self.windows_on(day):
                start = datetime.combine(day, window.start, self.tz)
                if start > now:
                    return start
        return None

    def closes_at(self, at: datetime) -> datetime | None:
        """When the window open at `at` ends (None when closed or always open)."""
        if self.always_open:
            return None
        now = self.local(at)
        for window in self.windows_on(now.date()):
            if window.start <= now.time() < window.end:
                return datetime.combine(now.date(), window.end, self.tz)
        return None

    def reopening_text(self, at: datetime) -> Text:
        """What the closed screen says: "Buka lagi Senin, 23 November 2026 pukul 08.00 WIB"."""
        when = self.next_opening(at)
        if when is None:
            return NOT_REOPENING
        return REOPENS.format(
            day_id=long_date(when.date(), "id"),
            day_en=long_date(when.date(), "en"),
            time=f"{when:%H.%M}",
            zone=self.zone,
        )


def parse_window(text: str) -> Window:
    """ "08.00-12.00" (or 08:00-12:00) as a Window; 24.00 is not a time: end at 23.59."""
    match = _WINDOW.match(text)
    if match is None:
        raise ValueError(f"opening window {text!r} is not like 08.00-12.00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        return Window(time(h1, m1), time(h2, m2))
    except ValueError as exc:
        raise ValueError(f"opening window {text!r}: {exc}") from exc


def parse_opening_hours(raw: Mapping[str, Any] | None) -> OpeningHours:
    """Build from the config's [opening_hours] table; no table means always open."""
    if not raw:
        return OpeningHours.always()
    unknown = set(raw) - {*WEEKDAYS, "timezone", "closed_dates"}
    if unknown:
        raise ValueError(f"unknown key(s): {', '.join(sorted(unknown))}")
    weekly = []
    for name in WEEKDAYS:
        value = raw.get(name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValueError(f'{name} must be a list of windows like "08.00-12.00"')
        weekly.append(tuple(sorted(parse_window(str(item)) for item in value)))
    return OpeningHours(
        tuple(weekly),
        frozenset(_dates(raw.get("closed_dates", []))),
        str(raw.get("timezone", "WIB")).upper(),
    )


def _dates(values: Iterable[Any]) -> Iterable[date]:
    for value in values:
        if isinstance(value, datetime):
            yield value.date()
        elif isinstance(value, date):
            yield value
        else:
            try:
                yield date.fromisoformat(str(value))
            except ValueError as exc:
                raise ValueError(f"closed date {value!r} is not YYYY-MM-DD") from exc
