"""Submitting screen: the pre-application is sent and printed."""

from __future__ import annotations

from kiosk_app.domain.speech import join
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import KioskScreen, load_kv


class SubmittingScreen(KioskScreen):
    """Shown while sending and printing."""

    prompt_text = join(texts.SUBMITTING, texts.PLEASE_WAIT)


load_kv("submitting")
