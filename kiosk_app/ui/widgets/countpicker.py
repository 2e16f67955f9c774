"""Count picker: how many (people moving, ...) with big "+" and "-" buttons; each touch adds
or removes one row of the list the count sizes."""

from __future__ import annotations

from typing import Any

from kivy.properties import ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk_app.domain.text import Text
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import strings
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.stepper import StepColumn, minus_caption, plus_caption

COUNT = Text("Jumlah", "Number")
ADD = Text("Tambah satu", "Add one")
REMOVE = Text("Kurangi satu", "Remove one")


def step_count(current: int, action: str, low: int, high: int) -> int:
    """`current` one up ("count+") or down ("count-"), kept within low..high."""
    if action not in ("count+", "count-"):
        raise ValueError(f"unknown count action {action!r}")
    return min(max(current + (1 if action == "count+" else -1), low), high)


class CountPicker(BoxLayout):
    """Pick a whole number with single taps; `value` is '' until touched (the first "+" gives
    `low`)."""

    value = StringProperty("")
    low = NumericProperty(1)
    high = NumericProperty(20)
    lang = StringProperty("id")
    buttons = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        """Create the picker: one column, "+" above the number, "-" below."""
        theme.track_window()
        super().__init__(**kwargs)
        self.column = StepColumn([("count+", plus_caption())], [("count-", minus_caption())])
        self.add_widget(self.column)
        self.buttons = list(self.column.buttons)
        for button in self.buttons:
            button.bind(on_release=lambda b: self.apply(b.action))
        self.bind(value=self._show, lang=self._show)
        self._show()

    def apply(self, action: str) -> None:
        """One touch of "+" or "-"."""
        text = self.value.strip()
        if not (text.isascii() and text.isdigit()):
            self.value = str(int(self.low))
            return
        self.value = str(step_count(int(text), action, int(self.low), int(self.high)))

    def _show(self, *_args: Any) -> None:
        self.column.heading.text = COUNT(self.lang)
        self.column.value_box.text = self.value or strings.NOT_SET(self.lang)
        for button in self.buttons:  # the sign and what it does to the list
            adds = button.action == "count+"
            sign = plus_caption() if adds else minus_caption()
            button.text = f"{sign}  {(ADD if adds else REMOVE)(self.lang)}"


load_kv(__file__)
