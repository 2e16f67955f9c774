"""Building blocks of the pickers: step buttons, framed value boxes and +/- columns."""

from __future__ import annotations

from typing import Any

from kivy.properties import OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label

from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.buttons import FONT_ROLES, BigButton


class ThemedLabel(Label):
    """A wrapped, centred label whose font size follows the theme (`font_role`)."""

    font_role = OptionProperty("body", options=FONT_ROLES)


class ValueBox(ThemedLabel):
    """The current value of a picker column, big and framed."""


class StepButton(BigButton):
    """A picker button; `action` says what it does, e.g. "day+" or "year-10"."""

    action = StringProperty("")


class StepColumn(BoxLayout):
    """A column: heading, rows of "+" buttons, the value, rows of "-" buttons."""

    def __init__(self, plus: list[tuple[str, str]], minus: list[tuple[str, str]], **kwargs: Any):
        """Create the column; plus/minus are lists of (action, caption) on one row each."""
        theme.track_window()
        super().__init__(**kwargs)
        self.heading = ThemedLabel(font_role="body")
        self.value_box = ValueBox()
        self.buttons: list[StepButton] = []
        self.add_widget(self.heading)
        self.add_widget(self._row(plus))
        self.add_widget(self.value_box)
        self.add_widget(self._row(minus))

    def _row(self, actions: list[tuple[str, str]]) -> BoxLayout:
        """Return a row holding one step button per action."""
        row = BoxLayout(orientation="horizontal", spacing=theme.spacing, size_hint_y=None)
        for action, caption in actions:
            button = StepButton(action=action, text=caption, kind="primary", font_role="title")
            self.buttons.append(button)
            row.add_widget(button)
        row.bind(minimum_height=row.setter("height"))
        return row


def plus_caption(step: int = 1) -> str:
    """Return the caption of a button adding `step`."""
    return "+" if step == 1 else f"+{step}"


def minus_caption(step: int = 1) -> str:
    """Return the caption of a button subtracting `step`."""
    sign = theme.symbol("minus")
    return sign if step == 1 else f"{sign}{step}"


load_kv(__file__)
