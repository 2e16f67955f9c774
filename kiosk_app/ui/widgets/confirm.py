"""Modal asking the citizen to confirm an action that discards work or ends the visit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import StringProperty
from kivy.uix.modalview import ModalView

from kiosk_app.domain.text import Text
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import buttons as _buttons  # noqa: F401  (loads BigButton's kv rule)
from kiosk_app.ui.widgets import stepper as _stepper  # noqa: F401  (loads ThemedLabel's kv rule)
from kiosk_app.ui.widgets._kv import load_kv


class ConfirmDialog(ModalView):
    """A question, what it means, and two big answers: the safe one ("no") is the loud one."""

    question_text = StringProperty("")
    detail_text = StringProperty("")
    yes_text = StringProperty("")
    no_text = StringProperty("")

    __events__ = ("on_yes", "on_no")

    def __init__(self, **kwargs: Any) -> None:
        """Create the dialog (a tap outside it does not close it: an answer is needed)."""
        theme.track_window()
        kwargs["auto_dismiss"] = False
        super().__init__(**kwargs)

    def on_yes(self) -> None:
        """Default handler: close the dialog."""
        self.dismiss(animation=False)

    def on_no(self) -> None:
        """Default handler: close the dialog."""
        self.dismiss(animation=False)


def ask(
    question: Text,
    detail: Text | None,
    yes: Text,
    no: Text,
    lang: str,
    on_yes: Callable[[], None],
    manager: Any = None,
) -> ConfirmDialog:
    """Open a confirmation; `on_yes` runs only when the citizen said yes. With a ScreenManager
    `manager` it closes by itself when another screen shows (the visit ended meanwhile)."""
    code = "en" if lang == "en" else "id"
    dialog = ConfirmDialog(
        question_text=question(code),
        detail_text=detail(code) if detail is not None else "",
        yes_text=yes(code),
        no_text=no(code),
    )
    dialog.pilot_id = "confirm"
    dialog.ids.yes.pilot_id = "confirm_yes"
    dialog.ids.no.pilot_id = "confirm_no"

    def said_yes(*_args: Any) -> None:
        on_yes()

    def screen_changed(*_args: Any) -> None:
        dialog.dismiss(animation=False)

    def closed(*_args: Any) -> None:
        # A closed dialog holds nothing of the visit: Kivy may keep the widget a while, and
        # its answer would keep the session (and through it the whole app) alive with it.
        dialog.unbind(on_yes=said_yes, on_dismiss=closed)
        if manager is not None:
            manager.unbind(current=screen_changed)

    dialog.bind(on_yes=said_yes, on_dismiss=closed)
    if manager is not None:
        manager.bind(current=screen_changed)
    dialog.open(animation=False)
    return dialog


load_kv(__file__)
