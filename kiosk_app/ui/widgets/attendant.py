"""Attendant mode on screen: the small always-visible button and the PIN pad (the assisted badge
is in each screen's title bar: kiosk_app/ui/widgets/a11y.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.modalview import ModalView

from kiosk_app.domain.text import Text
from kiosk_app.services.attendant.service import AttendantService
from kiosk_app.services.session.views import PIN_LOCKED, PIN_MAX, AttendantView
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import buttons as _buttons  # noqa: F401  (BigButton's kv rule)
from kiosk_app.ui.widgets import keyboard as _keyboard  # noqa: F401  (OnScreenKeyboard)
from kiosk_app.ui.widgets import stepper as _stepper  # noqa: F401  (ThemedLabel's kv rule)
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.shield import TouchShield

log = logging.getLogger(__name__)

BUTTON = Text("Petugas", "Attendant")
BUTTON_OPEN = Text("Petugas \u00b7 {attendant}", "Attendant \u00b7 {attendant}")
PIN_TITLE = Text("PIN petugas", "Attendant PIN")
PIN_HINT = Text(
    "Masukkan PIN lalu sentuh OK, atau tempelkan kartu petugas.",
    "Enter the PIN and touch OK, or place the attendant card on the reader.",
)
PIN_SHORT = Text("PIN terdiri dari 4 sampai 12 angka.", "A PIN has 4 to 12 digits.")
CHECKING = Text("Memeriksa PIN...", "Checking the PIN...")
CANCEL = Text("Batal", "Cancel")


class AttendantTab(Button):
    """The small "Petugas" button at the bottom edge of every screen."""


class AttendantPinPad(ModalView):
    """Big digit keys, dots for what was typed, and a plain message when the PIN is wrong."""

    lang = StringProperty("id")
    dots = StringProperty("")
    message = StringProperty("")
    busy = BooleanProperty(False)
    locked_for = NumericProperty(0)

    def __init__(self, service: AttendantService, **kwargs: Any) -> None:
        """A pad for `service`; it never closes by a tap outside it."""
        theme.track_window()
        kwargs["auto_dismiss"] = False
        super().__init__(**kwargs)
        self.service = service
        self.pilot_id = "attendant_pinpad"
        self._pin = ""
        self._poll = Clock.schedule_interval(self._follow_lockout, 0.5)

    def on_dismiss(self) -> None:
        """Closed: forget the digits typed."""
        self._pin, self.dots = "", ""

    def reset(self) -> None:
        """Opening again: nothing typed, no old message."""
        self._pin, self.dots, self.message, self.busy = "", "", "", False

    def _follow_lockout(self, _dt: float) -> None:
        """Count a lockout down (and end it) without waiting for the service to speak."""
        if self.parent is None:
            return
        left = self.service.view().pin_locked_for_s
        if left != self.locked_for:
            self.locked_for = left
            self.message = self.texts(PIN_LOCKED.format(seconds=left)) if left else ""

    def texts(self, text: Text) -> str:
        """`text` in the pad's language (kv helper)."""
        return text("en" if self.lang == "en" else "id")

    def on_key(self, key: str) -> None:
        """A key of the keypad: a digit, backspace, or done (check the PIN)."""
        if self.busy or self.locked_for > 0:
            return
        if key == "backspace":
            self._pin = self._pin[:-1]
        elif key == "done":
            self._submit()
        elif key.isdigit() and len(self._pin) < PIN_MAX:
            self._pin += key
            self.message = ""
        self.dots = "\u25cf " * len(self._pin)

    def _submit(self) -> None:
        pin, self._pin = self._pin, ""
        if len(pin) < 4:
            self.message = self.texts(PIN_SHORT)
            return
        self.busy = True
        self.message = self.texts(CHECKING)
        self.service.in_background("unlock_with_pin", pin)

    def show(self, view: AttendantView, fresh: bool) -> None:
        """Render the service's answer (`fresh`: it came after this pad opened)."""
        self.busy = view.busy
        self.locked_for = view.pin_locked_for_s
        if view.pin_locked_for_s > 0:
            self.message = self.texts(PIN_LOCKED.format(seconds=view.pin_locked_for_s))
        elif fresh and view.message is not None and not view.busy:
            self.message = self.texts(view.message)
        elif fresh and not view.busy and self.message == self.texts(CHECKING):
            self.message = ""


class AttendantOverlay(TouchShield, BoxLayout):
    """Sits on top of every screen at the bottom centre, where the screens' bars leave room
    (KTabGap): the attendant button (a touch on it never reaches the screen underneath). Only
    the tab: anything wider would lie over the bars' buttons."""

    lang = StringProperty("id")
    attendant_id = StringProperty("")

    def __init__(self, service: AttendantService, session: Any, **kwargs: Any) -> None:
        """Follow `service` and `session` (their listeners run on any thread)."""
        theme.track_window()
        super().__init__(**kwargs)
        self.service = service
        self.session = session
        self.pad: AttendantPinPad | None = None
        self.panel: Any = None
        self._closed = False
        self._unlocked = False
        self._guard = threading.Lock()
        self._tick = Clock.schedule_interval(lambda _dt: self.service.tick(), 1.0)
        Window.bind(on_touch_down=self._touched, size=self._place)
        self.bind(size=self._place)
        self._on_service: Callable[[Any], None] = lambda view: self._later(self._render, view)
        self._on_session: Callable[[Any], None] = lambda view: self._later(self._session_view, view)
        service.subscribe(self._on_service)
        session.subscribe(self._on_session)

    # -- opening ----------------------------------------------------------------------------
    def open(self) -> None:
        """The button: the panel when unlocked, the PIN pad otherwise."""
        if self._unlocked:
            self._open_panel()
            return
        if self.pad is None:  # built once: re-rendering big keys is slow on software GL
            self.pad = AttendantPinPad(self.service, lang=self.lang)
        if self.pad.parent is None:
            self.pad.reset()
            self.pad.open(animation=False)
            self.pad.show(self.service.view(), fresh=False)

    def _open_panel(self) -> None:
        from kiosk_app.ui.widgets.attendant_panel import AttendantPanel

        if self.panel is None:
            self.panel = AttendantPanel(self.service, lang=self.lang)
        if self.panel.parent is None:
            self.panel.section = "home"
            self.panel.open(animation=False)
        self.service.refresh_later()  # reads the print journal: not on the UI thread

    # -- following the services ---------------------------------------------------------------
    def _later(self, render: Any, view: Any) -> None:
        """Any thread: render on the Kivy clock (dropped once closed)."""
        if not self._closed:
            Clock.schedule_once(lambda _dt: None if self._closed else render(view), 0)

    def _render(self, view: AttendantView) -> None:
        was, self._unlocked = self._unlocked, view.unlocked
        self.attendant_id = view.attendant_id if view.unlocked else ""
        if self.pad is not None and self.pad.parent is not None:
            self.pad.show(view, fresh=True)
        if view.unlocked and not was:
            if self.pad is not None:
                self.pad.dismiss(animation=False)
            self._open_panel()
        elif was and not view.unlocked and self.panel is not None:
            self.panel.dismiss(animation=False)  # locked (the button or idle)
        if self.panel is not None:
            self.panel.show(view)

    def _session_view(self, view: Any) -> None:
        self.lang = view.language
        for modal in (self.pad, self.panel):
            if modal is not None:
                modal.lang = view.language

    def _touched(self, _window: Any, _touch: Any) -> bool:
        self.service.activity()
        return False

    def _place(self, *_args: Any) -> None:
        """Bottom centre, below the screens' own buttons."""
        self.pos = ((Window.width - self.width) / 2, 0)

    def close(self) -> None:
        """Stop following the services and take the widgets off the window."""
        self._closed = True
        self.service.unsubscribe(self._on_service)
        self.session.unsubscribe(self._on_session)
        self._tick.cancel()
        Window.unbind(on_touch_down=self._touched, size=self._place)
        for modal in (self.pad, self.panel):
            if modal is not None:
                modal.dismiss(animation=False)
        if self.pad is not None:
            self.pad._poll.cancel()
        if self.parent is not None:
            self.parent.remove_widget(self)


def attach_attendant(app: Any) -> AttendantOverlay | None:
    """Put the attendant button on top of every screen of `app` (None without the service)."""
    service = getattr(app.kiosk, "attendant", None)
    if service is None:
        return None
    overlay = AttendantOverlay(service, app.session)
    Window.add_widget(overlay)
    overlay._place()
    return overlay


load_kv(__file__)
