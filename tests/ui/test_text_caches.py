"""Kivy's text caches forget what a session showed once it ends, and what they held before
never changes how a text is laid out."""

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


HEADING = "Opens again Monday, 30 November 2026 at 08.00"  # the closed screen, large English


def test_a_font_just_opened_lays_out_a_heading_as_it_is_drawn() -> None:
    """Kivy shares one font object per size and file (64 kept, first in first out) and gives it
    a label's script only when it draws (a frame after the label was laid out): one just
    (re)opened measured unkerned, and the closed screen's centred first line sat 4 px off
    (kiosk_app/ui/text_shaping.py). The same heading laid out before and after it was drawn."""
    from kivy.base import EventLoop
    from kivy.core.text import Label as CoreLabel
    from kivy.core.window import Window
    from kivy.uix.label import Label

    from kiosk_app.ui.text_shaping import shape_as_drawn
    from kiosk_app.ui.theme import theme

    assert shape_as_drawn()  # SDL_ttf found and told (a Kivy upgrade may move it)
    EventLoop.ensure_window()
    size = 65.015625  # opened at 65 px under a key (str(size)) no other test uses
    for other in range(64):  # every other font object the cache held goes first
        CoreLabel(font_name=theme.font_name_bold, font_size=200 + other / 64).get_extents("x")
    widths = []
    for _ in range(2):  # the font object just opened, then drawn once
        label = Label(text=HEADING, font_name=theme.font_name_bold, font_size=size)
        label.size_hint = (None, None)
        label.size = label.text_size = (1202, 200)
        label.halign = "center"
        Window.add_widget(label)
        try:
            for _ in range(3):
                EventLoop.idle()
            widths.append([line.w for line in label._label._cached_lines])
        finally:
            Window.remove_widget(label)
    assert widths[0] == widths[1]
    unkerned = CoreLabel(font_name=theme.font_name_bold, font_size=65, font_kerning=False)
    one_by_one = sum(unkerned.get_extents(c)[0] for c in "Opens again Monday, 30")
    assert len(widths[0]) == 2 and widths[0][0] < one_by_one  # kerned ("ay", "y,"), as drawn
