"""On-screen keyboard with big keys: letters for names, digits for NIK, numbers with comma."""

from __future__ import annotations

from typing import Any

from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import strings
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.buttons import BigButton

KEYBOARD_MODES = ("text", "email", "digits", "number")
SPECIAL_KEYS = ("backspace", "space", "done")
# Share of the window height the keyboard may take: a letter keyboard's five rows then have keys
# one touch target high, leaving the form's editor room for its heading, hint and text box.
MAX_HEIGHT_RATIO = 0.46

# Text layout: rows of (key, width in key units); "" is an empty spacer.
# Digits and "/" are on it too: addresses carry house numbers and RT/RW ("JL. MAWAR NO. 12").
_TEXT_ROWS: tuple[tuple[tuple[str, float], ...], ...] = (
    tuple((c, 1.0) for c in "1234567890"),
    tuple((c, 1.0) for c in "QWERTYUIOP"),
    (("", 0.5), *((c, 1.0) for c in "ASDFGHJKL"), ("", 0.5)),
    tuple((c, 1.0) for c in "ZXCVBNM'-/"),
    ((".", 1.0), (",", 1.0), ("space", 3.0), ("backspace", 2.5), ("done", 2.5)),
)
# Email layout: small letters (addresses are written that way) and what addresses contain; the
# common endings one touch each (".co.id", ".id": Indonesian domains).
_EMAIL_ROWS: tuple[tuple[tuple[str, float], ...], ...] = (
    tuple((c, 1.0) for c in "1234567890"),
    tuple((c, 1.0) for c in "qwertyuiop"),
    (("", 0.5), *((c, 1.0) for c in "asdfghjkl"), ("", 0.5)),
    (*((c, 1.0) for c in "zxcvbnm"), ("_", 1.0), ("-", 1.0), ("+", 1.0)),
    (
        ("@", 1.0),
        (".", 1.0),
        (".com", 1.5),
        (".co.id", 1.5),
        (".id", 1.0),
        ("backspace", 2.0),
        ("done", 2.0),
    ),
)
_LAYOUTS = {"text": _TEXT_ROWS, "email": _EMAIL_ROWS}
_PAD_ROWS: tuple[tuple[str, ...], ...] = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"))


class KeyButton(BigButton):
    """One key; `key` is a single character or one of SPECIAL_KEYS."""

    key = StringProperty("")


class OnScreenKeyboard(BoxLayout):
    """Keyboard firing on_key(key); when attached to a TextInput it edits that input directly."""

    mode = OptionProperty("text", options=KEYBOARD_MODES)
    lang = StringProperty("id")
    target = ObjectProperty(None, allownone=True)
    key_height = NumericProperty(0)
    keys = ListProperty([])
    compact = BooleanProperty(False)  # keys one touch target high (a pad under a prompt)

    __events__ = ("on_key",)

    def __init__(self, **kwargs: Any) -> None:
        """Create the keyboard in `mode` ("text", "email", "digits" or "number")."""
        theme.track_window()
        super().__init__(**kwargs)
        self.bind(
            mode=self._rebuild,
            lang=self._relabel,
            width=self._fit_width,
            size_hint_y=self._fit_height,
            compact=self._rebuild,
        )
        theme.follow(touch=self._rebuild, window_height=self._rebuild, spacing=self._rebuild)
        self._pad: BoxLayout | None = None
        self._rebuild()

    # -- public API -------------------------------------------------------------------------

    def attach(self, target: Any) -> None:
        """Let the keys edit `target` (a TextInput; honours `target.max_length` if set)."""
        self.target = target

    def detach(self) -> None:
        """Stop editing any TextInput."""
        self.target = None

    def press(self, key: str) -> None:
        """Act as if `key` was tapped: edit the attached target, then fire on_key."""
        if self.target is not None:
            self._edit(self.target, key)
        self.dispatch("on_key", key)

    def on_key(self, key: str) -> None:
        """Default handler of the on_key event."""

    # -- building ---------------------------------------------------------------------------

    def _row_count(self) -> int:
        """Return how many rows of keys the current mode has."""
        layout = _LAYOUTS.get(self.mode)
        return len(layout) if layout else len(_PAD_ROWS) + 1

    def _rebuild(self, *_args: Any) -> None:
        """Lay out the keys for the current mode and size."""
        self.clear_widgets()
        self.keys = []
        self._fit_height()
        if self.mode in _LAYOUTS:
            self._pad = None
            for row in _LAYOUTS[self.mode]:
                self.add_widget(self._make_row(row))
        else:
            self._build_pad()
        self._relabel()

    def _fit_height(self, *_args: Any) -> None:
        """Size the keys from the window; a keyboard the layout does not stretch takes their
        height (again when a layout stops stretching it, as after large text)."""
        rows = self._row_count()
        gap = theme.spacing
        budget = theme.window_height * MAX_HEIGHT_RATIO - 2 * gap - (rows - 1) * gap
        tallest = theme.touch if self.compact else 1.25 * theme.touch
        self.key_height = max(theme.touch, min(tallest, budget / rows))
        if self.size_hint_y is None:
            self.height = rows * self.key_height + (rows - 1) * gap + 2 * gap

    def _make_row(self, row: tuple[tuple[str, float], ...]) -> BoxLayout:
        """Return one horizontal row of keys with their relative widths."""
        box = BoxLayout(orientation="horizontal", spacing=theme.spacing)
        for key, units in row:
            box.add_widget(self._make_key(key, units) if key else Widget(size_hint_x=units))
        return box

    def _make_key(self, key: str, units: float = 1.0) -> KeyButton:
        """Return a key button sending `key`."""
        typed = len(key) == 1 or key not in SPECIAL_KEYS  # ".com" types text too
        kind = "accent" if key == "done" else "secondary" if typed else "primary"
        role = "key" if len(key) == 1 else "body"  # an ending ("@gmail.com") in text size
        button = KeyButton(key=key, kind=kind, size_hint=(units, 1), font_role=role)
        button.bind(on_release=lambda b: self.press(b.key))
        self.keys.append(button)
        return button

    def _build_pad(self) -> None:
        """Lay out a phone-style keypad with delete and done on the right."""
        outer = BoxLayout(orientation="horizontal")
        pad = BoxLayout(orientation="horizontal", spacing=theme.spacing, size_hint_x=None)
        digits = BoxLayout(orientation="vertical", spacing=theme.spacing, size_hint_x=3)
        for row in _PAD_ROWS:
            digits.add_widget(self._make_row(tuple((k, 1.0) for k in row)))
        last: tuple[tuple[str, float], ...] = (
            ((",", 1.0), ("0", 2.0)) if self.mode == "number" else (("0", 3.0),)
        )
        digits.add_widget(self._make_row(last))
        actions = BoxLayout(orientation="vertical", spacing=theme.spacing, size_hint_x=1.6)
        actions.add_widget(self._make_key("backspace"))
        actions.add_widget(self._make_key("done"))
        pad.add_widget(digits)
        pad.add_widget(actions)
        outer.add_widget(Widget())
        outer.add_widget(pad)
        outer.add_widget(Widget())
        self.add_widget(outer)
        self._pad = pad
        self._fit_width()

    def _fit_width(self, *_args: Any) -> None:
        """Keep the keypad a comfortable width, centred."""
        if self._pad is not None:
            wanted = 4.6 * 1.8 * self.key_height
            self._pad.width = max(0.0, min(self.width - 2 * theme.spacing, wanted))

    def _relabel(self, *_args: Any) -> None:
        """Write the key captions in the current language."""
        for button in self.keys:
            if button.key == "backspace":
                button.text = f"{theme.symbol('backspace')} {strings.BACKSPACE(self.lang)}"
            elif button.key == "space":
                button.text = strings.SPACE(self.lang)
            elif button.key == "done":
                button.text = strings.DONE(self.lang)
            else:
                button.text = button.key

    # -- editing ----------------------------------------------------------------------------

    @staticmethod
    def _edit(target: Any, key: str) -> None:
        """Apply `key` to the end of target.text, respecting target.max_length."""
        text = str(getattr(target, "text", ""))
        if key == "backspace":
            new = text[:-1]
        elif key == "done":
            if hasattr(target, "focus"):
                target.focus = False
            return
        else:
            char = " " if key == "space" else key
            limit = getattr(target, "max_length", None)
            if isinstance(limit, int) and limit >= 0 and len(text) >= limit:
                return
            new = text + char
        if new != text:
            target.text = new
            if hasattr(target, "cursor") and hasattr(target, "get_cursor_from_index"):
                target.cursor = target.get_cursor_from_index(len(new))


load_kv(__file__)
