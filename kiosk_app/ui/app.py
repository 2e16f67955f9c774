"""The kiosk's Kivy application: one screen per session state, driven by session views."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.screenmanager import FadeTransition, NoTransition, ScreenManager

from kiosk_app.domain.session import SessionState
from kiosk_app.systemd_notify import notify, watchdog_interval_s
from kiosk_app.ui.bridge import SessionBridge
from kiosk_app.ui.screens import screen_class
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.settle import TouchSettle
from kiosk_app.ui.theme import get_theme
from kiosk_app.ui.widgets.a11y import Accessibility

if TYPE_CHECKING:  # a cold start shows the attract screen before importing the services
    from kiosk_app.services.session.views import SessionView

log = logging.getLogger(__name__)

TICK_S = 0.5
READY_RETRY_S = 0.5  # while systemd (or the relay) is not reading our READY=1


# Kivy keeps rendered text input lines (keyed by their text) in its Cache for a minute.
_TEXT_CACHES = ("textinput.label", "textinput.width")
_IDLE_SCREENS = (SessionState.ATTRACT.value, SessionState.CLOSED.value)


def forget_text_caches() -> None:
    """Drop every cached text rendering (names and numbers a citizen typed or saw)."""
    from kivy.cache import Cache

    for category in _TEXT_CACHES:
        Cache.remove(category)


class _NotBuiltYet:
    """A service before a cold-started kiosk has built it: calls in that moment are dropped
    (a touch on the session, a prompt to speak)."""

    def __init__(self, what: str) -> None:
        self._what = what

    def __getattr__(self, name: str) -> Callable[..., None]:
        log.info("%s not built yet; %s() ignored", self._what, name)
        return lambda *args, **kwargs: None


class AnjunganApp(App):
    """Renders the session service's views; every touch counts as activity."""

    title = "Anjungan Dukcapil Mandiri"

    def __init__(self, kiosk: Any, *, animate: bool = True, **kwargs: Any) -> None:
        """`kiosk` from bootstrap.build_kiosk (its `.session` and `.audio` are used); None for
        a cold start, which builds it after the first frame."""
        super().__init__(**kwargs)
        self.kiosk = kiosk
        self.session: Any = kiosk.session if kiosk is not None else _NotBuiltYet("session")
        self.animate = animate
        self.view: SessionView | None = None
        self.screens_seen: list[str] = []
        self.warning: Any = None
        self._tick_event: Any = None
        self._watchdog_event: Any = None
        self._bridge: SessionBridge | None = None
        self._build_kiosk: Callable[[], Any] | None = None
        self._simulated_reader = False
        self._started = False
        self._shown: str | None = None
        self._to_prepare: list[str] = []
        self._prepare_event: Any = None
        self._flush: Callable[..., None] | None = None
        # Touches right after a screen or dialog change reach nothing (a double tap's second).
        self.settle = TouchSettle()
        # A cold start speaks once the kiosk (and its audio guidance) is built.
        audio: Any = kiosk.audio if kiosk is not None else _NotBuiltYet("audio")
        self.a11y = Accessibility(audio)

    @classmethod
    def cold_start(cls, config: Any, build_kiosk: Callable[[], Any], **kwargs: Any) -> AnjunganApp:
        """An app showing the attract screen first, then calling `build_kiosk()` a frame later."""
        app = cls(None, **kwargs)
        app._build_kiosk = build_kiosk
        # Until the session's first view: the simulator's button as the config says.
        app._simulated_reader = getattr(config.devices, "card_reader", "") == "simulated"
        return app

    # -- lifecycle ---------------------------------------------------------------------------
    def build(self) -> ScreenManager:
        """The attract screen now; the other screens once it is on display."""
        get_theme().track_window()  # also paints the screens' background
        if os.environ.get("SDL_VIDEODRIVER") == "offscreen":
            # Headless (tests, benchmarks, the demo): swapping an offscreen surface is a no-op,
            # so Mesa would rasterise a frame only when the next one touches its textures.
            # Flush as a display's swap does, so each frame is drawn when it is shown.
            from kivy.graphics.opengl import glFlush

            self._flush = lambda *_: glFlush()
            Window.bind(on_flip=self._flush)  # unbound in on_stop: one per app, not per run
        self.a11y.start()
        transition = FadeTransition(duration=0.15) if self.animate else NoTransition()
        manager = ScreenManager(transition=transition)
        manager.bind(current=self.settle.changed)
        attract = screen_class(SessionState.ATTRACT.value)(name=SessionState.ATTRACT.value)
        attract.simulated = self._simulated_reader
        manager.add_widget(attract)
        manager.current = SessionState.ATTRACT.value
        self._to_prepare = [s.value for s in SessionState if s is not SessionState.ATTRACT]
        if self._build_kiosk is None:
            self._prepare_event = Clock.schedule_once(self._prepare_next_screen, 0.2)
        return manager

    def screen(self, name: str) -> KioskScreen:
        """The screen for state `name`, built on first use."""
        if not self.root.has_screen(name):
            self.root.add_widget(screen_class(name)(name=name))
        screen: KioskScreen = self.root.get_screen(name)
        return screen

    def _prepare_next_screen(self, _dt: float) -> None:
        # One screen per frame after start-up, so the first touches find them ready.
        if self._to_prepare and self.root is not None:
            self.screen(self._to_prepare.pop(0))
            if self._to_prepare:
                self._prepare_event = Clock.schedule_once(self._prepare_next_screen, 0)
                return
            # Every screen is built and lives as long as the app (~240,000 objects of Kivy
            # widget cycles): keep them out of the collector, whose full passes walking them
            # cost ~0.4 s of CPU each, a stutter under a citizen's finger. Unfrozen in on_stop.
            # (No collection first: that would be the very pause, and start-up's little garbage
            # is freed at stop.)
            self._prepare_event = None
            gc.freeze()

    def on_start(self) -> None:
        """Listen to the session (a cold start: once built), tick its timers, count touches."""
        self._started = True
        if self._build_kiosk is not None:
            Window.bind(on_flip=self._after_first_frame)
            return
        self._listen()

    def _after_first_frame(self, *_args: Any) -> None:
        Window.unbind(on_flip=self._after_first_frame)
        Clock.schedule_once(self._build_now, 0)  # in the next frame: this one is on screen now

    def _build_now(self, _dt: float) -> None:
        build, self._build_kiosk = self._build_kiosk, None
        if build is None or not self._started:
            return
        self.kiosk = build()
        self.session = self.kiosk.session
        self.a11y.audio = self.kiosk.audio
        self._listen()
        self._prepare_event = Clock.schedule_once(self._prepare_next_screen, 0.2)

    def _listen(self) -> None:
        # The settle gate first: handlers bound later run before it, so every touch still
        # counts as activity (here and on the attendant's button) before it may be held back.
        self.settle.listen(Window)
        Window.bind(on_touch_down=self._on_any_touch)
        self._tick_event = Clock.schedule_interval(self._tick, TICK_S)
        # systemd: ready once the first frame is up and the session listens; the watchdog is fed
        # from the main loop, so a frozen UI stops feeding it and systemd restarts the kiosk.
        Clock.schedule_once(self._ready, 0)
        interval = watchdog_interval_s()
        if interval is not None:
            self._watchdog_event = Clock.schedule_interval(self._feed_watchdog, interval)
        self._bridge = SessionBridge(self.session, self.show)
        self._bridge.start()
        from kiosk_app.ui.widgets.attendant import attach_attendant

        self.attendant_overlay = attach_attendant(self)  # the "Petugas" button on every screen

    def _ready(self, _dt: float = 0.0) -> None:
        """READY=1 to systemd; sent again a little later while its receiver is not reading
        (notify never waits on the main loop). Without it systemd would restart the kiosk."""
        if self._started and os.environ.get("NOTIFY_SOCKET") and not notify("READY=1"):
            Clock.schedule_once(self._ready, READY_RETRY_S)

    @staticmethod
    def _feed_watchdog(_dt: float) -> None:
        """WATCHDOG=1; one not sent is dropped. Returns None on purpose: Kivy unschedules an
        interval whose callback returns False, and one unsent ping once ended the feeding."""
        notify("WATCHDOG=1")

    def on_stop(self) -> None:
        """Stop listening; the kiosk itself is closed by whoever built it."""
        self._started = False
        Window.unbind(on_flip=self._after_first_frame)
        if self._flush is not None:
            Window.unbind(on_flip=self._flush)
            self._flush = None
        self._to_prepare = []  # a stopped app builds no more screens (nor stays alive for it)
        if self._prepare_event is not None:
            self._prepare_event.cancel()
            self._prepare_event = None
        gc.unfreeze()  # what the app held can be collected once it is gone
        if self._bridge is not None:
            self._bridge.close()
        overlay = getattr(self, "attendant_overlay", None)
        if overlay is not None:
            overlay.close()
            self.attendant_overlay = None
        if self._tick_event is not None:
            self._tick_event.cancel()
            self._tick_event = None
        if self._watchdog_event is not None:
            self._watchdog_event.cancel()
            self._watchdog_event = None
        Window.unbind(on_touch_down=self._on_any_touch)
        self.settle.stop(Window)
        self._close_warning()
        self.a11y.close()
        if self.root is not None:
            for screen in self.root.screens:
                screen.halt()

    def start_embedded(self) -> None:
        """Start without a blocking main loop (tests and the demo pump EventLoop.idle())."""
        from kivy.base import runTouchApp

        self._run_prepare()
        runTouchApp(embedded=True)

    def stop_embedded(self) -> None:
        """Counterpart of start_embedded; leaves Kivy's loop usable for a later app or test."""
        from kivy.base import EventLoop

        self.stop()
        EventLoop.quit = False  # stopTouchApp sets it, and idle() then skips layout and drawing
        self._cancel_animations()
        # Kivy's App.stop removes the window's children while iterating over them, so with a
        # dialog open one was left: the screen manager, every screen drawn under the next app
        # and in reach of its touches. Everything on the window is this app's.
        for child in list(Window.children):
            Window.remove_widget(child)

    def _cancel_animations(self) -> None:
        """Cancel the animations still running on this app's widgets (a ScrollView's fading bar):
        Kivy keeps running animations in a class-level set, so one left behind would keep its
        widget, the widget's screen and the whole app alive, observing the theme, for ever."""
        from kivy.animation import Animation

        for screen in self.root.screens if isinstance(self.root, ScreenManager) else []:
            for widget in screen.walk(restrict=True):
                Animation.cancel_all(widget)

    # -- rendering ---------------------------------------------------------------------------
    def show(self, view: SessionView) -> None:
        """Main thread: switch to the screen for `view.state` and render it."""
        if not self._started or self.root is None:
            return
        self.view = view
        name = view.state.value
        screen = self.screen(name)
        if self._shown is not None and self._shown != name:
            try:
                self.screen(self._shown).left()
            except Exception:
                log.exception("leaving %s failed", self._shown)
        if name in _IDLE_SCREENS and self._shown not in (None, *_IDLE_SCREENS):
            forget_text_caches()  # the session ended: its texts leave Kivy's caches too
        self._shown = name
        try:
            screen.render(view)
        except Exception:  # a rendering bug must not take the kiosk down
            log.exception("rendering %s failed", name)
        if self.root.current != name:
            self.root.current = name
        if not self.screens_seen or self.screens_seen[-1] != name:
            self.screens_seen.append(name)
        self._update_warning(view)
        self.a11y.on_view(view, screen)

    def current_screen(self) -> KioskScreen:
        """The screen on display."""
        screen: KioskScreen = self.root.current_screen
        return screen

    def _update_warning(self, view: SessionView) -> None:
        seconds = view.warning_seconds_left
        if seconds is None:
            self._close_warning()
            return
        if self.warning is None:
            from kiosk_app.ui.widgets import InactivityWarning

            self.warning = InactivityWarning(seconds_left=seconds, lang=view.language)
            self.warning.pilot_id = "inactivity_warning"
            self.warning.still_here_button.pilot_id = "still_here"
            self.warning.bind(on_still_here=self._still_here)
            self.warning.open(animation=False)
        else:
            self.warning.seconds_left = seconds
            self.warning.lang = view.language

    def _still_here(self, *_args: Any) -> None:
        self.session.still_here()

    def _close_warning(self) -> None:
        if self.warning is not None:
            warning, self.warning = self.warning, None
            # Kivy may keep a dismissed modal a while: it must not hold the app (see confirm.py)
            warning.unbind(on_still_here=self._still_here)
            warning.dismiss(animation=False)

    # -- input and timers --------------------------------------------------------------------
    def _on_any_touch(self, _window: Any, _touch: Any) -> bool:
        self.session.activity()
        return False

    def _tick(self, _dt: float) -> None:
        self.session.tick()
