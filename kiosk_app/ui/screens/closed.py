"""Closed screen: outside opening hours, says in plain words when the kiosk opens again."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import SessionView
from kiosk_app.ui.screens.base import KioskScreen, load_kv, tr
from kiosk_app.ui.widgets.buttons import BigButton  # noqa: F401 - used by the .kv

TITLE = Text("Anjungan sedang tutup", "The kiosk is closed")
HINT = Text(
    "Pengajuan permohonan hanya dapat dilakukan pada jam layanan. Status permohonan tetap "
    "dapat dicek kapan saja.",
    "Applications can be filed during service hours only. You can still check the status of "
    "an application at any time.",
)


class ClosedScreen(KioskScreen):
    """Shown between opening hours instead of the attract screen."""

    reopens_text = StringProperty("")
    simulated = BooleanProperty(False)  # the simulated reader's tap button shows

    def update(self, view: SessionView) -> None:
        """Show when the kiosk opens again."""
        self.reopens_text = tr(view.reopens, view.language)
        self.simulated = view.simulated_reader

    def prompt(self, view: SessionView) -> Text | None:
        """The closing notice and when service resumes."""
        if view.reopens is None:
            return TITLE
        return Text(f"{TITLE.id}. {view.reopens.id}.", f"{TITLE.en}. {view.reopens.en}.")


load_kv("closed")
