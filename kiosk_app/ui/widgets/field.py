"""A form field row: big label, the current value in a frame, and an error line beneath."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label

from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.stepper import ThemedLabel


class FieldValue(ThemedLabel):
    """The value of a field, looking like an input; a thick frame shows it is selected."""

    selected = BooleanProperty(False)
    line = NumericProperty(2)  # the frame's half-width (kv: thicker when selected)


class ErrorIcon(Label):
    """A round error mark with "!" so errors never rely on colour alone."""


class FieldRow(ButtonBehavior, BoxLayout):
    """One field of a form; a single tap anywhere on it fires on_select."""

    label_text = StringProperty("")
    value_text = StringProperty("")
    hint_text = StringProperty("")
    error_text = StringProperty("")
    selected = BooleanProperty(False)
    lang = StringProperty("id")

    __events__ = ("on_select",)

    def __init__(self, **kwargs: Any) -> None:
        """Create the row."""
        theme.track_window()
        super().__init__(**kwargs)

    def on_release(self) -> None:
        """Turn a completed tap into on_select."""
        self.dispatch("on_select")

    def on_select(self) -> None:
        """Default handler: mark this row selected (screens unselect the others)."""
        self.selected = True


load_kv(__file__)
