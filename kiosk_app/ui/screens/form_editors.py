"""The editors a form page shows beside its fields (keyboards, date and time grids, the
occupation list, the region and count pickers), built once and reused, and how a field's value
reads in its row."""

from __future__ import annotations

import datetime
from typing import Any

from kivy.uix.textinput import TextInput

from kiosk_app.domain.dates import long_date, parse_iso_date
from kiosk_app.domain.forms import FieldKind, FieldSpec
from kiosk_app.domain.text import Text
from kiosk_app.ui.screens.base import tr
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets.buttons import BigButton
from kiosk_app.ui.widgets.countpicker import CountPicker
from kiosk_app.ui.widgets.dategrid import DateGrid
from kiosk_app.ui.widgets.keyboard import OnScreenKeyboard
from kiosk_app.ui.widgets.listpicker import ListPicker
from kiosk_app.ui.widgets.regionpicker import RegionField, region_text
from kiosk_app.ui.widgets.timegrid import TimeGrid

KEYBOARD_MODES = {
    FieldKind.TEXT: "text",
    FieldKind.EMAIL: "email",
    FieldKind.DIGITS: "digits",
    FieldKind.NUMBER: "number",
}


# Where a date field's picker starts (see FormScreen._date_start).
YEARS_BACK = {"deceased_birth_date": 70}
RECENT_DATES = ("child", "death", "move", "police", "member_birth")
FUTURE_DATES = frozenset({"move_date"})
COUNT_SUFFIX = "_count"  # a NUMBER field named so sizes a list: a +/- picker, not a keyboard
FROM_LIST = Text("Pilih dari daftar", "Pick from the list")


def choice_columns(spec: FieldSpec) -> int:
    """Two columns for a few options, three for more, five for many short ones (numbers)."""
    if len(spec.choices) > 6 and all(len(c.label.id) <= 3 for c in spec.choices):
        return 5
    return 2 if len(spec.choices) <= 4 else 3


class FieldInput(TextInput):
    """The text box the on-screen keyboard types into (the keyboard honours max_length)."""

    max_length: int | None = None

    def follow_heading(self, _theme: Any, size: float) -> None:
        """Large text, live: the theme's heading size (theme.follow holds this weakly; a
        setter() partial held the box, its editor and their screen for ever, one per app)."""
        self.font_size = size


def display_value(spec: FieldSpec, value: str, lang: str) -> str:
    """How a stored value reads in the field row (choice label, long date, grouped digits)."""
    if not value:
        return ""
    if spec.kind is FieldKind.CHOICE:
        for choice in spec.choices:
            if choice.key == value:
                return tr(choice.label, lang)
        return value
    if spec.kind is FieldKind.REGION:
        return region_text(value)
    if spec.kind is FieldKind.DATE:
        day = parse_iso_date(value)
        return long_date(day, lang) if day else value
    if spec.kind is FieldKind.DIGITS and value.isdigit() and len(value) > 8:
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


class EditorParts:
    """Builds and keeps the editors of FormScreen; the screen handles what they report."""

    _editors: dict[str, Any]

    # what the editors report, handled by the form screen
    def _typed(self, _input: Any, text: str) -> None:
        raise NotImplementedError

    def _picked(self, _picker: Any, value: str) -> None:
        raise NotImplementedError

    def _done(self, _picker: Any) -> None:
        raise NotImplementedError

    def _type_other(self, _picker: Any) -> None:
        raise NotImplementedError

    def _copy_same(self, button: Any) -> None:
        raise NotImplementedError

    def _on_key(self, _keyboard: Any, key: str) -> None:
        raise NotImplementedError

    def _cached(self, key: str, make: Any) -> Any:
        if key not in self._editors:
            editor = make()
            editor.pilot_id = f"{key}_picker"
            self._editors[key] = editor
        return self._editors[key]

    def _keyboard(self, mode: str) -> tuple[FieldInput, OnScreenKeyboard]:
        """The text box (shared) and the keyboard for `mode` (one per mode)."""
        field_input = self._cached(
            "input",
            lambda: FieldInput(
                multiline=False,
                write_tab=False,
                size_hint_y=None,
                font_size=theme.sp_heading,
                font_name=theme.font_name,
                height=theme.touch * 1.2,
                padding=[theme.padding] * 2,
            ),
        )
        if not field_input.pilot_id == "editor_input":
            field_input.pilot_id = "editor_input"
            field_input.bind(text=self._typed)
            theme.follow(sp_heading=field_input.follow_heading)
        keyboard = self._cached(f"keyboard_{mode}", lambda: self._make_keyboard(mode))
        keyboard.pilot_id = "keyboard"
        return field_input, keyboard

    def _make_copy_button(self) -> BigButton:
        button = BigButton(kind="secondary", size_hint=(0.5, 1), auto_height=False)
        button.font_role = "small"
        button.mode, button.fill = "", ""
        button.bind(on_release=self._copy_same)
        return button

    def _make_keyboard(self, mode: str) -> OnScreenKeyboard:
        keyboard = OnScreenKeyboard(mode=mode, size_hint_y=None)
        keyboard.bind(on_key=self._on_key)
        return keyboard

    def _make_date_picker(self) -> DateGrid:
        picker = DateGrid()
        picker.bind(value=self._picked, on_done=self._done)
        return picker

    def _make_list_picker(self) -> ListPicker:
        picker = ListPicker()
        picker.bind(value=self._picked, on_done=self._done, on_other=self._type_other)
        return picker

    def _make_count_picker(self) -> CountPicker:
        picker = CountPicker()
        picker.bind(value=self._picked)
        return picker

    def _make_region_field(self) -> RegionField:
        field = RegionField()
        field.bind(value=self._picked)
        return field

    def _make_time_picker(self) -> TimeGrid:
        picker = TimeGrid()
        picker.bind(value=self._picked, on_done=self._done)
        return picker

    @staticmethod
    def _date_start(spec: FieldSpec) -> str:
        """Where the date picker starts: near the date the field most likely holds (today's
        month for events; 30 years back for adults' births, 70 for a deceased person's birth,
        where the picker starts at the decades: a birth year is picked first)."""
        today = datetime.date.today()
        years = YEARS_BACK.get(spec.name)
        if years is None:
            recent = spec.name.startswith(RECENT_DATES)
            years = 0 if recent else 30
        return today.replace(year=today.year - years, day=min(today.day, 28)).isoformat()
