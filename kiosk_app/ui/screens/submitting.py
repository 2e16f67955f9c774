"""Submitting screen: the pre-application is sent and printed."""

from __future__ import annotations

from kiosk_app.ui.screens.base import KioskScreen, load_kv


class SubmittingScreen(KioskScreen):
    """Shown while sending and printing."""


load_kv("submitting")
