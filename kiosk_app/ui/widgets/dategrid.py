"""Date editor with the fewest touches: the year first from a grid (a decade, then its year),
then the month and the day, one touch each; or the date typed as digits on the number pad
(DD MM YYYY). A birth in 1945 takes four touches instead of a dozen +/- steps.

`value` is '' until a date is chosen, then always a real ISO date within the year range.
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, OptionProperty, StringProperty

from kiosk_app.domain.dates import parse_iso_date
from kiosk_app.domain.text import Text
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import strings
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.stagegrid import StageGrid

STAGES = ("decade", "year", "month", "day", "typed")
DIGITS = 8  # DDMMYYYY
_COLUMNS = {"decade": 4, "year": 5, "month": 3, "day": 7}

T = Text
PROMPTS = {
    "decade": T("Pilih tahun: dasawarsanya dulu", "Choose the year: its decade first"),
    "year": T("Tahun {decade}-an: pilih tahunnya", "The {decade}s: choose the year"),
    "month": T("Tahun {year}: pilih bulannya", "{year}: choose the month"),
    "day": T("{month} {year}: pilih tanggalnya", "{month} {year}: choose the day"),
    "typed": T("Ketik tanggal, bulan, tahun: 8 angka", "Type day, month, year: 8 digits"),
}
DECADE = T("{decade}-an", "{decade}s")
UP = {  # the button that goes one level up, named by where it goes
    "year": T("Dasawarsa lain", "Other decade"),
    "month": T("Tahun lain", "Other year"),
    "day": T("Bulan lain", "Other month"),
}
TYPE_IT = T("Ketik tanggal", "Type the date")
PICK_IT = T("Pilih di kalender", "Pick on the calendar")
MSG = {
    "short": T(
        "Ketik 8 angka, contoh 04 03 1945.", "Type 8 digits, e.g. 04 03 1945 (day month year)."
    ),
    "no_date": T(
        "Tanggal itu tidak ada di kalender. Periksa lagi.",
        "That date is not on the calendar. Check it again.",
    ),
    "range": T(
        "Tahun harus antara {low} dan {high}.", "The year must be between {low} and {high}."
    ),
}


def typed_date(digits: str, low: int, high: int) -> tuple[datetime.date | None, Text | None]:
    """The date of 8 typed digits DDMMYYYY, or the citizen's message why it is none."""
    if len(digits) != DIGITS or not (digits.isascii() and digits.isdigit()):
        return None, MSG["short"]
    day, month, year = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    if not low <= year <= high:
        return None, MSG["range"].format(low=low, high=high)
    try:
        return datetime.date(year, month, day), None
    except ValueError:
        return None, MSG["no_date"]


def typed_display(digits: str) -> str:
    """The digits typed so far in their places: '0403' -> '04 - 03 - _ _ _ _'."""
    shown = (digits + "_" * DIGITS)[:DIGITS]
    return f"{shown[:2]} - {shown[2:4]} - {shown[4:]}"


class DateGrid(StageGrid):
    """A prompt, a grid of touches for the current stage (or the typed digits and their
    number pad), and the buttons one level up and to the other way of entering."""

    start_value = StringProperty("")  # where browsing starts when nothing is chosen
    min_year = NumericProperty(1900)
    max_year = NumericProperty(datetime.date.today().year)
    year_first = BooleanProperty(False)  # a birth date: start at the decades
    stage = OptionProperty("day", options=STAGES)
    # on_done: a date was chosen (a day touched, or 8 digits typed)

    pilot_prefix = "date"
    digit_count = DIGITS
    type_it = TYPE_IT
    pick_it = PICK_IT

    def __init__(self, **kwargs: Any) -> None:
        """Build the parts once (cells are reused from stage to stage)."""
        super().__init__(columns=7, cells=31, **kwargs)
        self.year = self.month = 1
        self.decade = 1900
        self._start()

    # -- state -------------------------------------------------------------------------------
    def current_date(self) -> datetime.date | None:
        """The chosen date, or None."""
        return parse_iso_date(self.value)

    def start_date(self) -> datetime.date:
        """Where browsing starts: the chosen date, else `start_value` (default today), within
        the year range."""
        start = self.current_date() or parse_iso_date(self.start_value) or datetime.date.today()
        year = min(max(start.year, int(self.min_year)), int(self.max_year))
        return start.replace(year=year, day=min(start.day, 28))

    def reset(self) -> None:
        """Open as a citizen needs it: on the chosen date's month, else at the decades for a
        birth date, else on the month the date most likely lies in."""
        start = self.start_date()
        self.year, self.month = start.year, start.month
        self.decade = start.year // 10 * 10
        self.digits, self.error = "", ""
        chosen = self.current_date() is not None
        self._open_on("decade" if self.year_first and not chosen else "day")

    # -- touches -----------------------------------------------------------------------------
    def pick(self, kind: str, n: int) -> bool:
        """One touch on a cell: go one stage down, or set the date on a day."""
        if kind == "decade":
            self.decade, self.stage = n, "year"
        elif kind == "year":
            self.year, self.stage = n, "month"
        elif kind == "month":
            self.month, self.stage = n, "day"
        elif kind == "day":
            self.value = datetime.date(self.year, self.month, n).isoformat()
            self._show()
            self.dispatch("on_done")
        else:
            return False
        return True

    def go_up(self) -> None:
        """One level up: from the days to the months, to the years, to the decades."""
        if self.stage == "day":
            self.stage = "month"
        elif self.stage == "month":
            self.decade = self.year // 10 * 10
            self.stage = "year"
        elif self.stage == "year":
            self.stage = "decade"

    def _on_value(self, *_args: Any) -> None:
        if not self.value:
            self.digits = ""  # no personal data lingers
        self._show()

    def typed_value(self, digits: str) -> tuple[str | None, Text | None]:
        """The ISO date of the typed digits, or the citizen's message why it is none."""
        day, problem = typed_date(digits, int(self.min_year), int(self.max_year))
        return (day.isoformat() if day is not None else None), problem

    def typed_text(self, digits: str) -> str:
        """The digits typed so far in their places."""
        return typed_display(digits)

    # -- showing -----------------------------------------------------------------------------
    def prompt_text(self, stage: str, lang: str) -> str:
        """What the prompt asks at this stage."""
        month = strings.MONTHS[self.month - 1](lang)
        return PROMPTS[stage].format(decade=self.decade, year=self.year, month=month)(lang)

    def up_text(self, stage: str, lang: str) -> str | None:
        """Where the up button goes from this stage, if anywhere."""
        return UP[stage](lang) if stage in UP else None

    def _fill_grid(self, stage: str, lang: str) -> None:
        low, high = int(self.min_year), int(self.max_year)
        chosen = self.current_date()
        items: list[tuple[str, str, bool]] = []  # (action, text, chosen)
        if stage == "decade":
            for decade in range(low // 10 * 10, high + 1, 10):
                mark = chosen is not None and chosen.year // 10 * 10 == decade
                items.append((f"decade:{decade}", DECADE.format(decade=decade)(lang), mark))
        elif stage == "year":
            for year in range(max(self.decade, low), min(self.decade + 9, high) + 1):
                items.append(
                    (f"year:{year}", str(year), chosen is not None and chosen.year == year)
                )
        elif stage == "month":
            for month in range(1, 13):
                mark = chosen is not None and (chosen.year, chosen.month) == (self.year, month)
                items.append((f"month:{month}", strings.MONTHS[month - 1](lang), mark))
        else:
            for day in range(1, calendar.monthrange(self.year, self.month)[1] + 1):
                mark = chosen == datetime.date(self.year, self.month, day)
                items.append((f"day:{day}", str(day), mark))
        # large text: the days in four rows of eight, leaving the taller prompt its room
        self.grid.cols = 8 if stage == "day" and theme.large_text else _COLUMNS[stage]
        self._place_cells(items, "key" if stage in ("year", "day") else "body")


load_kv(__file__)
