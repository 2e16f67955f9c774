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
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from kiosk_app.domain.text import Text
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import strings
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.buttons import BigButton
from kiosk_app.ui.widgets.datepicker import parse_iso_date
from kiosk_app.ui.widgets.keyboard import OnScreenKeyboard
from kiosk_app.ui.widgets.stepper import ThemedLabel

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


class GridCell(BigButton):
    """One touch in the grid; `action` says what, e.g. "decade:1940", "month:3", "day:4"."""

    action = StringProperty("")


class DateGrid(BoxLayout):
    """A prompt, a grid of touches for the current stage (or the typed digits and their
    number pad), and the buttons one level up and to the other way of entering."""

    value = StringProperty("")
    start_value = StringProperty("")  # where browsing starts when nothing is chosen
    min_year = NumericProperty(1900)
    max_year = NumericProperty(datetime.date.today().year)
    lang = StringProperty("id")
    year_first = BooleanProperty(False)  # a birth date: start at the decades
    stage = OptionProperty("day", options=STAGES)
    digits = StringProperty("")  # typed so far
    prompt = StringProperty("")
    error = StringProperty("")
    __events__ = ("on_done",)  # a date was chosen (a day touched, or 8 digits typed)

    def __init__(self, **kwargs: Any) -> None:
        """Build the parts once (cells are reused from stage to stage)."""
        theme.track_window()
        super().__init__(**kwargs)
        self.year = self.month = 1
        self.decade = 1900
        self.prompt_label = ThemedLabel(font_role="body")
        self.prompt_label.pilot_id = "date_prompt"
        # every cell one touch target high (the layout check sees that the rows fit)
        self.grid = GridLayout(cols=7, spacing=theme.spacing, size_hint_y=None)
        self.grid.row_force_default = True
        self.grid.bind(minimum_height=self.grid.setter("height"))
        self.filler = Widget()
        self.cells = [self._cell() for _ in range(31)]
        self.display = ThemedLabel(font_role="key")
        self.display.pilot_id = "date_typed"
        self.pad = OnScreenKeyboard(mode="digits", size_hint_y=None, compact=True)
        self.pad.pilot_id = "date_pad"
        self.pad.bind(on_key=self._key)
        self.up = GridCell(kind="secondary", size_hint=(1, 1), auto_height=False)
        self.up.pilot_id = "date_up"
        self.up.bind(on_release=lambda _b: self.go_up())
        self.switch = GridCell(kind="secondary", size_hint=(1, 1), auto_height=False)
        self.switch.pilot_id = "date_switch"
        self.switch.bind(on_release=lambda _b: self.toggle_typing())
        self.bar = BoxLayout(orientation="horizontal", spacing=theme.spacing * 2)
        self.bar.size_hint_y = None
        self._bar_height()
        theme.follow(touch=self._bar_height, revision=self._show)
        self.bind(value=self._on_value, lang=self._show, stage=self._show, digits=self._show)
        self.bind(error=self._show)
        self.reset()

    def _bar_height(self, *_args: Any) -> None:
        self.bar.height = self.grid.row_default_height = theme.touch

    def on_done(self) -> None:
        """A date was chosen: the form moves on to its next field."""

    def _cell(self) -> GridCell:
        cell = GridCell(kind="secondary", size_hint=(1, 1), auto_height=False)
        cell.bind(on_release=lambda b: self.choose(b.action))
        return cell

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
        stage = "decade" if self.year_first and not chosen else "day"
        if self.stage == stage:
            self._show()
        self.stage = stage

    def _on_value(self, *_args: Any) -> None:
        if not self.value:
            self.digits = ""  # no personal data lingers
        self._show()

    # -- touches -----------------------------------------------------------------------------
    def choose(self, action: str) -> None:
        """One touch on a cell: go one stage down, or set the date on a day."""
        kind, _, number = action.partition(":")
        n = int(number)
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
            raise ValueError(f"unknown date action {action!r}")

    def go_up(self) -> None:
        """One level up: from the days to the months, to the years, to the decades."""
        if self.stage == "day":
            self.stage = "month"
        elif self.stage == "month":
            self.decade = self.year // 10 * 10
            self.stage = "year"
        elif self.stage == "year":
            self.stage = "decade"

    def toggle_typing(self) -> None:
        """Between typing the digits and picking on the grid."""
        if self.stage == "typed":
            self.reset()
        else:
            self.digits, self.error = "", ""
            self.stage = "typed"

    def _key(self, _pad: Any, key: str) -> None:
        if key == "backspace":
            self.digits, self.error = self.digits[:-1], ""
        elif key.isdigit() and len(self.digits) < DIGITS:
            self.digits, self.error = self.digits + key, ""
        elif key != "done":
            return
        if len(self.digits) == DIGITS or key == "done":  # 8 digits: no OK needed
            day, problem = typed_date(self.digits, int(self.min_year), int(self.max_year))
            self.error = problem(self.lang) if problem else ""
            if day is not None:
                self.value = day.isoformat()
                self.dispatch("on_done")

    # -- showing -----------------------------------------------------------------------------
    def _show(self, *_args: Any) -> None:
        lang, stage = self.lang, self.stage
        self.clear_widgets()
        self.bar.clear_widgets()
        month = strings.MONTHS[self.month - 1](lang)
        prompt = PROMPTS[stage].format(decade=self.decade, year=self.year, month=month)
        self.prompt = self.error or prompt(lang)
        self.prompt_label.text = self.prompt
        self.prompt_label.color = theme.danger if self.error else theme.text
        self.add_widget(self.prompt_label)
        # the pad is tall: in large text, prompt, digits and pad fit with tighter gaps
        self.spacing = theme.spacing * (1 if stage == "typed" else 2)
        self.prompt_label.font_role = "small" if stage == "typed" else "body"
        if stage == "typed":
            self.display.text = typed_display(self.digits)
            self.pad.lang = lang
            # the digits beside the switch, above the pad: the pad keeps its room
            self.bar.add_widget(self.display)
            self.add_widget(self.bar)
            self.add_widget(self.pad)
        else:
            self._fill_grid(stage, lang)
            self.add_widget(self.grid)
            self.add_widget(self.filler)
        if stage in UP:
            self.up.text, self.up.action = f"‹  {UP[stage](lang)}", "up"
            self.bar.add_widget(self.up)
        self.switch.text = (PICK_IT if stage == "typed" else TYPE_IT)(lang)
        self.switch.action = "grid" if stage == "typed" else "typed"
        self.bar.add_widget(self.switch)
        if self.bar.parent is None:
            self.add_widget(self.bar)

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
        self.grid.clear_widgets()
        # large text: the days in four rows of eight, leaving the taller prompt its room
        self.grid.cols = 8 if stage == "day" and theme.large_text else _COLUMNS[stage]
        for cell, (action, text, mark) in zip(self.cells, items, strict=False):
            cell.action, cell.text = action, text
            cell.kind = "primary" if mark else "secondary"
            cell.font_role = "key" if stage in ("year", "day") else "body"
            self.grid.add_widget(cell)


load_kv(__file__)
