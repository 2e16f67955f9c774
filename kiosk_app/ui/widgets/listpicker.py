"""A long list of usual answers (the occupations of the register) as big buttons, a page at a
time with ◀ ▶, and "Lainnya (ketik)" for an answer not in it: one touch instead of typing.

`value` is the chosen answer's key; `on_done` fires when one is touched, `on_other` when the
citizen asks to type another (the form then shows its keyboard).
"""

from __future__ import annotations

from typing import Any

from kivy.properties import ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from kiosk_app.domain.text import Text
from kiosk_app.ui.settle import changed_in_place
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.buttons import BigButton, ChoiceButton
from kiosk_app.ui.widgets.stepper import ThemedLabel

T = Text
COLUMNS = 2
ROWS = 4  # a page: rows two lines high (every label fits two lines, in large text as well)
ROW_TOUCHES = 1.5  # a row's height in touch targets
OTHER = T("Lainnya (ketik)", "Other (type it)")


class ListPicker(BoxLayout):
    """A page of answers, the page's number, ◀ ▶ to the other pages, and "Lainnya (ketik)"."""

    choices = ListProperty([])  # (key, Text)
    value = StringProperty("")
    lang = StringProperty("id")
    page = NumericProperty(0)
    __events__ = ("on_done", "on_other")

    def __init__(self, **kwargs: Any) -> None:
        """Build the cells and the bar once (reused from field to field)."""
        theme.track_window()
        super().__init__(**kwargs)
        self.grid = GridLayout(cols=COLUMNS, spacing=theme.spacing, size_hint_y=None)
        self.grid.row_force_default = True
        self.grid.bind(minimum_height=self.grid.setter("height"))
        self.cells = [self._cell() for _ in range(COLUMNS * ROWS)]
        self.filler = Widget()
        self.prev = self._bar_button("◀", "list_prev", lambda: self.turn(-1))
        self.next = self._bar_button("▶", "list_next", lambda: self.turn(1))
        self.other = self._bar_button("", "list_other", lambda: self.dispatch("on_other"))
        self.other.size_hint_x = 2.4
        self.page_label = ThemedLabel(font_role="small")  # "2 / 11"
        self.page_label.pilot_id = "list_page"
        self.bar = BoxLayout(orientation="horizontal", spacing=theme.spacing * 2)
        self.bar.size_hint_y = None
        for widget in (self.prev, self.page_label, self.next, self.other):
            self.bar.add_widget(widget)
        self._heights()
        theme.follow(touch=self._heights, revision=self._show)
        self.bind(choices=self.show_value, value=self._show, lang=self._show, page=self._show)
        self.add_widget(self.grid)
        self.add_widget(self.filler)
        self.add_widget(self.bar)
        self._show()

    def _cell(self) -> ChoiceButton:
        cell = ChoiceButton(size_hint=(1, 1), auto_height=False)
        cell.bind(on_release=self._chosen)
        return cell

    def _bar_button(self, text: str, pilot_id: str, then: Any) -> BigButton:
        button = BigButton(text=text, kind="secondary", size_hint=(1, 1), auto_height=False)
        button.font_role = "small"
        button.pilot_id = pilot_id
        button.bind(on_release=lambda _b: then())
        return button

    def _heights(self, *_args: Any) -> None:
        self.bar.height = theme.touch
        self.grid.row_default_height = round(theme.touch * ROW_TOUCHES)

    def on_done(self) -> None:
        """An answer was touched."""

    def on_other(self) -> None:
        """ "Lainnya (ketik)" was touched."""

    # -- pages -------------------------------------------------------------------------------
    @property
    def pages(self) -> int:
        """How many pages the list takes."""
        size = COLUMNS * ROWS
        return max(1, -(-len(self.choices) // size))

    def show_value(self, *_args: Any) -> None:
        """Open on the page holding the chosen answer (the first page when there is none)."""
        keys = [key for key, _label in self.choices]
        index = keys.index(self.value) if self.value in keys else 0
        page = index // (COLUMNS * ROWS)
        if self.page == page:
            self._show()
        self.page = page

    def turn(self, step: int) -> None:
        """One page on (+1) or back (-1), going round at the ends."""
        self.page = (int(self.page) + step) % self.pages
        changed_in_place()  # a double tap on ▶ turns one page, and picks nothing on it

    def _chosen(self, cell: ChoiceButton) -> None:
        self.value = cell.choice_key
        self.dispatch("on_done")

    # -- showing -----------------------------------------------------------------------------
    def _show(self, *_args: Any) -> None:
        size = COLUMNS * ROWS
        start = int(self.page) * size
        shown = list(self.choices)[start : start + size]
        self.grid.clear_widgets()
        for cell, (key, label) in zip(self.cells, shown, strict=False):
            cell.choice_key, cell.label, cell.lang = key, label, self.lang
            cell.selected = key == self.value
            self.grid.add_widget(cell)
        several = self.pages > 1
        self.prev.disabled = self.next.disabled = not several
        self.other.text = OTHER(self.lang)
        self.page_label.text = f"{int(self.page) + 1} / {self.pages}" if several else ""


load_kv(__file__)
