"""Rounded backgrounds as nine-patches: the pixels, and buttons drawn with one instruction."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk_app.ui.widgets.rounded import nine_patch_border, rounded_pixels

pytestmark = pytest.mark.ui

RED = (1.0, 0.0, 0.0, 1.0)
BLUE = (0.0, 0.0, 1.0, 1.0)


def pixel(data: bytes, size: int, col: int, row: int) -> tuple[int, ...]:
    """RGBA of one pixel of a `rounded_pixels` image."""
    at = (row * size + col) * 4
    return tuple(data[at : at + 4])


def test_fill_border_and_transparent_corners() -> None:
    size, data = rounded_pixels(RED, BLUE, radius=8, border_px=2)
    assert size == 2 * nine_patch_border(8, 2)[0] + 2
    mid = size // 2
    assert pixel(data, size, mid, mid) == (255, 0, 0, 255)  # the middle is the fill
    assert pixel(data, size, 0, mid) == (0, 0, 255, 255)  # the left edge is the border
    assert pixel(data, size, 1, mid) == (0, 0, 255, 255)
    assert pixel(data, size, 3, mid) == (255, 0, 0, 255)  # inside the 2-pixel border
    assert pixel(data, size, 0, 0)[3] == 0  # the rounded-off corner is transparent
    # the corner's antialiased rim keeps the border's colour (no dark fringe when filtered)
    rim = [pixel(data, size, c, r) for r in range(3) for c in range(3)]
    assert any(0 < p[3] < 255 for p in rim)
    assert all(p[:3] == (0, 0, 255) for p in rim if p[3] < 255)


def test_an_outline_has_a_clear_middle() -> None:
    size, data = rounded_pixels((1.0, 1.0, 1.0, 0.0), BLUE, radius=6, border_px=3)
    mid = size // 2
    assert pixel(data, size, mid, mid)[3] == 0
    assert pixel(data, size, 0, mid) == (0, 0, 255, 255)


@given(st.floats(0, 40), st.floats(0, 12))
def test_the_stretched_middle_is_a_straight_edge(radius: float, border_px: float) -> None:
    """The nine-patch stretches the middle rows and columns: every one of them must look like
    the middle of a straight edge, or a wide button would show smears."""
    size, data = rounded_pixels(RED, BLUE, radius, border_px)
    edge = nine_patch_border(radius, border_px)[0]
    middle = range(edge, size - edge)
    assert pixel(data, size, edge, edge) == (255, 0, 0, 255)  # what stretches is the fill
    for row in middle:
        assert [pixel(data, size, c, row) for c in range(size)] == [
            pixel(data, size, c, edge) for c in range(size)
        ]
    for col in middle:
        assert [pixel(data, size, col, r) for r in range(size)] == [
            pixel(data, size, edge, r) for r in range(size)
        ]


def test_a_button_is_one_nine_patch_and_its_text() -> None:
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kivy.graphics import BorderImage, Line, RoundedRectangle

    from kiosk_app.ui.theme import theme
    from kiosk_app.ui.widgets.buttons import BigButton
    from kiosk_app.ui.widgets.rounded import rounded_texture

    EventLoop.ensure_window()
    button = BigButton(text="Lanjut", size_hint=(None, None), size=(300, 90))
    Window.add_widget(button)
    try:
        for _ in range(3):
            EventLoop.idle()
        drawn = [*button.canvas.before.children, *button.canvas.children,
                 *button.canvas.after.children]  # fmt: skip
        assert not [i for i in drawn if isinstance(i, (Line, RoundedRectangle))]
        patches = [i for i in drawn if isinstance(i, BorderImage)]
        assert len(patches) == 1
        normal = patches[0].texture
        assert normal is rounded_texture(
            button.bg_colour, button.border_colour, theme.radius, button.border_px
        )
        button.state = "down"  # pressed: another colour, so another texture
        EventLoop.idle()
        assert patches[0].texture is not normal
    finally:
        Window.remove_widget(button)
