"""Time picker: hour and minute with big +/- buttons (minutes also by 10)."""

from __future__ import annotations

from typing import Any

from kivy.properties import ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk_app.domain.dates import parse_hhmm
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import strings
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.stepper import StepColumn, minus_caption, plus_caption

TIME_ACTIONS = ("hour+", "hour-", "minute+", "minute-", "minute+10", "minute-10")
EMPTY = "\u2013\u2013"


def step_time(hour: int, minute: int, action: str) -> tuple[int, int]:
    """Return the time changed by one action; hours wrap 23->00, minutes wrap 59->00."""
    steps = {
        "hour+": (1, 0),
        "hour-": (-1, 0),
        "minute+": (0, 1),
        "minute-": (0, -1),
        "minute+10": (0, 10),
        "minute-10": (0, -10),
    }
    if action not in steps:
        raise ValueError(f"unknown time action {action!r}")
    dh, dm = steps[action]
    return (hour + dh) % 24, (minute + dm) % 60


class TimePicker(BoxLayout):
    """Pick a time with single taps; `value` is 'HH:MM' (or '' until touched)."""

    value = StringProperty("")
    start_value = StringProperty("08:00")
    lang = StringProperty("id")
    buttons = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        """Create the picker; the first tap starts from `start_value` when `value` is empty."""
        theme.track_window()
        super().__init__(**kwargs)
        self.hour_column = StepColumn([("hour+", plus_caption())], [("hour-", minus_caption())])
        self.minute_column = StepColumn(
            [("minute+10", plus_caption(10)), ("minute+", plus_caption())],
            [("minute-10", minus_caption(10)), ("minute-", minus_caption())],
        )
        self.minute_column.size_hint_x = 2
        self.add_widget(self.hour_column)
        self.add_widget(self.minute_column)
        self.buttons = [*self.hour_column.buttons, *self.minute_column.buttons]
        for button in self.buttons:
            button.bind(on_release=lambda b: self.apply(b.action))
        self.bind(value=self._show, lang=self._show)
        self._show()

    def apply(self, action: str) -> None:
        """Perform one action ("hour+", "minute-10" ...) as a tap would."""
        current = parse_hhmm(self.value) or parse_hhmm(self.start_value) or (8, 0)
        hour, minute = step_time(*current, action)
        self.value = f"{hour:02d}:{minute:02d}"

    def _show(self, *_args: Any) -> None:
        """Write the headings and the current hour and minute."""
        self.hour_column.heading.text = strings.HOUR(self.lang)
        self.minute_column.heading.text = strings.MINUTE(self.lang)
        parsed = parse_hhmm(self.value)
        self.hour_column.value_box.text = f"{parsed[0]:02d}" if parsed else EMPTY
        self.minute_column.value_box.text = f"{parsed[1]:02d}" if parsed else EMPTY


load_kv(__file__)
