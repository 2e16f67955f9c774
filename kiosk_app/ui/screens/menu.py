"""Menu screen: one big tile per service, plus status and printing issued documents."""

from __future__ import annotations

from typing import Any

from kivy.properties import ListProperty

from kiosk_app.services.session.views import SessionView
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import KioskScreen, load_kv, tr
from kiosk_app.ui.screens.endings import end_visit
from kiosk_app.ui.widgets import a11y_texts
from kiosk_app.ui.widgets.buttons import BigButton

# Tiles for features the kiosk does not offer yet: the service answers with a message.
EXTRA_TILES = (
    ("checkin", texts.CHECKIN_TILE),
    ("status", texts.STATUS_TILE),
    ("print", texts.PRINT_TILE),
)
BUILT_EXTRAS = frozenset({"checkin", "status", "print"})  # the others still answer with a message


class MenuScreen(KioskScreen):
    """Choose what to apply for."""

    prompt_text = a11y_texts.MENU
    tiles = ListProperty([])

    def update(self, view: SessionView) -> None:
        """Rebuild the tiles when the catalogue or the language changed."""
        rows: list[tuple[str, str, bool]] = [
            (s.key, tr(s.title, view.language), s.form is not None) for s in view.services
        ]
        rows += [(key, tr(title, view.language), key in BUILT_EXTRAS) for key, title in EXTRA_TILES]
        if rows != self.tiles:
            self.tiles = rows
            self._build()

    def _build(self) -> None:
        grid = self.ids.grid
        grid.clear_widgets()
        for key, title, available in self.tiles:
            note = "" if available else "\n" + self._note(key)
            tile = BigButton(
                text=title + note,
                kind="primary" if available else "secondary",
                size_hint_y=1,
                auto_height=False,
            )
            tile.pilot_id = f"service_{key}"
            tile.bind(on_release=self._chosen(key))
            grid.add_widget(tile)

    def _note(self, key: str) -> str:
        if key in dict(EXTRA_TILES):
            return self.t(texts.NOT_BUILT_TILE)
        return self.t(texts.NOT_AVAILABLE)

    def end_visit(self) -> None:
        """The citizen ends the visit: asked first (and reminded of the e-KTP)."""
        end_visit(self, always=True)

    def _chosen(self, key: str) -> Any:
        return lambda *_: self.session.choose_service(key)


load_kv("menu")
