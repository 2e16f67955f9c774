"""Reading screen: the chip is being read; the card must stay on the reader."""

from __future__ import annotations

from kiosk_app.domain.speech import join
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import KioskScreen, load_kv


class ReadingCardScreen(KioskScreen):
    """Shown while the e-KTP is read (a few seconds)."""

    prompt_text = join(texts.READING, texts.KEEP_CARD)


load_kv("reading_card")
