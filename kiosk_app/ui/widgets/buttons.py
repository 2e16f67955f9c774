"""Big rounded touch buttons and a single-choice button group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout

from kiosk_app.domain.text import Text
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.fit import line_height, text_width

FONT_ROLES = ("small", "body", "key", "heading", "title")
MIN_FIT = 0.5  # text shrinks to fit its button, never below this share of its role's size
BUTTON_KINDS = ("primary", "secondary", "accent", "danger", "disabled-look")

# kind -> (background, pressed background, text colour, border colour) theme colour names
_KIND_COLOURS: dict[str, tuple[str, str, str, str]] = {
    "primary": ("primary", "primary_pressed", "primary_text", "primary"),
    "secondary": ("secondary", "secondary_pressed", "secondary_text", "border"),
    "accent": ("accent", "accent_pressed", "accent_text", "accent_pressed"),
    "danger": ("danger", "danger_pressed", "danger_text", "danger"),
    "disabled-look": ("muted", "muted_pressed", "muted_text", "muted_pressed"),
}


class BigButton(Button):
    """A large rounded button whose text wraps; at least one touch target in each side."""

    kind = OptionProperty("primary", options=BUTTON_KINDS)
    bg_colour = ObjectProperty((0.0, 0.0, 0.0, 1.0))
    fg_colour = ObjectProperty((1.0, 1.0, 1.0, 1.0))
    border_colour = ObjectProperty((0.0, 0.0, 0.0, 1.0))
    border_px = NumericProperty(2)
    # Grow with the wrapped text when size_hint_y is None (the default).
    auto_height = BooleanProperty(True)
    font_role = OptionProperty("body", options=FONT_ROLES)
    # Below 1 when a word would not fit the width (it would break mid-word, "Kembal/i") or the
    # wrapped text would not fit a button whose height the layout fixes (large-text mode).
    fit_scale = NumericProperty(1.0)

    def __init__(self, **kwargs: Any) -> None:
        """Create the button, sized and coloured from the theme."""
        theme.track_window()
        if "size_hint" not in kwargs:
            kwargs.setdefault("size_hint_y", None)
        super().__init__(**kwargs)
        self.bind(
            kind=self._restyle,
            state=self._restyle,
            disabled=self._restyle,
            texture_size=self._fit_height,
            size_hint_y=self._refit,
            auto_height=self._refit,
            text=self._fit_text,
            width=self._fit_text,
            height=self._fit_text,
            font_name=self._fit_text,
            font_role=self._fit_text,
        )
        # revision: bumped once every theme size is fresh (a size alone may be half-updated)
        theme.follow(revision=self._restyle, touch=self._fit_height, padding=self._fit_height)
        theme.follow(revision=self._refit)
        self._restyle()
        self._fit_text()
        self._fit_height()

    def role_size(self) -> float:
        """The theme's font size for this button's role (before any fitting)."""
        return float(getattr(theme, f"sp_{self.font_role}", theme.sp_body))

    def widest_word(self, size: float | None = None) -> float:
        """Width in pixels of the text's widest word at font size `size` (default: role size)."""
        words = str(self.text).split()
        if not words:
            return 0.0
        size = size if size is not None else self.role_size()
        longest = sorted(set(words), key=len)[-4:]  # a few candidates: glyphs differ in width
        return max(text_width(word, str(self.font_name), size) for word in longest)

    def _fit_text(self, *_args: Any) -> None:
        """Shrink the font just enough that the widest word fits on one line and, where the
        layout fixes the height, that the wrapped text fits it (never below MIN_FIT)."""
        # A function of the button's text, size and the theme only, never of its last value:
        # turning large text off gives exactly the layout the normal mode started with.
        room = self.width - 2 * theme.padding
        widest = self.widest_word()
        # 3% spare: glyph hinting makes widths not quite proportional to the font size
        scale = 1.0 if widest <= 0 or room <= 1 else min(1.0, 0.97 * room / widest)
        fixed = not (self.size_hint_y is None and self.auto_height)
        if fixed and self.height > 1 and room > 1 and self.text:
            # half the padding above and below: a line box already holds its own leading
            while scale > MIN_FIT and self.wrapped_height(scale) + theme.padding > self.height:
                scale *= 0.95
            scale = round(self.role_size() * scale) / self.role_size()
        self.fit_scale = max(MIN_FIT, scale)

    def _refit(self, *_args: Any) -> None:
        """Fit the text, then the height to it."""
        self._fit_text()
        self._fit_height()

    def wrapped_height(self, scale: float = 1.0) -> float:
        """Height in pixels of the text wrapped between words to the button's width at `scale`
        of its role's size (measured with the shared measuring labels)."""
        font, size = str(self.font_name), round(self.role_size() * scale)
        room = max(1.0, self.width - 2 * theme.padding)
        lines, line = 0, ""
        for paragraph in str(self.text).split("\n"):
            lines += 1
            line = ""
            for word in paragraph.split(" "):
                longer = f"{line} {word}" if line else word
                if line and text_width(longer, font, size) > room:
                    lines, line = lines + 1, word
                else:
                    line = longer
        return lines * line_height(font, size)

    def _restyle(self, *_args: Any) -> None:
        """Pick colours for the kind, the pressed state and the disabled state."""
        kind = "disabled-look" if self.disabled else self.kind
        bg, pressed, fg, border = _KIND_COLOURS[kind]
        self.bg_colour = theme.colour(pressed if self.state == "down" else bg)
        self.fg_colour = theme.colour(fg)
        self.border_colour = theme.colour(border)
        self.border_px = theme.border_width

    def _fit_height(self, *_args: Any) -> None:
        """Keep the height at least one touch target and tall enough for the text (where the
        layout leaves the height to the button)."""
        if self.size_hint_y is None and self.auto_height:
            self.height = max(theme.touch, self.texture_size[1] + 2 * theme.padding)


class ChoiceButton(BigButton):
    """One option of a ChoiceButtons group; shows a check mark when selected."""

    choice_key = StringProperty("")
    label = ObjectProperty("")
    selected = BooleanProperty(False)
    lang = StringProperty("id")

    def __init__(self, **kwargs: Any) -> None:
        """Create the option button."""
        super().__init__(**kwargs)
        self.bind(selected=self._relabel, label=self._relabel, lang=self._relabel)
        self._relabel()

    def _relabel(self, *_args: Any) -> None:
        """Show a check mark and the filled colour when selected, an empty circle otherwise."""
        label = self.label(self.lang) if isinstance(self.label, Text) else str(self.label)
        mark = theme.symbol("check") if self.selected else theme.symbol("unchecked")
        self.text = f"{mark}  {label}"
        self.kind = "primary" if self.selected else "secondary"

    def _restyle(self, *_args: Any) -> None:
        """Use the focus colour and a thicker border for the selected option."""
        super()._restyle()
        if getattr(self, "selected", False):
            self.border_colour = theme.colour("focus")
            self.border_px = theme.focus_width


class ChoiceButtons(GridLayout):
    """A group of big buttons of which exactly one can be chosen by a single tap."""

    choices = ListProperty([])
    value = StringProperty("")
    lang = StringProperty("id")
    max_cols = NumericProperty(3)

    def __init__(self, **kwargs: Any) -> None:
        """Create the group; `choices` is a list of (key, label) where label is str or Text."""
        theme.track_window()
        kwargs.setdefault("cols", None)
        explicit_cols = kwargs.get("cols") is not None
        super().__init__(**kwargs)
        self._explicit_cols = explicit_cols
        self.buttons: list[ChoiceButton] = []
        self.bind(
            choices=self._rebuild, value=self._mark, lang=self._relang, max_cols=self._rebuild
        )
        self._rebuild()

    def _rebuild(self, *_args: Any) -> None:
        """Create one button per choice."""
        self.clear_widgets()
        self.buttons = []
        choices: Sequence[tuple[str, Any]] = list(self.choices)
        if not self._explicit_cols:
            self.cols = max(1, min(len(choices), int(self.max_cols)))
        for key, label in choices:
            button = ChoiceButton(choice_key=str(key), label=label, lang=self.lang)
            button.bind(on_release=self._chosen)
            self.buttons.append(button)
            self.add_widget(button)
        self._mark()

    def _chosen(self, button: ChoiceButton) -> None:
        """Select the tapped button's key."""
        self.value = button.choice_key

    def _mark(self, *_args: Any) -> None:
        """Mark the button whose key equals `value`."""
        for button in self.buttons:
            button.selected = button.choice_key == self.value

    def _relang(self, *_args: Any) -> None:
        """Pass the language on to the buttons."""
        for button in self.buttons:
            button.lang = self.lang

    def button_for(self, key: str) -> ChoiceButton | None:
        """Return the button for `key`, if any."""
        return next((b for b in self.buttons if b.choice_key == key), None)


load_kv(__file__)
