"""Review screen: every answer, the chosen slot, "Ubah" per page and "Kirim"."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk_app.domain.speech import join
from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import SessionView
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import KioskScreen, load_kv, scroll_by, tr
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import a11y_texts
from kiosk_app.ui.widgets.buttons import BigButton

SCROLL_STEP = 0.6  # share of the visible height one scroll button moves


class ReviewRow(BoxLayout):
    """One (label, value) line of the summary."""

    label_text = StringProperty("")
    value_text = StringProperty("")


class ReviewScreen(KioskScreen):
    """Check before sending; big scroll buttons instead of swiping."""

    slot_text = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        """Nothing shown yet."""
        super().__init__(**kwargs)
        self._shown: tuple[Any, ...] | None = None
        self._view: SessionView | None = None
        theme.bind(large_text=self._on_large_text)  # a bound method: Kivy holds it weakly

    def _on_large_text(self, *_args: Any) -> None:
        if self._view is not None:  # the "Ubah" buttons change shape with large text
            self._shown = None
            self.update(self._view)

    def prompt(self, view: SessionView) -> Text | None:
        """Check, the chosen date, send or change."""
        slot = (
            Text(texts.slot_text(view.slot, "id"), texts.slot_text(view.slot, "en"))
            if view.slot
            else None
        )
        return join(texts.REVIEW_TITLE, texts.CHOSEN_SLOT_LABEL, slot, a11y_texts.REVIEW)

    def update(self, view: SessionView) -> None:
        """Fill the summary, the slot and the "Ubah" buttons."""
        self._view = view
        self.slot_text = texts.slot_text(view.slot, view.language) if view.slot else ""
        pages = view.service.form.pages if view.service and view.service.form else ()
        key = (view.summary, view.language, tuple(p.key for p in pages), self.slot_text)
        if key == self._shown:
            return
        self._shown = key
        rows = self.ids.rows
        rows.clear_widgets()
        if self.slot_text:  # the summary's first row: beside it, the slot pushed the buttons up
            rows.add_widget(
                ReviewRow(
                    label_text=tr(texts.CHOSEN_SLOT_LABEL, view.language), value_text=self.slot_text
                )
            )
        for label, value in view.summary:
            rows.add_widget(ReviewRow(label_text=label, value_text=value))
        edits = self.ids.edits
        edits.clear_widgets()
        for index, page in enumerate(pages):
            # large text: two columns, wrapped at full size (the slot made room for them)
            button = BigButton(
                text=tr(page.title, view.language),
                kind="secondary",
                font_role="small",
                size_hint_x=1,
            )
            button.pilot_id = f"edit_{index}"
            button.bind(on_release=self._edit(index))
            edits.add_widget(button)
        self.ids.scroll.scroll_y = 1

    def _edit(self, index: int) -> Any:
        return lambda *_: self.session.edit_page(index)

    def scroll(self, direction: int) -> None:
        """Move the summary by most of a screenful (+1 down, -1 up)."""
        scroll_by(self.ids.scroll, self.ids.rows.height, direction, SCROLL_STEP)

    def left(self) -> None:
        """Drop the personal data shown."""
        self._shown = self._view = None
        self.ids.rows.clear_widgets()
        self.ids.edits.clear_widgets()
        self.slot_text = ""


load_kv("review")
