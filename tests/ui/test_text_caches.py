"""Kivy's text caches forget what a session showed once it ends."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))

import pytest

pytestmark = pytest.mark.ui

SECRET = "ZZKANARIWATI 3517084506870001"


def cached_keys() -> list[str]:
    from kivy.cache import Cache

    objects = Cache._objects
    return [str(k) for category in ("textinput.label", "textinput.width")
            for k in objects.get(category, {})]  # fmt: skip


def test_forget_text_caches_drops_what_a_text_input_rendered() -> None:
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kivy.uix.textinput import TextInput

    from kiosk_app.ui.app import forget_text_caches

    EventLoop.ensure_window()
    box = TextInput(text=SECRET, size_hint=(None, None), size=(900, 80))
    Window.add_widget(box)
    try:
        for _ in range(3):
            EventLoop.idle()
        assert any(SECRET in key for key in cached_keys())
        forget_text_caches()
        assert not any(SECRET in key for key in cached_keys())
    finally:
        Window.remove_widget(box)
