"""What a careful reader would find wrong in a screen's layout, measured on the real widgets.

For each visible label (buttons included): its text fits its box (a texture larger than the
widget spills out, a shortened text lost words, a word wider than the wrap width breaks inside
it); no widget reaches outside the window; no control is drawn over another; and, comparing the
same screen in both modes, no text is smaller in large-text mode than in the normal one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SLACK = 1.5  # pixels: rounding of positions and texture sizes


@dataclass
class Layout:
    """The layout findings of one screen in one mode and language."""

    clipped: list[str] = field(default_factory=list)
    off_window: list[str] = field(default_factory=list)
    covered: list[str] = field(default_factory=list)
    # path of each label in the widget tree -> (description, font size), to compare modes
    sizes: dict[tuple[int, ...], tuple[str, float]] = field(default_factory=dict)


def _shown(widget: Any, path: tuple[int, ...] = ()) -> Iterator[tuple[Any, tuple[int, ...]]]:
    """Visible widgets with their path of child indexes (an invisible parent hides its own)."""
    if getattr(widget, "opacity", 1) <= 0.01 or widget.width <= 0 or widget.height <= 0:
        return
    if getattr(widget, "disabled", False) and getattr(widget, "opacity", 1) < 0.5:
        return
    yield widget, path
    for index, child in enumerate(reversed(widget.children)):
        yield from _shown(child, (*path, index))


def _name(widget: Any) -> str:
    text = str(getattr(widget, "text", "") or "")
    return str(getattr(widget, "pilot_id", None) or (text[:40] if text else type(widget).__name__))


def _window_rect(widget: Any) -> tuple[float, float, float, float]:
    left, bottom = widget.to_window(widget.x, widget.y)
    right, top = widget.to_window(widget.right, widget.top)
    return left, bottom, right, top


def _word_width(label: Any, word: str) -> float:
    from kiosk_app.ui.widgets.fit import text_width

    return text_width(word, str(label.font_name), float(label.font_size))


def check_label(label: Any) -> list[str]:
    """How a label's text does not fit its box (empty when it fits)."""
    found = []
    name = _name(label)
    tex_w, tex_h = label.texture_size
    padding = list(label.padding) if hasattr(label.padding, "__len__") else [label.padding] * 2
    pad_x = padding[0] + padding[2] if len(padding) == 4 else 2 * padding[0]
    if tex_w > label.width + SLACK or tex_h > label.height + SLACK:
        found.append(
            f"{name!r}: text {tex_w:.0f}x{tex_h:.0f} in a {label.width:.0f}x{label.height:.0f} box"
        )
    core = getattr(label, "_label", None)
    if core is not None and getattr(core, "is_shortened", False):
        found.append(f"{name!r}: shortened to fit ({label.text!r})")
    wrap = label.text_size[0] if label.text_size else None
    if wrap and label.text_size[1] is not None and not label.markup:
        # a fixed text height drops the lines past it without a trace: measure them all
        from kivy.core.text import Label as CoreLabel

        whole = CoreLabel(
            text=str(label.text),
            font_name=str(label.font_name),
            font_size=float(label.font_size),
            text_size=(wrap, None),
            padding=label.padding,
            line_height=label.line_height,
        ).render()[1]
        if whole > label.text_size[1] + SLACK:
            found.append(f"{name!r}: {whole:.0f} px of text in {label.text_size[1]:.0f} px")
    if wrap:
        room = wrap - pad_x
        words = sorted(set(str(label.text).split()), key=len)[-4:]
        wide = [w for w in words if _word_width(label, w) > room + SLACK]
        if wide:
            found.append(f"{name!r}: {wide[-1]!r} wider than the {room:.0f} px it wraps in")
    return found


def _is_control(widget: Any) -> bool:
    from kivy.uix.behaviors import ButtonBehavior
    from kivy.uix.textinput import TextInput

    return isinstance(widget, (ButtonBehavior, TextInput))


def check_layout(root: Any, window_size: tuple[float, float]) -> Layout:
    """The layout findings for the visible widgets under `root`."""
    from kivy.uix.label import Label
    from kivy.uix.scrollview import ScrollView

    result = Layout()
    width, height = window_size
    views: list[tuple[tuple[int, ...], tuple[float, float, float, float]]] = []
    controls: list[tuple[str, tuple[int, ...], tuple[float, float, float, float]]] = []
    for widget, path in _shown(root):
        rect = _window_rect(widget)
        inside_view = [r for p, r in views if path[: len(p)] == p and path != p]
        for view in inside_view:  # what a ScrollView shows of it
            rect = (
                max(rect[0], view[0]),
                max(rect[1], view[1]),
                min(rect[2], view[2]),
                min(rect[3], view[3]),
            )
        if rect[2] - rect[0] <= SLACK or rect[3] - rect[1] <= SLACK:
            continue  # scrolled out of its view, or moved off the screen on purpose
        if isinstance(widget, ScrollView):
            views.append((path, rect))
        if (
            rect[0] < -SLACK
            or rect[1] < -SLACK
            or rect[2] > width + SLACK
            or rect[3] > height + SLACK
        ) and (rect[2] > 0 and rect[0] < width):
            result.off_window.append(f"{_name(widget)!r} at {[round(v) for v in rect]}")
        if isinstance(widget, Label) and str(widget.text).strip():
            if not inside_view or rect == _window_rect(widget):
                result.clipped += check_label(widget)
            result.sizes[path] = (_name(widget), float(widget.font_size))
        if _is_control(widget) or (isinstance(widget, Label) and str(widget.text).strip()):
            controls.append((_name(widget), path, rect))  # a label on a control hides it too
    # drawn over one another: controls and texts, other than a text inside its own control
    for index, (name, path, rect) in enumerate(controls):
        for other, o_path, o_rect in controls[index + 1 :]:
            if o_path[: len(path)] == path or path[: len(o_path)] == o_path:
                continue  # a control inside another (a key in a keyboard)
            wide = min(rect[2], o_rect[2]) - max(rect[0], o_rect[0])
            high = min(rect[3], o_rect[3]) - max(rect[1], o_rect[1])
            if wide > 2 and high > 2:
                result.covered.append(f"{name!r} and {other!r}")
    return result


def shrunk(normal: Layout, large: Layout) -> list[str]:
    """Texts smaller in large-text mode than the same widget's in the normal mode."""
    found = []
    for path, (name, size) in large.sizes.items():
        before = normal.sizes.get(path)
        if before is not None and before[0] == name and size + 0.5 < before[1]:
            found.append(f"{name!r}: {before[1]:.1f} px normal, {size:.1f} px large")
    return found


def all_layouts(
    rendered: dict[tuple[str, str, str], Any], forms: dict[tuple[str, str, str], Layout]
) -> dict[tuple[str, str, str], Layout]:
    """Every checked layout: the sample screens and each form page with each field's editor."""
    layouts = {key: record.layout for key, record in rendered.items() if record.layout}
    return {**layouts, **forms}


def count(layouts: dict[tuple[str, str, str], Layout]) -> tuple[dict[str, int], list[str]]:
    """The findings' counts (the benchmark's JSON) and every finding as a line."""
    counts = {
        "screens": len(layouts),
        "clipped": 0,
        "shrunk_in_large": 0,
        "off_window": 0,
        "covered": 0,
    }
    lines = []
    for (screen, mode, lang), layout in sorted(layouts.items()):
        found = {
            "clipped": layout.clipped,
            "off_window": layout.off_window,
            "covered": layout.covered,
        }
        normal = layouts.get((screen, "normal", lang))
        if mode == "large" and normal is not None:
            found["shrunk_in_large"] = shrunk(normal, layout)
        for kind, items in found.items():
            counts[kind] += len(items)
            lines += [f"{kind}: {lang}-{mode}/{screen}: {item}" for item in items]
    return counts, lines
