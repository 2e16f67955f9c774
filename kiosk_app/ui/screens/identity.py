"""Identity screen: greets the card holder with photo, name and masked NIK."""

from __future__ import annotations

import io
import logging

from kivy.core.image import Image as CoreImage
from kivy.properties import ObjectProperty, StringProperty

from kiosk_app.services.session.views import SessionView
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import KioskScreen, load_kv
from kiosk_app.ui.widgets import a11y_texts
from kiosk_app.ui.widgets.buttons import BigButton  # noqa: F401 - used by the .kv

log = logging.getLogger(__name__)


class IdentityScreen(KioskScreen):
    """Who is at the kiosk; "Lanjut" opens the menu."""

    prompt_text = a11y_texts.IDENTITY  # the name is never said aloud in a lobby
    name_text = StringProperty("")
    nik_text = StringProperty("")
    greeting = StringProperty("")
    photo = ObjectProperty(None, allownone=True)
    _photo_bytes = b""

    def update(self, view: SessionView) -> None:
        """Show the holder's photo, name and masked NIK."""
        self.name_text = view.name
        self.nik_text = view.masked_nik
        self.greeting = texts.WELCOME_BY_SEX.get(view.holder_sex, texts.WELCOME)(view.language)
        if view.photo_jpeg != self._photo_bytes:
            self._photo_bytes = view.photo_jpeg
            self.photo = self._texture(view.photo_jpeg)

    def left(self) -> None:
        """Forget everything personal once the citizen moved on."""
        self.name_text = ""
        self.nik_text = ""
        self.greeting = ""
        self.photo = None
        self._photo_bytes = b""

    @staticmethod
    def _texture(jpeg: bytes) -> object:
        if not jpeg:
            return None
        try:
            return CoreImage(io.BytesIO(jpeg), ext="jpg").texture
        except Exception:  # a broken photo must not block the citizen
            log.warning("identity photo could not be decoded")
            return None


load_kv("identity")
