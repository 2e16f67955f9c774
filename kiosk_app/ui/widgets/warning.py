"""Modal asking an idle citizen whether they are still there, with a countdown."""

from __future__ import annotations

from typing import Any

from kivy.properties import AliasProperty, NumericProperty, StringProperty
from kivy.uix.modalview import ModalView

from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import buttons as _buttons  # noqa: F401  (loads BigButton's kv rule)
from kiosk_app.ui.widgets import stepper as _stepper  # noqa: F401  (loads ThemedLabel's kv rule)
from kiosk_app.ui.widgets import strings
from kiosk_app.ui.widgets._kv import load_kv


class InactivityWarning(ModalView):
    """Shows "Are you still there?" and a countdown; one huge button fires on_still_here."""

    seconds_left = NumericProperty(30)
    lang = StringProperty("id")

    __events__ = ("on_still_here",)

    def __init__(self, **kwargs: Any) -> None:
        """Create the warning (it never closes by tapping outside)."""
        theme.track_window()
        kwargs["auto_dismiss"] = False
        super().__init__(**kwargs)

    def _get_question(self) -> str:
        """Return the question in the current language."""
        return strings.STILL_THERE(self.lang)

    def _get_countdown(self) -> str:
        """Return the countdown sentence for `seconds_left`."""
        seconds = max(0, int(round(self.seconds_left)))
        return strings.COUNTDOWN.format(seconds=seconds)(self.lang)

    def _get_button(self) -> str:
        """Return the button caption in the current language."""
        return strings.I_AM_HERE(self.lang)

    question_text = AliasProperty(_get_question, None, bind=["lang"], cache=True)
    countdown_text = AliasProperty(_get_countdown, None, bind=["lang", "seconds_left"], cache=True)
    button_text = AliasProperty(_get_button, None, bind=["lang"], cache=True)

    @property
    def still_here_button(self) -> Any:
        """Return the big "I am still here" button."""
        return self.ids.still_here

    def on_still_here(self) -> None:
        """Default handler: close the warning."""
        self.dismiss(animation=False)


load_kv(__file__)
