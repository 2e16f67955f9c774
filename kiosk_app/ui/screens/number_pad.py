"""The registration number pad the status check and the check-in share: one button per service
prefix above the on-screen keypad, whose "done" key says what it does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from kiosk_app.domain.registration import PREFIXES
from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import NumberPadView
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.widgets.buttons import BigButton

# In large text the entry is as wide as the widest registration number
# (docs/registration-numbers.md: the longest prefix, digits all equally wide).
WIDEST_NUMBER = "AKTA-00.00.000000.0000"


def add_prefix_buttons(
    row: Any, id_prefix: str, chosen: Any, label: Callable[[str], str] = str
) -> None:
    """One big button per service prefix in `row`, showing `label(prefix)`; `chosen(prefix)`
    on a touch."""
    for prefix, _service in PREFIXES:
        button = BigButton(
            text=label(prefix),
            kind="secondary",
            size_hint=(1, 1),
            auto_height=False,
            font_role="small",
        )
        button.pilot_id = f"{id_prefix}{prefix}"
        button.prefix = prefix
        button.bind(on_release=lambda b: chosen(b.prefix))
        row.add_widget(button)


def relabel_prefixes(row: Any, label: Callable[[str], str]) -> None:
    """Each prefix button shows `label(prefix)` again (after a change of language)."""
    for button in row.children:
        button.text = label(button.prefix)


def show_prefix(row: Any, prefix: str) -> None:
    """The chosen prefix's button stands out."""
    for button in row.children:
        button.kind = "primary" if button.prefix == prefix else "secondary"


def label_done_key(keypad: Any, label: Text) -> None:
    """The keypad's "done" key says `label` in the keypad's language, whenever it relabels."""

    def relabel(_dt: float) -> None:
        for key in keypad.keys:
            if key.key == "done":
                key.text = label(keypad.lang)

    def later(*_args: Any) -> None:
        Clock.schedule_once(relabel, 0)  # after the keypad's own labelling

    keypad.bind(keys=later, lang=later)
    later()


class NumberPadScreen(KioskScreen):
    """A screen with the number pad (its .kv has `prefixes` and `keypad`): the number typed,
    the chosen prefix, whether the look-up runs, and whether its answer is shown."""

    entry = StringProperty("")
    prefix = StringProperty("")
    loading = BooleanProperty(False)
    has_card = BooleanProperty(False)
    has_result = BooleanProperty(False)

    def show_typing(self, pad: NumberPadView) -> None:
        """The number as typed so far, its prefix's button standing out, the look-up's progress."""
        self.entry = pad.entry
        if pad.prefix != self.prefix:
            self.prefix = pad.prefix
            show_prefix(self.ids.prefixes, pad.prefix)
        self.loading = pad.loading
