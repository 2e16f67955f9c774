"""Widths that let a button's text keep its full size: on one line, or on two balanced lines.

Layouts bind to these in kv (pass the properties they depend on, e.g. `self.text` and
`theme.revision`, as extra arguments so kv re-evaluates when they change).
"""

from __future__ import annotations

from typing import Any

from kiosk_app.ui.theme import theme

# Measured widths are exact for the font; hinting and the button's rounding need a little more.
SPARE = 1.06
_MEASURE: dict[tuple[str, int], Any] = {}


def text_width(text: str, font_name: str, size: float) -> float:
    """Width in pixels of `text` on one line in `font_name` at `size` (one measuring label per
    font and size, shared by every widget that fits text)."""
    key = (font_name, round(size))
    measure = _MEASURE.get(key)
    if measure is None:
        from kivy.core.text import Label as CoreLabel

        measure = _MEASURE[key] = CoreLabel(font_name=key[0], font_size=key[1])
    return float(measure.get_extents(text)[0]) if text else 0.0


def line_height(font_name: str, size: float) -> float:
    """Height in pixels of one line of text in `font_name` at `size`."""
    text_width("", font_name, size)
    return float(_MEASURE[(font_name, round(size))].get_extents("Ag")[1])


def one_line(button: Any, *_depends: Any) -> float:
    """Width at which the button shows its whole text on one line at its role's size."""
    width = text_width(str(button.text), str(button.font_name), button.role_size())
    return float(width * SPARE + 2 * theme.padding)


def two_lines(button: Any, *_depends: Any) -> float:
    """Narrowest width at which the text wraps into at most two lines at its role's size."""
    words = str(button.text).split(" ")
    font, size = str(button.font_name), button.role_size()
    best = text_width(str(button.text), font, size)
    for cut in range(1, len(words)):
        first, rest = " ".join(words[:cut]).strip(), " ".join(words[cut:]).strip()
        best = min(best, max(text_width(first, font, size), text_width(rest, font, size)))
    return float(best * SPARE + 2 * theme.padding)


def in_lines(button: Any, lines: int, *_depends: Any) -> float:
    """Narrowest width at which the text wraps (between words) into at most `lines` lines at
    its role's size."""
    words = str(button.text).split()
    font, size = str(button.font_name), button.role_size()
    widths = sorted(
        {
            text_width(" ".join(words[i:j]), font, size)
            for i in range(len(words))
            for j in range(i + 1, len(words) + 1)
        }
    )
    widest_word = max((text_width(word, font, size) for word in words), default=0.0)
    for room in widths:  # some line is exactly as wide as the narrowest wrapping
        # a word is never broken
        if room >= widest_word and wrapped_lines(str(button.text), font, size, room) <= lines:
            return float(room * SPARE + 2 * theme.padding)
    return float(text_width(str(button.text), font, size) * SPARE + 2 * theme.padding)


def wrapped_lines(text: str, font_name: str, size: float, room: float) -> int:
    """How many lines `text` takes wrapped between words in `room` pixels."""
    count, line = 0, ""
    for word in text.split():
        wider = f"{line} {word}".strip()
        if line and text_width(wider, font_name, size) > room:
            count, line = count + 1, word
        else:
            line = wider
    return count + 1 if line else count


MIN_SHARE = 0.8  # a value shrinks to stay on one line, never below this share of its role's size


def one_line_size(text: str, font_name: str, size: float, room: float, *_depends: Any) -> float:
    """Font size at which a value without letters (a NIK, a KK number) keeps one line in `room`
    pixels, down to MIN_SHARE of `size`; other text keeps `size` and may wrap between words."""
    if not text or room <= 1 or any(c.isalpha() for c in text):
        return size
    width = text_width(text, font_name, size)
    return size if width <= room else max(size * MIN_SHARE, size * 0.98 * room / width)


def words_fit_size(text: str, font_name: str, size: float, room: float, *_depends: Any) -> float:
    """Font size at which the longest word of `text` fits `room` pixels (a word is never broken
    inside, "nama@contoh.com", "November"), down to the body size (in large text: down to the
    size the normal mode gives, never smaller); `size` when it fits."""
    words = text.split()
    if not words or room <= 1:
        return size
    widest = max(text_width(word, font_name, size) for word in words)
    if widest <= room:
        return size
    floor = min(theme.sp_body, size)
    if theme.large_text and theme.scale > 0:
        floor /= theme.scale  # the normal mode's floor: both modes then fit at the same size
    return max(float(floor), size * 0.98 * room / widest)


def shrink_to(text: str, font_name: str, size: float, room: float, *_depends: Any) -> float:
    """The largest theme size up to `size` at which `text` (one word, e.g. a registration
    number) keeps one line in `room` pixels (the body size at the least)."""
    sizes = sorted({theme.sp_title, theme.sp_heading, theme.sp_key, theme.sp_body}, reverse=True)
    for candidate in (s for s in sizes if s <= size):
        if room <= 1 or text_width(text, font_name, candidate) <= room:
            return float(candidate)
    return float(theme.sp_body)


def heading_or_body(text: str, font_name: str, room: float, *_depends: Any) -> float:
    """The heading size when `text` fits one line in `room` pixels, else the body size (two
    lines of it fit a top bar: a header keeps its section name and step whole); in large text,
    where two lines at that size would not hold it (a long title beside the assisted badge),
    the small size (still larger than the normal mode's body size)."""
    fits = text_width(text, font_name, theme.sp_heading) <= room
    # in large text never below the normal mode's heading (its body size is a little smaller)
    wrapped = (
        max(theme.sp_body, round(theme.sp_heading / theme.scale))
        if theme.large_text
        else theme.sp_body
    )
    if fits or room <= 1:
        return float(theme.sp_heading)
    if theme.large_text and wrapped_lines(text, font_name, wrapped, room) > 2:
        return float(theme.sp_small)
    return float(wrapped)


def heading_or_key(text: str, font_name: str, room: float, *_depends: Any) -> float:
    """A heading beside a keyboard or picker: the heading size on one line, else the body size
    (the keys' size in large text, larger than the normal mode's heading)."""
    fits = text_width(text, font_name, theme.sp_heading) <= room
    wrapped = theme.sp_key if theme.large_text else theme.sp_body
    return float(theme.sp_heading if fits or room <= 1 else wrapped)
