"""Date picker: day, month and year each with big +/- buttons, plus 10-year jumps."""

from __future__ import annotations

import calendar
import datetime
from typing import Any

from kivy.properties import ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk_app.domain.dates import parse_iso_date
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import strings
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.buttons import BigButton
from kiosk_app.ui.widgets.stepper import StepButton, StepColumn, minus_caption, plus_caption

DATE_ACTIONS = (
    "day+",
    "day-",
    "month+",
    "month-",
    "year+",
    "year-",
    "year+10",
    "year-10",
)
EMPTY = "\u2013"


def step_date(current: datetime.date, action: str, min_year: int, max_year: int) -> datetime.date:
    """Return `current` changed by one picker action (day/month wrap, year clamps)."""
    day, month, year = current.day, current.month, current.year
    if action == "day+":
        day = day % calendar.monthrange(year, month)[1] + 1
    elif action == "day-":
        day = (day - 2) % calendar.monthrange(year, month)[1] + 1
    elif action == "month+":
        month = month % 12 + 1
    elif action == "month-":
        month = (month - 2) % 12 + 1
    elif action.startswith("year"):
        step = {"year+": 1, "year-": -1, "year+10": 10, "year-10": -10}.get(action)
        if step is None:
            raise ValueError(f"unknown date action {action!r}")
        year += step
    else:
        raise ValueError(f"unknown date action {action!r}")
    year = min(max(year, min_year, datetime.MINYEAR), max_year, datetime.MAXYEAR)
    day = min(day, calendar.monthrange(year, month)[1])
    return datetime.date(year, month, day)


class DatePicker(BoxLayout):
    """Pick a date with single taps; `value` is '' until touched, then always an ISO date."""

    value = StringProperty("")
    start_value = StringProperty("")
    min_year = NumericProperty(1900)
    max_year = NumericProperty(datetime.date.today().year)
    lang = StringProperty("id")
    buttons = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        """Create the picker; `start_value` (default today) is where the first tap starts."""
        theme.track_window()
        super().__init__(**kwargs)
        columns = BoxLayout(orientation="horizontal", spacing=theme.padding, size_hint_y=None)
        self.day_column = StepColumn([("day+", plus_caption())], [("day-", minus_caption())])
        self.month_column = StepColumn([("month+", plus_caption())], [("month-", minus_caption())])
        self.year_column = StepColumn([("year+", plus_caption())], [("year-", minus_caption())])
        for column in (self.day_column, self.month_column, self.year_column):
            columns.add_widget(column)
        self.month_column.size_hint_x = 1.4
        columns.bind(minimum_height=columns.setter("height"))
        jumps = BoxLayout(orientation="horizontal", spacing=theme.padding, size_hint_y=None)
        self.jump_back = StepButton(action="year-10", kind="secondary")
        self.jump_forward = StepButton(action="year+10", kind="secondary")
        for button in (self.jump_back, self.jump_forward):
            jumps.add_widget(button)
        jumps.bind(minimum_height=jumps.setter("height"))
        self.add_widget(columns)
        self.add_widget(jumps)
        all_buttons: list[BigButton] = [
            *self.day_column.buttons,
            *self.month_column.buttons,
            *self.year_column.buttons,
            self.jump_back,
            self.jump_forward,
        ]
        for button in all_buttons:
            button.bind(on_release=lambda b: self.apply(b.action))
        self.buttons = all_buttons
        self.bind(value=self._show, lang=self._show)
        self._show()

    def current_date(self) -> datetime.date | None:
        """Return the chosen date, or None when nothing is chosen yet."""
        return parse_iso_date(self.value)

    def _start_date(self) -> datetime.date:
        """Return the date the first tap starts from, inside the year range."""
        start = parse_iso_date(self.start_value) or datetime.date.today()
        year = min(max(start.year, int(self.min_year)), int(self.max_year))
        day = min(start.day, calendar.monthrange(year, start.month)[1])
        return datetime.date(year, start.month, day)

    def apply(self, action: str) -> None:
        """Perform one action ("day+", "month-", "year-10" ...) as a tap would."""
        current = self.current_date() or self._start_date()
        changed = step_date(current, action, int(self.min_year), int(self.max_year))
        self.value = changed.isoformat()

    def _show(self, *_args: Any) -> None:
        """Write the headings and the current day, month and year."""
        lang = self.lang
        self.day_column.heading.text = strings.DAY(lang)
        self.month_column.heading.text = strings.MONTH(lang)
        self.year_column.heading.text = strings.YEAR(lang)
        minus = theme.symbol("minus")
        self.jump_back.text = f"{minus}10 {strings.YEARS(lang)}"
        self.jump_forward.text = f"+10 {strings.YEARS(lang)}"
        date = self.current_date()
        if date is None:
            texts = (EMPTY, EMPTY, EMPTY)
        else:
            texts = (str(date.day), strings.MONTHS[date.month - 1](lang), str(date.year))
        self.day_column.value_box.text = texts[0]
        self.month_column.value_box.text = texts[1]
        self.year_column.value_box.text = texts[2]


load_kv(__file__)
