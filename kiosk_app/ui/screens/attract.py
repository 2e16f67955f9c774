"""Attract screen: invites the citizen to place the e-KTP; language choice; simulator button."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.animation import Animation
from kivy.properties import BooleanProperty, NumericProperty
from kivy.uix.widget import Widget

from kiosk_app.domain.speech import join
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import KioskScreen, load_kv
from kiosk_app.ui.widgets import a11y_texts
from kiosk_app.ui.widgets.buttons import BigButton  # noqa: F401 - used by the .kv

if TYPE_CHECKING:
    from kiosk_app.services.session.views import SessionView


class CardReaderArt(Widget):
    """A card hovering over a reader, drawn with canvas instructions."""

    lift = NumericProperty(0.0)  # 0..1, animated so the card seems to come down


class AttractScreen(KioskScreen):
    """The idle screen between citizens."""

    prompt_text = join(texts.PLACE_CARD, texts.PLACE_CARD_HINT, a11y_texts.ATTRACT)
    reader_available = BooleanProperty(True)
    simulated = BooleanProperty(False)

    def update(self, view: SessionView) -> None:
        """Show reader availability, the last message and the simulator button."""
        self.reader_available = view.reader_available
        self.simulated = view.simulated_reader

    def on_enter(self, *_args: Any) -> None:
        """Start the gentle card animation."""
        art = self.ids.get("art")
        if art is not None:
            Animation.cancel_all(art)
            anim = Animation(lift=1.0, duration=1.2, t="in_out_sine") + Animation(
                lift=0.0, duration=1.2, t="in_out_sine"
            )
            anim.repeat = True
            anim.start(art)

    def halt(self) -> None:
        """Stop animating while hidden."""
        super().halt()
        art = self.ids.get("art")
        if art is not None:
            Animation.cancel_all(art)


load_kv("attract")
