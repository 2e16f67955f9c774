"""The plumbing the grid pickers (date, time) share: a prompt that turns red with an error, a
grid stage of one-touch cells, a typed stage (the digits shown in their places beside the bar,
the number pad below), and the bar of buttons one level up and to the other way of entering.

A subclass names its stages, the digit count and its texts, and fills the grid, parses the
typed digits and says what the prompt and the up button read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from kiosk_app.domain.text import Text
from kiosk_app.ui.settle import changed_in_place
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets.buttons import BigButton
from kiosk_app.ui.widgets.keyboard import OnScreenKeyboard
from kiosk_app.ui.widgets.stepper import ThemedLabel


class GridCell(BigButton):
    """One touch in the grid; `action` says what, e.g. "decade:1940", "month:3", "day:4"."""

    action = StringProperty("")


class StageGrid(BoxLayout):
    """A prompt, a grid of touches for the current stage (or the typed digits and their
    number pad), and the bar of buttons. Subclasses add `stage` (an OptionProperty with
    "typed" among its options) and call `_start()` at the end of their `__init__`."""

    value = StringProperty("")
    lang = StringProperty("id")
    digits = StringProperty("")  # typed so far
    prompt = StringProperty("")
    error = StringProperty("")
    __events__ = ("on_done",)
    stage: str  # each subclass's OptionProperty, "typed" among its options

    pilot_prefix = ""  # "date": date_prompt, date_typed, date_pad, date_up, date_switch
    digit_count = 0
    type_it: Text
    pick_it: Text
    bar_font: str | None = None  # the bar buttons' font role, if not the cells'

    def __init__(self, columns: int, cells: int, **kwargs: Any) -> None:
        """Build the parts once (cells are reused from stage to stage)."""
        theme.track_window()
        super().__init__(**kwargs)
        prefix = self.pilot_prefix
        self.prompt_label = ThemedLabel(font_role="body")
        self.prompt_label.pilot_id = f"{prefix}_prompt"
        # every cell one touch target high (the layout check sees that the rows fit)
        self.grid = GridLayout(cols=columns, spacing=theme.spacing, size_hint_y=None)
        self.grid.row_force_default = True
        self.grid.bind(minimum_height=self.grid.setter("height"))
        self.filler = Widget()
        self.cells = [self._button(self.choose) for _ in range(cells)]
        self.display = ThemedLabel(font_role="key")
        self.display.pilot_id = f"{prefix}_typed"
        self.pad = OnScreenKeyboard(mode="digits", size_hint_y=None, compact=True)
        self.pad.pilot_id = f"{prefix}_pad"
        self.pad.bind(on_key=self._key)
        self.up = self._button(lambda _a: self.go_up(), f"{prefix}_up")
        self.switch = self._button(lambda _a: self.toggle_typing(), f"{prefix}_switch")
        self.bar = BoxLayout(orientation="horizontal", spacing=theme.spacing * 2)
        self.bar.size_hint_y = None

    def _start(self) -> None:
        """Follow the theme and the properties, and open on the first stage."""
        self._bar_height()
        theme.follow(touch=self._bar_height, revision=self._show)
        self.bind(value=self._on_value, lang=self._show, stage=self._show, digits=self._show)
        self.bind(error=self._show)
        self.reset()
        # Each next stage (decade to years, a month to its days, the grid to the number pad)
        # shows other buttons where the finger was: a double tap's second tap reaches none.
        self.bind(stage=changed_in_place)

    def _button(self, then: Callable[[str], Any], pilot_id: str = "") -> GridCell:
        cell = GridCell(kind="secondary", size_hint=(1, 1), auto_height=False)
        cell.bind(on_release=lambda b: then(b.action))
        if pilot_id:
            cell.pilot_id = pilot_id
            if self.bar_font:
                cell.font_role = self.bar_font
        return cell

    def _bar_height(self, *_args: Any) -> None:
        self.bar.height = self.grid.row_default_height = theme.touch

    def on_done(self) -> None:
        """A value was chosen: the form moves on to its next field."""

    def _on_value(self, *_args: Any) -> None:
        self._show()

    # -- what a subclass says ----------------------------------------------------------------
    def reset(self) -> None:
        """Open on the stage the value (or its absence) calls for."""
        raise NotImplementedError

    def pick(self, kind: str, n: int) -> bool:
        """One touch on the cell "kind:n"; False for a kind this grid does not know."""
        raise NotImplementedError

    def go_up(self) -> None:
        """One level up."""
        raise NotImplementedError

    def typed_value(self, digits: str) -> tuple[str | None, Text | None]:
        """The value of the typed digits, or the citizen's message why it is none."""
        raise NotImplementedError

    def typed_text(self, digits: str) -> str:
        """The digits typed so far in their places."""
        raise NotImplementedError

    def prompt_text(self, stage: str, lang: str) -> str:
        """What the prompt asks at this stage."""
        raise NotImplementedError

    def up_text(self, stage: str, lang: str) -> str | None:
        """The up button's text at this stage, or None where there is no level up."""
        raise NotImplementedError

    def _fill_grid(self, stage: str, lang: str) -> None:
        raise NotImplementedError

    def _more_buttons(self, lang: str) -> None:
        """Add buttons after the switch to the bar (none by default)."""

    # -- touches -----------------------------------------------------------------------------
    def choose(self, action: str) -> None:
        """One touch on a cell, its action "kind:number"."""
        kind, _, number = action.partition(":")
        if not self.pick(kind, int(number)):
            raise ValueError(f"unknown {self.pilot_prefix} action {action!r}")

    def _open_on(self, stage: str) -> None:
        """Show `stage` afresh (even when it is the one shown)."""
        if self.stage == stage:
            self._show()
        self.stage = stage

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
        elif key.isdigit() and len(self.digits) < self.digit_count:
            self.digits, self.error = self.digits + key, ""
        elif key != "done":
            return
        if len(self.digits) == self.digit_count or key == "done":  # all digits: no OK needed
            value, problem = self.typed_value(self.digits)
            self.error = problem(self.lang) if problem else ""
            if value is not None:
                self.value = value
                self.dispatch("on_done")

    # -- showing -----------------------------------------------------------------------------
    def _show(self, *_args: Any) -> None:
        lang, stage = self.lang, self.stage
        self.clear_widgets()
        self.bar.clear_widgets()
        self.prompt = self.error or self.prompt_text(stage, lang)
        self.prompt_label.text = self.prompt
        self.prompt_label.color = theme.danger if self.error else theme.text
        self.add_widget(self.prompt_label)
        # the pad is tall: in large text, prompt, digits and pad fit with tighter gaps
        self.spacing = theme.spacing * (1 if stage == "typed" else 2)
        self.prompt_label.font_role = "small" if stage == "typed" else "body"
        if stage == "typed":
            self.display.text = self.typed_text(self.digits)
            self.pad.lang = lang
            # the digits beside the switch, above the pad: the pad keeps its room
            self.bar.add_widget(self.display)
            self.add_widget(self.bar)
            self.add_widget(self.pad)
        else:
            self._fill_grid(stage, lang)
            self.add_widget(self.grid)
            self.add_widget(self.filler)
        up = self.up_text(stage, lang)
        if up is not None:
            self.up.text, self.up.action = f"‹  {up}", "up"
            self.bar.add_widget(self.up)
        self.switch.text = (self.pick_it if stage == "typed" else self.type_it)(lang)
        self.switch.action = "grid" if stage == "typed" else "typed"
        self.bar.add_widget(self.switch)
        self._more_buttons(lang)
        if self.bar.parent is None:
            self.add_widget(self.bar)

    def _place_cells(self, items: list[tuple[str, str, bool]], font_role: str) -> None:
        """Show the cells `items` (action, text, chosen) in the grid."""
        self.grid.clear_widgets()
        for cell, (action, text, mark) in zip(self.cells, items, strict=False):
            cell.action, cell.text = action, text
            cell.kind = "primary" if mark else "secondary"
            cell.font_role = font_role
            self.grid.add_widget(cell)
