"""Time editor with the fewest touches, like the date grid: the hour from a grid of 24, then the
minute from a grid in 5-minute steps (two touches for 14.30), or the exact time typed as four
digits on the number pad (HH MM, as a birth letter writes it). Where a time is optional,
"Tidak tahu" leaves it empty.

`value` is '' until a time is complete (a minute touched or four digits typed), then 'HH:MM'.
`on_done` fires then, and on "Tidak tahu": the form moves on to its next field.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from kiosk_app.domain.text import Text
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.dategrid import GridCell
from kiosk_app.ui.widgets.keyboard import OnScreenKeyboard
from kiosk_app.ui.widgets.stepper import ThemedLabel
from kiosk_app.ui.widgets.timepicker import parse_hhmm

STAGES = ("hour", "minute", "typed")
DIGITS = 4  # HHMM
_COLUMNS = {"hour": 6, "minute": 4}
MINUTE_STEP = 5

T = Text
PROMPTS = {
    "hour": T("Pukul berapa? Pilih jamnya", "What time? Choose the hour"),
    "minute": T("Pukul {hour}: pilih menitnya", "{hour} o'clock: choose the minutes"),
    "typed": T("Ketik jam dan menit: 4 angka", "Type hours and minutes: 4 digits"),
}
OTHER_HOUR = T("Jam lain", "Other hour")
TYPE_IT = T("Ketik tepat", "Type it exactly")
PICK_IT = T("Pilih jam", "Pick the hour")
UNKNOWN = T("Tidak tahu", "Not known")
MSG = {
    "short": T("Ketik 4 angka, contoh 14 37.", "Type 4 digits, e.g. 14 37."),
    "no_time": T(
        "Jam 00 sampai 23, menit 00 sampai 59. Periksa lagi.",
        "Hours 00 to 23, minutes 00 to 59. Check it again.",
    ),
}


def typed_time(digits: str) -> tuple[str | None, Text | None]:
    """'HH:MM' of four typed digits, or the citizen's message why it is none."""
    if len(digits) != DIGITS or not (digits.isascii() and digits.isdigit()):
        return None, MSG["short"]
    value = f"{digits[:2]}:{digits[2:]}"
    return (value, None) if parse_hhmm(value) else (None, MSG["no_time"])


def typed_display(digits: str) -> str:
    """The digits typed so far in their places: '14' -> '14 . _ _'."""
    shown = (digits + "_" * DIGITS)[:DIGITS]
    return f"{shown[:2]} . {shown[2:]}"


class TimeGrid(BoxLayout):
    """A prompt, the grid of hours or of minutes (or the typed digits and their pad), and the
    buttons to another hour, to typing, and "Tidak tahu" where the time is optional."""

    value = StringProperty("")
    lang = StringProperty("id")
    optional = BooleanProperty(False)
    stage = OptionProperty("hour", options=STAGES)
    digits = StringProperty("")
    prompt = StringProperty("")
    error = StringProperty("")
    __events__ = ("on_done",)

    def __init__(self, **kwargs: Any) -> None:
        """Build the parts once (cells are reused from stage to stage)."""
        theme.track_window()
        super().__init__(**kwargs)
        self.hour = 8
        self.prompt_label = ThemedLabel(font_role="body")
        self.prompt_label.pilot_id = "time_prompt"
        self.grid = GridLayout(cols=6, spacing=theme.spacing, size_hint_y=None)
        self.grid.row_force_default = True
        self.grid.bind(minimum_height=self.grid.setter("height"))
        self.filler = Widget()
        self.cells = [self._button(self.choose) for _ in range(24)]
        self.display = ThemedLabel(font_role="key")
        self.display.pilot_id = "time_typed"
        self.pad = OnScreenKeyboard(mode="digits", size_hint_y=None, compact=True)
        self.pad.pilot_id = "time_pad"
        self.pad.bind(on_key=self._key)
        self.up = self._button(lambda _a: self.go_up(), "time_up")
        self.switch = self._button(lambda _a: self.toggle_typing(), "time_switch")
        self.unknown = self._button(lambda _a: self.not_known(), "time_unknown")
        self.bar = BoxLayout(orientation="horizontal", spacing=theme.spacing * 2)
        self.bar.size_hint_y = None
        self._bar_height()
        theme.follow(touch=self._bar_height, revision=self._show)
        self.bind(value=self._show, lang=self._show, stage=self._show, digits=self._show)
        self.bind(error=self._show, optional=self._show)
        self.reset()

    def _button(self, then: Any, pilot_id: str = "") -> GridCell:
        cell = GridCell(kind="secondary", size_hint=(1, 1), auto_height=False)
        cell.bind(on_release=lambda b: then(b.action))
        if pilot_id:  # a bar button: three may share the bar's width
            cell.pilot_id, cell.font_role = pilot_id, "small"
        return cell

    def _bar_height(self, *_args: Any) -> None:
        self.bar.height = self.grid.row_default_height = theme.touch

    def on_done(self) -> None:
        """The time is complete (or declared unknown)."""

    # -- state -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Open on the chosen time's minutes, else on the hours."""
        parsed = parse_hhmm(self.value)
        self.digits, self.error = "", ""
        if parsed is not None:
            self.hour = parsed[0]
        stage = "minute" if parsed is not None else "hour"
        if self.stage == stage:
            self._show()
        self.stage = stage

    # -- touches -----------------------------------------------------------------------------
    def choose(self, action: str) -> None:
        """One touch on a cell: an hour opens its minutes, a minute completes the time."""
        kind, _, number = action.partition(":")
        n = int(number)
        if kind == "hour":
            self.hour, self.stage = n, "minute"
        elif kind == "minute":
            self.value = f"{self.hour:02d}:{n:02d}"
            self.dispatch("on_done")
        else:
            raise ValueError(f"unknown time action {action!r}")

    def go_up(self) -> None:
        """From the minutes back to the hours."""
        self.stage = "hour"

    def toggle_typing(self) -> None:
        """Between typing the digits and picking on the grid."""
        if self.stage == "typed":
            self.reset()
        else:
            self.digits, self.error = "", ""
            self.stage = "typed"

    def not_known(self) -> None:
        """ "Tidak tahu": no time (only offered where the time is optional)."""
        self.value = ""
        self.dispatch("on_done")

    def _key(self, _pad: Any, key: str) -> None:
        if key == "backspace":
            self.digits, self.error = self.digits[:-1], ""
        elif key.isdigit() and len(self.digits) < DIGITS:
            self.digits, self.error = self.digits + key, ""
        elif key != "done":
            return
        if len(self.digits) == DIGITS or key == "done":  # 4 digits: no OK needed
            value, problem = typed_time(self.digits)
            self.error = problem(self.lang) if problem else ""
            if value is not None:
                self.value = value
                self.dispatch("on_done")

    # -- showing -----------------------------------------------------------------------------
    def _show(self, *_args: Any) -> None:
        lang, stage = self.lang, self.stage
        self.clear_widgets()
        self.bar.clear_widgets()
        prompt = PROMPTS[stage].format(hour=f"{self.hour:02d}")
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
            self._fill_grid(stage)
            self.add_widget(self.grid)
            self.add_widget(self.filler)
        if stage == "minute":
            self.up.text, self.up.action = f"‹  {OTHER_HOUR(lang)}", "up"
            self.bar.add_widget(self.up)
        self.switch.text = (PICK_IT if stage == "typed" else TYPE_IT)(lang)
        self.switch.action = "grid" if stage == "typed" else "typed"
        self.bar.add_widget(self.switch)
        if self.optional:
            self.unknown.text, self.unknown.action = UNKNOWN(lang), "unknown"
            self.bar.add_widget(self.unknown)
        if self.bar.parent is None:
            self.add_widget(self.bar)

    def _fill_grid(self, stage: str) -> None:
        chosen = parse_hhmm(self.value)
        items: list[tuple[str, str, bool]] = []  # (action, text, chosen)
        if stage == "hour":
            for hour in range(24):
                mark = chosen is not None and chosen[0] == hour
                items.append((f"hour:{hour}", f"{hour:02d}", mark))
        else:
            for minute in range(0, 60, MINUTE_STEP):
                mark = chosen == (self.hour, minute)
                items.append((f"minute:{minute}", f"{self.hour:02d}.{minute:02d}", mark))
        self.grid.clear_widgets()
        self.grid.cols = _COLUMNS[stage]
        for cell, (action, text, mark) in zip(self.cells, items, strict=False):
            cell.action, cell.text = action, text
            cell.kind = "primary" if mark else "secondary"
            cell.font_role = "key"
            self.grid.add_widget(cell)


load_kv(__file__)
