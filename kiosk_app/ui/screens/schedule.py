"""Schedule screen: choose the verification date and window from the open slots."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty

from kiosk_app.domain.speech import join
from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import SessionView
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import KioskScreen, load_kv, scroll_by
from kiosk_app.ui.widgets import a11y_texts
from kiosk_app.ui.widgets.buttons import BigButton


class ScheduleScreen(KioskScreen):
    """One big button per open slot."""

    loading = BooleanProperty(False)
    empty = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        """No slots shown yet."""
        super().__init__(**kwargs)
        self._shown: tuple[Any, ...] | None = None

    def prompt(self, view: SessionView) -> Text | None:
        """The title and hint, then loading, no dates, or the earliest open date."""
        first = next((s.slot for s in view.slots if s.remaining > 0), None)
        state = (
            texts.SLOTS_LOADING if view.slots_loading else (None if view.slots else texts.NO_SLOTS)
        )
        if first is not None:
            slot = Text(texts.slot_text(first, "id"), texts.slot_text(first, "en"))
            state = join(
                a11y_texts.SCHEDULE,
                Text(
                    a11y_texts.FIRST_SLOT.id.format(slot=slot.id),
                    a11y_texts.FIRST_SLOT.en.format(slot=slot.en),
                ),
            )
        return join(texts.SCHEDULE_TITLE, texts.SCHEDULE_HINT, state)

    def update(self, view: SessionView) -> None:
        """Show the loading indicator, the slots, or a message when there are none."""
        self.loading = view.slots_loading
        self.empty = not view.slots_loading and not view.slots and not view.message
        key = (view.slots, view.language)
        if key != self._shown:
            self._shown = key
            self._build(view)

    def _build(self, view: SessionView) -> None:
        box = self.ids.slots
        box.clear_widgets()
        for index, item in enumerate(view.slots):
            button = BigButton(
                text=texts.slot_text(item.slot, view.language, item.remaining),
                kind="primary" if item.remaining > 0 else "disabled-look",
                disabled=item.remaining <= 0,
            )
            button.pilot_id = f"slot_{index}"
            button.bind(on_release=self._chosen(item.slot))
            box.add_widget(button)
        self.ids.scroll.scroll_y = 1

    def scroll(self, direction: int) -> None:
        """The ▲/▼ buttons."""
        scroll_by(self.ids.scroll, self.ids.slots.height, direction)

    def _chosen(self, slot: Any) -> Any:
        return lambda *_: self.session.choose_slot(slot)

    def left(self) -> None:
        """Slots are re-read next time."""
        self._shown = None
        self.ids.slots.clear_widgets()


load_kv("schedule")
