"""Drives the running app with real touches, like a citizen would (tests and the demo)."""

from __future__ import annotations

import datetime
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk_app.domain.session import SessionState
from kiosk_app.ui import reach

_DATE_LIMIT = 12  # taps; a date on the grid needs at most eight
# How long a wait for a screen or condition lasts before it fails: a hang detector, never a speed
# check (a passing wait ends as soon as its condition holds), sized for a busy 2-core CI machine.
WAIT_S = 60.0


class PilotError(AssertionError):
    """The pilot could not do what the script asked (missing widget, wrong screen)."""


class Pilot:
    """Finds widgets by `pilot_id` and taps them with UnitTestTouch at their centre."""

    def __init__(self, app: Any) -> None:
        """Pilot a started AnjunganApp (see AnjunganApp.start_embedded)."""
        self.app = app
        self.taps = 0  # every touch made, keys included (the demo's journey.json counts them)

    # -- time --------------------------------------------------------------------------------
    def idle(self, frames: int = 1) -> None:
        """Let Kivy run `frames` frames (clock, bridge, layout, drawing)."""
        for _ in range(frames):
            EventLoop.idle()

    def wait_until(
        self, condition: Callable[[], bool], timeout: float = WAIT_S, what: str = ""
    ) -> None:
        """Pump frames until `condition()` holds; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self.idle()
            if condition():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what or condition}")

    def wait_for_state(self, state: SessionState | str, timeout: float = WAIT_S) -> None:
        """Wait until the screen for `state` is shown and laid out."""
        name = state.value if isinstance(state, SessionState) else str(state)

        def shown() -> bool:
            view = self.app.view
            return (
                view is not None
                and view.state.value == name
                and self.app.root.current == name
                and not self.app.root.transition.is_active
            )

        self.wait_until(shown, timeout, f"screen {name!r} (now {self.state})")
        self.idle(2)

    @contextmanager
    def hold_clock(self, skip_s: float = 0.0) -> Iterator[None]:
        """Stand the session's clock still (its inactivity and goodbye timers wait) while a
        short-lived screen is checked, first jumping it `skip_s` forward; afterwards it runs
        on, still `skip_s` ahead."""
        session = self.app.session
        real = session.core.clock
        held = real() + skip_s
        session.core.clock = lambda: held
        try:
            yield
        finally:
            session.core.clock = (lambda: real() + skip_s) if skip_s else real

    @property
    def state(self) -> str:
        """The state of the view last rendered."""
        view = self.app.view
        return view.state.value if view is not None else "-"

    @property
    def screens_seen(self) -> list[str]:
        """Screen names in the order they were shown (repeats collapsed)."""
        return list(self.app.screens_seen)

    # -- finding -----------------------------------------------------------------------------
    def _roots(self) -> list[Widget]:
        """Modal views first (they sit on top), then the current screen."""
        modals = [w for w in Window.children if w is not self.app.root]
        return [*modals, self.app.root.current_screen]

    @staticmethod
    def _walk(widget: Widget) -> Iterator[Widget]:
        yield widget
        for child in widget.children:
            yield from Pilot._walk(child)

    def widgets(self) -> Iterator[Widget]:
        """Every widget on display, top layer first."""
        for root in self._roots():
            yield from self._walk(root)

    def find_all(self, match: Callable[[Widget], bool]) -> list[Widget]:
        """All displayed widgets for which `match` is true."""
        return [w for w in self.widgets() if match(w)]

    def find(self, pilot_id: str) -> Widget:
        """The displayed widget whose `pilot_id` is `pilot_id`: of several (the accessibility
        buttons of a screen and of a panel over it), the one a touch reaches."""
        found = self.find_all(lambda w: getattr(w, "pilot_id", None) == pilot_id)
        if not found:
            raise PilotError(f"no widget {pilot_id!r} on screen {self.state!r}")
        if len(found) > 1:
            found.sort(key=lambda w: (reach.hidden_why(w) is not None, not reach.reaches(w)))
        return found[0]

    def exists(self, pilot_id: str) -> bool:
        """True when a widget with this id is displayed."""
        return any(getattr(w, "pilot_id", None) == pilot_id for w in self.widgets())

    def texts(self) -> list[str]:
        """Every non-empty text on display (labels, buttons, inputs)."""
        return [t for w in self.widgets() if isinstance(t := getattr(w, "text", None), str) and t]

    # -- touching ----------------------------------------------------------------------------
    def touch(self, widget: Widget, settle: int = 2) -> None:
        """Touch down and up at the widget's centre (window coordinates), then run frames."""
        name = getattr(widget, "pilot_id", None) or getattr(widget, "text", None) or widget
        if getattr(widget, "disabled", False):
            raise PilotError(f"widget {name!r} is disabled")
        self._reveal(widget)
        x, y = reach.window_centre(widget)
        if not (0 <= x < Window.width and 0 <= y < Window.height):
            raise PilotError(f"widget {name!r} is off screen")
        self._check_reached(widget, name, x, y)
        touch = self.new_touch(x, y)
        touch.touch_down()
        touch.touch_up()
        self.taps += 1
        self.idle(settle)

    def new_touch(self, x: float, y: float) -> UnitTestTouch:
        """A touch at window point (x, y), not yet down, made as a deliberate tap: it comes down
        once the app's settle interval after the last screen or dialog change is over. Its time
        is moved on to then (a touch's time is the finger's to choose), nobody sleeps."""
        touch = UnitTestTouch(x, y)
        touch.time_start = max(touch.time_start, self.app.settle.settled_at())
        return touch

    @staticmethod
    def _check_reached(widget: Widget, name: Any, x: float, y: float) -> None:
        """A citizen sees the widget and a finger at its centre would reach it: not hidden
        (opacity 0), nor under an overlay or a modal view, nor under another button."""
        hidden = reach.hidden_why(widget)
        if hidden is not None:
            raise PilotError(f"widget {name!r} is hidden ({hidden})")
        taker = reach.taker_at(x, y)
        if reach.lands_on(widget, taker) or (
            taker is None and not isinstance(widget, reach.TAKERS)
        ):
            return
        other = getattr(taker, "pilot_id", None) or getattr(taker, "text", None) or taker
        raise PilotError(f"widget {name!r} is covered: a touch at its centre goes to {other!r}")

    def _reveal(self, widget: Widget) -> None:
        """Scroll a widget inside a ScrollView into view (what the ▲/▼ buttons do for people)."""
        parent = widget.parent
        while parent is not None and not isinstance(parent, ScrollView):
            if parent is Window or parent.parent is parent:
                return
            parent = parent.parent
        if parent is None:
            return
        left, bottom = widget.to_window(widget.x, widget.y)
        right, top = widget.to_window(widget.right, widget.top)
        view_left, view_bottom = parent.to_window(parent.x, parent.y)
        view_right, view_top = parent.to_window(parent.right, parent.top)
        if bottom >= view_bottom - 1 and top <= view_top + 1:
            return
        parent.scroll_to(widget, padding=10, animate=False)
        self.idle(2)

    def tap(self, pilot_id: str) -> None:
        """Tap the widget with this id."""
        self.touch(self.find(pilot_id))

    def tap_text(self, text: str) -> None:
        """Tap the first displayed button whose text contains `text`."""
        found = self.find_all(
            lambda w: hasattr(w, "on_release") and text in str(getattr(w, "text", ""))
        )
        if not found:
            raise PilotError(f"no button with text {text!r} on screen {self.state!r}")
        self.touch(found[0])

    def _tap_attr(
        self, attr: str, value: str, within: Widget | None = None, settle: int = 2
    ) -> None:
        pool = self._walk(within) if within is not None else self.widgets()
        for widget in pool:
            if getattr(widget, attr, None) == value and hasattr(widget, "on_release"):
                self.touch(widget, settle)
                return
        raise PilotError(f"no button with {attr}={value!r} on screen {self.state!r}")

    def select_field(self, field_name: str) -> None:
        """Tap a form field so its editor opens (no touch when it is open already, as when
        the page opens on it or a choice moved on to it)."""
        if not self.find(f"field_{field_name}").selected:
            self.tap(f"field_{field_name}")
        if not self.find(f"field_{field_name}").selected:
            raise PilotError(f"field {field_name!r} did not become selected")

    @staticmethod
    def _keys_for(keyboard: Any, text: str) -> list[str]:
        """The keys typing `text`: one per character, except that an e-mail keyboard's key for
        a whole ending ("@gmail.com", ".id") is touched where the text goes on with it."""
        from kiosk_app.ui.widgets.keyboard import SPECIAL_KEYS

        endings = sorted(
            (b.key for b in keyboard.keys if len(b.key) > 1 and b.key not in SPECIAL_KEYS),
            key=len,
            reverse=True,
        )
        keys: list[str] = []
        i = 0
        while i < len(text):
            char = text[i]
            if keyboard.mode == "email":
                ending = next((e for e in endings if text.lower().startswith(e, i)), None)
                keys.append(ending or char.lower())
                i += len(ending or char)
                continue
            key = "space" if char == " " else char.upper() if char.isalpha() else char
            keys.append("," if char == "." and keyboard.mode == "number" else key)
            i += 1
        return keys

    def type_into(self, field_name: str, text: str, clear: bool = True) -> None:
        """Select a text field, then type `text` key by key on the on-screen keyboard (a list
        field: after "Lainnya (ketik)"). A complete NIK moves on by itself: the value is
        checked where the field keeps it."""
        self.select_field(field_name)
        if self.exists("list_picker") and self.find("list_picker").parent is not None:
            self.tap("list_other")
        keyboard = self.find("keyboard")
        box = self.find("editor_input")
        # Keys are tapped one after the other without waiting for a frame in between (as
        # a quick typist would); software GL makes every redraw expensive in tests.
        before = "" if clear else box.text
        if clear:
            for _ in range(len(box.text)):
                self._tap_attr("key", "backspace", keyboard, settle=0)
        for key in self._keys_for(keyboard, text):
            self._tap_attr("key", key, keyboard, settle=0)
        self.idle(2)
        expected = before + {"text": text.upper(), "email": text.lower()}.get(
            keyboard.mode, text.replace(".", ",")
        )
        self.wait_until(
            lambda: self.app.view.values.get(field_name) == expected,
            timeout=5,
            what=f"{expected!r} in {field_name!r} (the box shows {box.text!r})",
        )

    def set_date(self, field_name: str, iso: str) -> None:
        """Select a date field and pick `iso` on its grid: one level up until the target lies
        in view, then its decade, year, month and day (nothing when it already shows `iso`)."""
        target = datetime.date.fromisoformat(iso)
        self.select_field(field_name)
        picker = self.find("date_picker")
        if picker.stage == "typed":
            self._tap_attr("action", "grid", picker)
        for _ in range(_DATE_LIMIT):
            if picker.current_date() == target:
                self.idle(2)
                return
            self._tap_attr("action", self._date_step(picker, target), picker, settle=1)
        raise PilotError(f"date picker did not reach {iso}")

    @staticmethod
    def _date_step(picker: Any, target: datetime.date) -> str:
        stage = picker.stage
        if stage == "decade":
            return f"decade:{target.year // 10 * 10}"
        if stage == "year":
            return f"year:{target.year}" if picker.decade == target.year // 10 * 10 else "up"
        if stage == "month":
            return f"month:{target.month}" if picker.year == target.year else "up"
        same_month = (picker.year, picker.month) == (target.year, target.month)
        return f"day:{target.day}" if same_month else "up"

    def type_date(self, field_name: str, iso: str) -> None:
        """Select a date field, switch to typing and type `iso` as DD MM YYYY on its pad."""
        target = datetime.date.fromisoformat(iso)
        self.select_field(field_name)
        picker = self.find("date_picker")
        if picker.stage != "typed":
            self._tap_attr("action", "typed", picker)
        for char in target.strftime("%d%m%Y"):
            self._tap_attr("key", char, picker.pad, settle=0)
        self.idle(2)
        if picker.current_date() != target:
            raise PilotError(f"typed {iso} into {field_name!r}; the picker shows {picker.value!r}")

    def set_time(self, field_name: str, hhmm: str) -> None:
        """Select a time field and pick `hhmm` on its grids: the hour, then the minute (a
        minute off the 5-minute steps is typed as four digits on the pad)."""
        hour, minute = (int(p) for p in hhmm.split(":"))
        self.select_field(field_name)
        picker = self.find("time_picker")
        if picker.value == hhmm:
            return
        if minute % 5:
            if picker.stage != "typed":
                self._tap_attr("action", "typed", picker)
            for char in f"{hour:02d}{minute:02d}":
                self._tap_attr("key", char, picker.pad, settle=0)
        else:
            if picker.stage == "typed":
                self._tap_attr("action", "grid", picker)
            if picker.stage == "minute" and picker.hour != hour:
                self._tap_attr("action", "up", picker)
            if picker.stage == "hour":
                self._tap_attr("action", f"hour:{hour}", picker)
            self._tap_attr("action", f"minute:{minute}", picker)
        self.wait_until(
            lambda: self.app.view.values.get(field_name) == hhmm, timeout=5, what=f"time {hhmm}"
        )

    def set_count(self, field_name: str, count: int) -> None:
        """Select a count field and tap "+" or "-" until it shows `count`."""
        self.select_field(field_name)
        picker = self.find("count_picker")
        for _ in range(100):
            value = int(picker.value) if picker.value.isdigit() else None
            if value == count:
                self.idle(2)
                return
            up = value is None or value < count
            self._tap_attr("action", "count+" if up else "count-", picker, settle=0)
        raise PilotError(f"count picker did not reach {count}")

    def choose(self, field_name: str, key: str) -> None:
        """Select a choice field and tap the option `key`."""
        self.select_field(field_name)
        self._tap_attr("choice_key", key, self.find("choices"))

    def pick_listed(self, field_name: str, key: str) -> None:
        """Select a list field (an occupation) and touch `key`, paging on with ▶ until it shows;
        an answer not in the list is typed after "Lainnya (ketik)"."""
        self.select_field(field_name)
        picker = self.find("list_picker")
        if key not in [k for k, _label in picker.choices]:
            self.type_into(field_name, key)
            return
        for _ in range(picker.pages):
            if any(c.choice_key == key for c in picker.grid.children):
                self._tap_attr("choice_key", key, picker.grid)
                return
            self.tap("list_next")
        raise PilotError(f"{key!r} is not on any page of {field_name!r}")

    # -- region picker -----------------------------------------------------------------------
    def pick_region(self, field_name: str, query: str, code: str) -> None:
        """Select a REGION field, open its search, type `query` and touch the region `code`."""
        self.select_field(field_name)
        self.tap("region_search")
        self.search_region(query, code)

    def search_region(self, query: str, code: str) -> None:
        """In the open region picker: type `query` key by key, then touch `code` (paging on)."""
        keyboard = self.find("region_keyboard")
        for char in query:
            key = "space" if char == " " else char.upper() if char.isalpha() else char
            self._tap_attr("key", key, keyboard, settle=0)
        self.idle(3)
        self._touch_region(code)

    def browse_region(self, code: str) -> None:
        """In the open region picker: browse down province by province to `code` and touch it."""
        self.tap("region_mode_browse")
        for length in (2, 4, 6, 10):
            if len(code) < length:
                break
            self._touch_region(code[:length])

    def _touch_region(self, code: str) -> None:
        for _ in range(200):
            if self.exists(f"region_{code}"):
                self.tap(f"region_{code}")
                return
            if self.find("region_page_down").disabled:
                break
            self.tap("region_page_down")
        raise PilotError(f"region {code} is not among the picker's results")

    # -- pictures ----------------------------------------------------------------------------
    def screenshot(self, path: Path | str) -> Path:
        """Save what the window shows (including an open modal) as a PNG at `path`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.idle(3)
        made = Window.screenshot(name=str(path))  # Kivy inserts a counter: name0001.png
        if made and Path(made).is_file():
            shutil.move(made, path)
        else:  # some window providers cannot read back the frame buffer
            self.app.root.export_to_png(str(path))
        return path
