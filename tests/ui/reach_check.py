"""No tap reaches a widget the citizen cannot see: the guard, measured on the real widget tree.

A touchable widget (a button, a text box, a list) that does not show, because it or a parent
has opacity 0, because it lies outside the window, or because an overlay is drawn over its
centre, must be disabled or never receive a touch at its centre. Which widget receives one is
not guessed here: a probe touch goes through the window's own dispatch (kiosk_app.ui.reach).
What counts as "drawn over" is: a widget later in the drawing order (earlier in the touch
order), shown, not one of the widget's parents, that paints something (a background, a text)
at that point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk_app.ui.reach import TAKERS, ancestors, taker_at, window_centre, window_rect

Rect = tuple[float, float, float, float]


@dataclass
class _Node:
    widget: Any
    rect: Rect  # what of it shows: its window rectangle cut by the StencilViews it is in
    shown: bool  # no opacity 0 in its ancestry


def _cut(rect: Rect, clip: Rect) -> Rect:
    return (
        max(rect[0], clip[0]),
        max(rect[1], clip[1]),
        min(rect[2], clip[2]),
        min(rect[3], clip[3]),
    )


def _inside(rect: Rect, x: float, y: float) -> bool:
    return rect[0] < x < rect[2] and rect[1] < y < rect[3]


def _paints(widget: Any) -> bool:
    """It draws something of its own (a background, a border, a text), not only its children."""
    from kivy.uix.image import Image
    from kivy.uix.label import Label

    canvas = widget.canvas
    if canvas is None:
        return False
    if (canvas.has_before and canvas.before.children) or (
        canvas.has_after and canvas.after.children
    ):
        return True
    return isinstance(widget, Image) or (isinstance(widget, Label) and bool(widget.text))


def _nodes() -> list[_Node]:
    """Every widget of the window in touch order (the top one first)."""
    from kivy.core.window import Window
    from kivy.uix.stencilview import StencilView

    found: list[_Node] = []

    def walk(widget: Any, clip: Rect, shown: bool) -> None:
        rect = _cut(window_rect(widget), clip)
        shown = shown and widget.opacity > 0.01
        found.append(_Node(widget, rect, shown))
        inner = rect if isinstance(widget, StencilView) else clip
        for child in widget.children:
            walk(child, inner, shown)

    for root in Window.children:
        walk(root, (0.0, 0.0, float(Window.width), float(Window.height)), True)
    return found


def _name(widget: Any) -> str:
    text = str(getattr(widget, "text", "") or "")
    return str(getattr(widget, "pilot_id", None) or (text[:30] if text else type(widget).__name__))


def _cover(nodes: list[_Node], index: int, x: float, y: float) -> Any:
    """A widget drawn over nodes[index] at (x, y), or None."""
    parents = set(ancestors(nodes[index].widget))
    for node in nodes[:index]:
        if node.shown and _inside(node.rect, x, y) and node.widget not in parents:
            if _paints(node.widget):
                return node.widget
    return None


def hidden_but_reached() -> list[str]:
    """Each enabled touchable widget of the window that does not show, yet takes a touch at
    its centre (a touch can only land inside the window: for a widget partly outside, at the
    centre of its part inside), with why it does not show."""
    from kivy.core.window import Window

    nodes = _nodes()
    found = []
    for index, node in enumerate(nodes):
        widget = node.widget
        if not isinstance(widget, TAKERS) or widget.disabled:
            continue
        x, y = window_centre(widget)
        why = None if node.shown else "opacity 0"
        if not (0 <= x < Window.width and 0 <= y < Window.height):
            part = _cut(window_rect(widget), (0, 0, Window.width, Window.height))
            if part[2] - part[0] < 1 or part[3] - part[1] < 1:
                continue  # wholly outside: no finger gets there
            x, y = (part[0] + part[2]) / 2, (part[1] + part[3]) / 2
            why = why or "off the window"
        if why is None:
            cover = _cover(nodes, index, x, y)
            if cover is None:
                continue
            why = f"under {_name(cover)!r}"
        taker = taker_at(x, y)
        if taker is widget or (taker is not None and widget in set(ancestors(taker))):
            found.append(f"{_name(widget)!r} ({why}) takes a touch at {x:.0f},{y:.0f}")
    return found


def under_window_overlays() -> list[str]:
    """Each enabled touchable widget of the screens that shows (its part not clipped away) and
    lies partly under a widget added to the window over them (the attendant's tab and assisted
    badge; a modal view covers everything on purpose and is left out): a touch on that part
    ends on the overlay, never on the widget."""
    from kivy.app import App
    from kivy.uix.modalview import ModalView

    nodes = _nodes()
    root = App.get_running_app().root
    screens = {id(w) for w in root.walk(restrict=True)}
    over = [
        n
        for n in nodes
        if id(n.widget) not in screens
        and n.shown
        and _paints(n.widget)
        and not any(isinstance(a, ModalView) for a in (n.widget, *ancestors(n.widget)))
    ]
    found = []
    for index, node in enumerate(nodes):
        widget, rect = node.widget, node.rect
        if id(widget) not in screens or not isinstance(widget, TAKERS) or widget.disabled:
            continue
        if not node.shown or rect[2] - rect[0] < 1 or rect[3] - rect[1] < 1:
            continue
        cover = _cover(nodes, index, *window_centre(widget))
        if cover is not None and id(cover) in screens:
            continue  # hidden by the screen itself (a panel over it): hidden_but_reached's
        for top in over:
            part = _cut(rect, top.rect)
            if part[2] - part[0] >= 1 and part[3] - part[1] >= 1:
                found.append(
                    f"{_name(widget)!r} under {_name(top.widget)!r} "
                    f"({part[2] - part[0]:.0f}x{part[3] - part[1]:.0f} px)"
                )
                break
    return found
