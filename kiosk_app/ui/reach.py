"""Which widget a touch at a point of the window would go to, asked of Kivy's own dispatch.

A probe touch goes down through the window's widget tree the way a finger's would (the
window's children top first, each layout's children top first, ScrollViews and relative
layouts moving it into their coordinates, disabled widgets and overlays taking it on the
way); the first button, text box or ScrollView it reaches takes it in the probe's place, so
nothing is pressed, focused or scrolled, and nobody notices (no activity, no sound). The pilot
uses it to tap only what a citizen could tap, and the UI tests to prove that nothing hidden
can be tapped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kivy.uix.behaviors import ButtonBehavior, FocusBehavior
from kivy.uix.modalview import ModalView
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

# What takes a touch that reaches it (a button presses, a text box focuses, a list scrolls).
TAKERS: tuple[type, ...] = (ButtonBehavior, FocusBehavior, ScrollView)


def ancestors(widget: Widget) -> Iterator[Widget]:
    """The widget's parents up to (not including) the window."""
    parent = widget.parent
    while parent is not None and parent is not Window and parent is not widget:
        yield parent
        widget, parent = parent, parent.parent


def window_rect(widget: Widget) -> tuple[float, float, float, float]:
    """left, bottom, right, top in window coordinates."""
    left, bottom = widget.to_window(widget.x, widget.y)
    right, top = widget.to_window(widget.right, widget.top)
    return left, bottom, right, top


def window_centre(widget: Widget) -> tuple[float, float]:
    """The widget's centre in window coordinates (where the pilot touches it)."""
    x, y = widget.to_window(*widget.center)
    return float(x), float(y)


def hidden_why(widget: Widget) -> str | None:
    """Why a citizen cannot see the widget: "opacity 0" (it or a parent), "off the window"
    (its centre), "not on the window" (not in the tree); None when it shows."""
    for part in (widget, *ancestors(widget)):
        if part.opacity <= 0.01:
            return "opacity 0"
    if widget.get_root_window() is None:
        return "not on the window"
    x, y = window_centre(widget)
    if not (0 <= x < Window.width and 0 <= y < Window.height):
        return "off the window"
    return None


def _tree() -> Iterator[Widget]:
    for root in Window.children:
        yield from root.walk(restrict=True)


def taker_at(x: float, y: float) -> Widget | None:
    """The widget that a touch at window point (x, y) would go to: an enabled button, text
    box or ScrollView (a ScrollView's own content first); None when the touch ends on an
    overlay, a modal view or a disabled widget first, or on nothing that takes touches."""
    probe = UnitTestTouch(x, y)
    taken: list[Widget] = []

    def take(widget: Widget, touch: Any) -> bool:
        if touch is not probe or widget.disabled or not widget.collide_point(*touch.pos):
            return False  # the widget's own code runs (a disabled one takes it: no taker)
        if isinstance(widget, ScrollView):  # its content first, as its simulated touch goes
            touch.push()
            touch.apply_transform_2d(widget.to_local)
            inside = Widget.on_touch_down(widget, touch)
            touch.pop()
            scrolls = (widget.do_scroll_x or widget.do_scroll_y) and widget.scroll_type != ["bars"]
            if not taken and scrolls:
                taken.append(widget)
            return bool(taken) or bool(inside)
        taken.append(widget)
        return True

    takers: list[Widget] = [w for w in _tree() if isinstance(w, TAKERS)]
    bound = [(w, w.fbind("on_touch_down", take)) for w in takers]
    modals = [(m, m._touch_started_inside) for m in Window.children if isinstance(m, ModalView)]
    try:
        Window.transform_motion_event_2d(probe)
        Window.on_touch_down(probe)  # the tree's dispatch; the window's listeners never hear
    finally:
        for widget, uid in bound:
            widget.unbind_uid("on_touch_down", uid)
        for modal, started in modals:  # a modal view remembers where a touch began
            modal._touch_started_inside = started
    return taken[0] if taken else None


def lands_on(widget: Widget, taker: Widget | None) -> bool:
    """True when `taker` is `widget`, inside it, or holds it (a label in a ScrollView)."""
    if taker is None:
        return False
    return taker is widget or widget in ancestors(taker) or taker in ancestors(widget)


def reaches(widget: Widget) -> bool:
    """True when a touch at the widget's centre goes to it (it shows and nothing covers it)."""
    return hidden_why(widget) is None and lands_on(widget, taker_at(*window_centre(widget)))
