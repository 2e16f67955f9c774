"""Dates as people read them: Indonesian (and English) day and month names."""

from __future__ import annotations

import re
from datetime import date, datetime

from kiosk_app.domain.text import Text, as_language

DAYS: tuple[Text, ...] = (
    Text("Senin", "Monday"),
    Text("Selasa", "Tuesday"),
    Text("Rabu", "Wednesday"),
    Text("Kamis", "Thursday"),
    Text("Jumat", "Friday"),
    Text("Sabtu", "Saturday"),
    Text("Minggu", "Sunday"),
)
MONTHS: tuple[Text, ...] = tuple(
    Text(i, e)
    for i, e in zip(
        "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November "
        "Desember".split(),
        "January February March April May June July August September October November "
        "December".split(),
        strict=True,
    )
)


_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_iso_date(value: str) -> date | None:
    """Return the date of a 'YYYY-MM-DD' string, or None when it is not one."""
    try:
        if len(value) != 10:
            return None
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def parse_hhmm(value: str) -> tuple[int, int] | None:
    """Return (hour, minute) of an 'HH:MM' string, or None when it is not one."""
    match = _HHMM.match(value or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def day_name(day: date) -> Text:
    """The day of the week in both languages, e.g. Senin/Monday."""
    return DAYS[day.weekday()]


def long_date(day: date, lang: str = "id") -> str:
    """Format a date with day and month names: "Senin, 23 November 2026"."""
    code = as_language(lang)
    return f"{DAYS[day.weekday()](code)}, {day.day} {MONTHS[day.month - 1](code)} {day.year}"


def local_time(stamp: str, fmt: str = "%d-%m-%Y %H:%M") -> str:
    """A stored ISO stamp (UTC) in the kiosk's local time, as `fmt`; the stamp as it is when
    it does not parse."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime(fmt)
    except ValueError:
        return stamp
