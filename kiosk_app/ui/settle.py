"""A touch right after the screen changed reaches nothing on the new screen.

An elderly citizen's double tap on "Lanjut" moved on to the menu with the first tap, and the
second tap pressed whatever the menu shows at that place ("Akhiri kunjungan"). Whichever button
changes the screen, or opens or closes a dialog over it, a touch that came down within SETTLE_S
after that change (or before it, still held) is dropped at the window: no widget of the new
screen or dialog sees it. It still counts as the citizen's activity (the app's activity handlers
run before this gate). A touch after the interval works as always.

Times are those of Kivy's MotionEvent (`time_start`, stamped with `time.time()` when the touch
came down), and a change is stamped on the same clock: whether a touch is held depends only on
those two numbers, so a test chooses them instead of sleeping.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from kivy.app import App

log = logging.getLogger(__name__)

# How long after a screen or dialog change a touch still counts as part of the gesture that
# made it: longer than an elderly citizen's double tap (its second tap comes ~0.2-0.4 s after
# the first, the change ~0.1 s after the first), shorter than anyone reads a new screen.
SETTLE_S = 0.5

# The window events a touch goes through (none of them a gesture: the gate only drops them).
_EVENTS = ("on_touch_down", "on_touch_move", "on_touch_up")
_HELD = "settle_held"  # in a held touch's `ud`: its move and up events are dropped too


def changed_in_place(*_args: Any) -> None:
    """What shows changed without a screen or dialog change (a form page, a field's editor, a
    panel, a picker's next step or page): stamp it on the running app's settle gate, so the
    second tap of a double tap reaches nothing of what now shows. A Kivy property callback too."""
    settle = getattr(App.get_running_app(), "settle", None)
    if settle is not None:
        settle.changed()


class TouchSettle:
    """Stamps each screen or dialog change; holds back the touches that came down too soon."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        """`clock`: the clock of MotionEvent.time_start (Kivy stamps it with time.time())."""
        self.clock = clock
        self.changed_at = -math.inf
        self.held = 0  # touches held back so far (the technician's status, tests)

    def changed(self, *_args: Any) -> None:
        """The screen or a dialog over it changed now (a Kivy property callback)."""
        self.changed_at = self.clock()

    def settled_at(self) -> float:
        """When a touch coming down starts to reach the screen again."""
        return self.changed_at + SETTLE_S

    def holds(self, touch: Any) -> bool:
        """True when `touch` must reach nothing: it came down before the last change settled
        (within SETTLE_S after it, or before it and still held down)."""
        if touch.ud.get(_HELD):
            return True
        if touch.time_start >= self.settled_at():
            return False
        touch.ud[_HELD] = True
        self.held += 1
        log.info(
            "touch %.2f s after a screen or dialog change ignored (settle %.1f s)",
            touch.time_start - self.changed_at,
            SETTLE_S,
        )
        return True

    def on_touch(self, _window: Any, touch: Any) -> bool:
        """A Window touch handler: True (the touch is consumed) while it must reach nothing."""
        return self.holds(touch)

    def listen(self, window: Any) -> None:
        """Hold touches back at `window` (Kivy's Window) and stamp its dialogs opening and
        closing (a modal view is a child of the window). Bind before the window's other touch
        handlers: those bound later run first and so still see every touch."""
        window.bind(children=self.changed, **dict.fromkeys(_EVENTS, self.on_touch))

    def stop(self, window: Any) -> None:
        """Counterpart of listen."""
        window.unbind(children=self.changed, **dict.fromkeys(_EVENTS, self.on_touch))
