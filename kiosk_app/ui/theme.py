"""Visual theme of the kiosk: sizes, colours and fonts for elderly users at arm's length."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.event import EventDispatcher
from kivy.metrics import mm
from kivy.properties import (
    BooleanProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)

from kiosk_app.ui.text_shaping import shape_as_drawn

RGBA = tuple[float, float, float, float]

FONTS_DIR = Path(__file__).resolve().parents[2] / "assets" / "fonts"
# Every label is measured with the shaping it is drawn with, whatever was shown before it.
shape_as_drawn()
_REGULAR = FONTS_DIR / "DejaVuSans.ttf"
_BOLD = FONTS_DIR / "DejaVuSans-Bold.ttf"

LARGE_TEXT_SCALE = 1.3  # fonts only
# Minimum finger target: 15 mm, and never less than 8 % of the screen height (64 px at 800 px).
TOUCH_MM = 15.0
TOUCH_HEIGHT_RATIO = 0.08
# Reference size used until the window exists (tests and demo run at 1280x800).
DEFAULT_WINDOW_HEIGHT = 800.0


def hex_rgba(value: str, alpha: float = 1.0) -> RGBA:
    """Return an RGBA tuple (0..1) for a '#rrggbb' colour."""
    value = value.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    return (r, g, b, alpha)


# Normal palette: already high contrast (all text pairs exceed WCAG AA for large text).
NORMAL_COLOURS: dict[str, RGBA] = {
    "background": hex_rgba("#ffffff"),
    "surface": hex_rgba("#eef2f9"),
    "text": hex_rgba("#111111"),
    "text_muted": hex_rgba("#3a3a3a"),
    "primary": hex_rgba("#0b3d91"),
    "primary_pressed": hex_rgba("#062a66"),
    "primary_text": hex_rgba("#ffffff"),
    "secondary": hex_rgba("#ffffff"),
    "secondary_pressed": hex_rgba("#d6e0f2"),
    "secondary_text": hex_rgba("#0b3d91"),
    "accent": hex_rgba("#ffc928"),
    "accent_pressed": hex_rgba("#e0a800"),
    "accent_text": hex_rgba("#111111"),
    "danger": hex_rgba("#b3261e"),
    "danger_pressed": hex_rgba("#8a1c16"),
    "danger_text": hex_rgba("#ffffff"),
    "error": hex_rgba("#b3261e"),
    "error_background": hex_rgba("#fdecea"),
    "muted": hex_rgba("#d9d9d9"),
    "muted_pressed": hex_rgba("#bdbdbd"),
    "muted_text": hex_rgba("#333333"),
    "border": hex_rgba("#0b3d91"),
    "focus": hex_rgba("#ffc928"),
    "selected": hex_rgba("#0b3d91"),
    "selected_text": hex_rgba("#ffffff"),
    "overlay": hex_rgba("#000000", 0.6),
    "success": hex_rgba("#1a7326"),
    "success_background": hex_rgba("#e8f5e9"),
}

# High contrast for low vision: white and yellow on black (every text pair >= 7:1, WCAG AAA).
HIGH_CONTRAST_COLOURS: dict[str, RGBA] = {
    "background": hex_rgba("#000000"),
    "surface": hex_rgba("#1c1c1c"),
    "text": hex_rgba("#ffffff"),
    "text_muted": hex_rgba("#ffffff"),
    "primary": hex_rgba("#ffe14d"),
    "primary_pressed": hex_rgba("#ffffff"),
    "primary_text": hex_rgba("#000000"),
    "secondary": hex_rgba("#000000"),
    "secondary_pressed": hex_rgba("#333333"),
    "secondary_text": hex_rgba("#ffe14d"),
    "accent": hex_rgba("#ffffff"),
    "accent_pressed": hex_rgba("#cccccc"),
    "accent_text": hex_rgba("#000000"),
    "danger": hex_rgba("#ffb0b0"),
    "danger_pressed": hex_rgba("#ffffff"),
    "danger_text": hex_rgba("#000000"),
    "error": hex_rgba("#ffb0b0"),
    "error_background": hex_rgba("#2a0000"),
    "muted": hex_rgba("#4d4d4d"),
    "muted_pressed": hex_rgba("#666666"),
    "muted_text": hex_rgba("#ffffff"),
    "border": hex_rgba("#ffe14d"),
    "focus": hex_rgba("#00e5ff"),
    "selected": hex_rgba("#ffe14d"),
    "selected_text": hex_rgba("#000000"),
    "overlay": hex_rgba("#000000", 0.85),
    "success": hex_rgba("#8cff8c"),
    "success_background": hex_rgba("#002400"),
}

# Symbols with ASCII fallbacks for fonts without them (Kivy's Roboto lacks some).
_SYMBOLS: dict[str, tuple[str, str]] = {
    "backspace": ("\u232b", "<"),
    "check": ("\u2714", "*"),
    "unchecked": ("\u25cb", "o"),
    "minus": ("\u2212", "-"),
    "warning": ("!", "!"),
}


class Theme(EventDispatcher):
    """Sizes, colours and fonts the widgets and screens bind to."""

    large_text = BooleanProperty(False)
    scale = NumericProperty(1.0)
    window_height = NumericProperty(DEFAULT_WINDOW_HEIGHT)

    sp_title = NumericProperty(0)
    sp_heading = NumericProperty(0)
    sp_body = NumericProperty(0)
    sp_small = NumericProperty(0)
    sp_key = NumericProperty(0)
    touch = NumericProperty(0)
    tab_height = NumericProperty(0)  # the attendant's tab over every screen's bottom centre
    spacing = NumericProperty(0)
    padding = NumericProperty(0)
    radius = NumericProperty(0)
    border_width = NumericProperty(0)
    focus_width = NumericProperty(0)

    font_name = StringProperty("Roboto")
    font_name_bold = StringProperty("Roboto")
    has_symbols = BooleanProperty(False)
    # Bumped after every recompute: bind to it to restyle once all values are fresh.
    revision = NumericProperty(0)

    background = ObjectProperty(NORMAL_COLOURS["background"])
    surface = ObjectProperty(NORMAL_COLOURS["surface"])
    text = ObjectProperty(NORMAL_COLOURS["text"])
    text_muted = ObjectProperty(NORMAL_COLOURS["text_muted"])
    primary = ObjectProperty(NORMAL_COLOURS["primary"])
    primary_pressed = ObjectProperty(NORMAL_COLOURS["primary_pressed"])
    primary_text = ObjectProperty(NORMAL_COLOURS["primary_text"])
    secondary = ObjectProperty(NORMAL_COLOURS["secondary"])
    secondary_pressed = ObjectProperty(NORMAL_COLOURS["secondary_pressed"])
    secondary_text = ObjectProperty(NORMAL_COLOURS["secondary_text"])
    accent = ObjectProperty(NORMAL_COLOURS["accent"])
    accent_pressed = ObjectProperty(NORMAL_COLOURS["accent_pressed"])
    accent_text = ObjectProperty(NORMAL_COLOURS["accent_text"])
    danger = ObjectProperty(NORMAL_COLOURS["danger"])
    danger_pressed = ObjectProperty(NORMAL_COLOURS["danger_pressed"])
    danger_text = ObjectProperty(NORMAL_COLOURS["danger_text"])
    error = ObjectProperty(NORMAL_COLOURS["error"])
    error_background = ObjectProperty(NORMAL_COLOURS["error_background"])
    muted = ObjectProperty(NORMAL_COLOURS["muted"])
    muted_pressed = ObjectProperty(NORMAL_COLOURS["muted_pressed"])
    muted_text = ObjectProperty(NORMAL_COLOURS["muted_text"])
    border = ObjectProperty(NORMAL_COLOURS["border"])
    focus = ObjectProperty(NORMAL_COLOURS["focus"])
    selected = ObjectProperty(NORMAL_COLOURS["selected"])
    selected_text = ObjectProperty(NORMAL_COLOURS["selected_text"])
    overlay = ObjectProperty(NORMAL_COLOURS["overlay"])
    success = ObjectProperty(NORMAL_COLOURS["success"])
    success_background = ObjectProperty(NORMAL_COLOURS["success_background"])

    def __init__(self, **kwargs: Any) -> None:
        """Create the theme with sizes for the reference window height."""
        super().__init__(**kwargs)
        self._window_bound = False
        if _REGULAR.is_file():
            self.font_name = str(_REGULAR)
            self.font_name_bold = str(_BOLD) if _BOLD.is_file() else str(_REGULAR)
            self.has_symbols = True
        self.bind(large_text=self._recompute, window_height=self._recompute)
        self._recompute()

    def follow(self, **callbacks: Any) -> None:
        """Call each widget callback (a bound method) when its theme property changes.

        fbind, not bind: bind() first compares the callback with every observer already there,
        and the weak observers of widgets long gone stay until the property next changes, so each
        new button cost more than the last (24 ms each after eight test sessions). ref=True: a
        plain fbind holds the callback, and with it the widget and its whole screen, for ever
        (every app's 214 buttons stayed alive, and a large-text toggle restyled them all)."""
        for name, callback in callbacks.items():
            self.fbind(name, callback, ref=True)

    def track_window(self) -> None:
        """Follow the Kivy window's height (creates the window on first call) and paint the
        window's clear colour as every screen's background (a full-window rectangle per
        screen cost a whole extra fill each frame on a software rasteriser)."""
        if self._window_bound:
            return
        from kivy.core.window import Window

        self._window_bound = True
        Window.bind(height=self._on_window_height)
        self._on_window_height(Window, Window.height)
        self.bind(background=self._paint_window)
        self._paint_window()

    def _paint_window(self, *_args: Any) -> None:
        from kivy.core.window import Window

        Window.clearcolor = tuple(self.background)

    def _on_window_height(self, _window: Any, height: float) -> None:
        """Store a new window height (ignoring a transient zero)."""
        if height > 0:
            self.window_height = float(height)

    def _recompute(self, *_args: Any) -> None:
        """Derive sizes and colours from the window height and the large-text (contrast) flag."""
        h = self.window_height
        s = LARGE_TEXT_SCALE if self.large_text else 1.0
        self.scale = s
        self.sp_title = round(h / 16.0 * s)
        self.sp_heading = round(h / 21.0 * s)
        self.sp_body = round(h / 28.0 * s)
        self.sp_small = round(h / 33.0 * s)
        self.sp_key = round(h / 24.0 * s)
        # Targets keep their size in large-text mode (already >= 15 mm): layouts still fit.
        self.touch = round(max(mm(TOUCH_MM), h * TOUCH_HEIGHT_RATIO))
        self.tab_height = round(self.touch * 0.55)
        self.spacing = round(h / 100.0)
        self.padding = round(h / 60.0)
        self.radius = round(h / 80.0)
        self.border_width = max(2.0, round(h / 400.0 * (1.5 if self.large_text else 1.0)))
        self.focus_width = max(4.0, round(h / 160.0 * s))
        colours = HIGH_CONTRAST_COLOURS if self.large_text else NORMAL_COLOURS
        for name, value in colours.items():
            setattr(self, name, value)
        self.revision += 1

    def touch_px(self) -> float:
        """Return the minimum side of a touch target in pixels."""
        self.track_window()
        return float(self.touch)

    def colour(self, name: str) -> RGBA:
        """Return the current colour called `name`."""
        value: RGBA = getattr(self, name)
        return value

    def symbol(self, name: str) -> str:
        """Return a symbol glyph, or its ASCII fallback when the font lacks it."""
        glyph, fallback = _SYMBOLS[name]
        return glyph if self.has_symbols else fallback


theme = Theme()


def get_theme() -> Theme:
    """Return the kiosk's single theme."""
    return theme
