"""Goodbye screen: thanks and reminders; the service returns to the attract screen itself."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import SessionView
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import KioskScreen, load_kv, tr


class GoodbyeScreen(KioskScreen):
    """The end of a session."""

    goodbye_text = StringProperty("")

    def update(self, view: SessionView) -> None:
        """Show the goodbye message."""
        self.goodbye_text = tr(view.goodbye or texts.GOODBYE_DEFAULT, view.language)

    def prompt(self, view: SessionView) -> Text | None:
        """The goodbye itself."""
        return view.goodbye or texts.GOODBYE_DEFAULT


load_kv("goodbye")
