"""An overlay that takes every touch inside its bounds, so none reaches what it covers."""

from __future__ import annotations

from typing import Any

from kivy.uix.widget import Widget


class TouchShield(Widget):
    """Mix in before a layout (`class Panel(TouchShield, BoxLayout)`): its children get each
    touch first, as usual; a touch none of them takes, on a title, a notice or a gap between
    buttons, ends here instead of reaching the hidden keypad or buttons underneath (Kivy hands a
    touch to every sibling below until one takes it, and a plain layout takes none)."""

    def on_touch_down(self, touch: Any) -> bool:
        """Down: the children first, then whatever lands inside."""
        return bool(super().on_touch_down(touch)) or self.collide_point(*touch.pos)

    def on_touch_move(self, touch: Any) -> bool:
        """Move: the children first, then whatever lands inside."""
        return bool(super().on_touch_move(touch)) or self.collide_point(*touch.pos)

    def on_touch_up(self, touch: Any) -> bool:
        """Up: the children first, then whatever lands inside (a button that took the down
        still gets its up: Kivy hands grabbed touches over separately)."""
        return bool(super().on_touch_up(touch)) or self.collide_point(*touch.pos)
