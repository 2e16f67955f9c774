"""What every kiosk screen shares: rendering a view, translating Text, loading its .kv once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk_app.domain.text import Text
from kiosk_app.ui.widgets.a11y import attach_a11y_bar, visible_title

if TYPE_CHECKING:  # the attract screen shows before the services are imported
    from kiosk_app.services.session.service import SessionService
    from kiosk_app.services.session.views import SessionView

_LOADED: set[str] = set()
HERE = Path(__file__).resolve().parent


def load_kv(name: str) -> None:
    """Load screens/<name>.kv once per process (Builder warns on a second load)."""
    path = str(HERE / f"{name}.kv")
    if path not in _LOADED:
        _LOADED.add(path)
        Builder.load_file(path)


class BusyArc(Widget):
    """A turning arc that shows work in progress."""

    angle = NumericProperty(0.0)

    def __init__(self, **kwargs: Any) -> None:
        """Turning is started and stopped by the screen holding the arc."""
        super().__init__(**kwargs)
        self._event: Any = None

    def start(self) -> None:
        """Begin (or keep) turning."""
        if self._event is None:
            self._event = Clock.schedule_interval(self._turn, 1 / 30)

    def stop(self) -> None:
        """Stop turning."""
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def _turn(self, dt: float) -> None:
        self.angle = (self.angle + 300 * dt) % 360


def scroll_by(scroll: Any, content_height: float, direction: int, share: float = 0.7) -> None:
    """Move a ScrollView by `share` of its visible height (+1 down, -1 up): no swipe needed."""
    if content_height <= scroll.height:
        return
    step = share * scroll.height / (content_height - scroll.height)
    scroll.scroll_y = min(1.0, max(0.0, scroll.scroll_y - direction * step))


def tr(text: Text | None, lang: str) -> str:
    """Text in the view's language; empty for None."""
    if text is None:
        return ""
    return text("en" if lang == "en" else "id")


load_kv("base")


class KioskScreen(Screen):
    """A screen that renders SessionView snapshots and hands touches to the session service."""

    lang = StringProperty("id")
    message = StringProperty("")
    assisted_by = StringProperty("")  # the attendant assisting (the title bar's badge shows it)
    prompt_text: Text | None = None  # what audio guidance says when the screen shows

    def __init__(self, **kwargs: Any) -> None:
        """Build the screen from its kv rule, under the accessibility bar every screen has."""
        super().__init__(**kwargs)
        attach_a11y_bar(self)

    def prompt(self, view: SessionView) -> Text | None:
        """The spoken prompt for `view` (screens override it when it depends on the view)."""
        return self.prompt_text or visible_title(self)

    def render(self, view: SessionView) -> None:
        """Show `view`; subclasses extend `update`."""
        self.lang = view.language
        self.assisted_by = view.assisted_by
        self.message = tr(view.message, view.language)
        self.update(view)

    def update(self, view: SessionView) -> None:
        """Screen specific rendering."""

    def left(self) -> None:
        """Another screen took over: drop anything personal this screen still shows."""

    def on_pre_enter(self, *_args: Any) -> None:
        """Start the progress arcs of this screen."""
        for arc in self._arcs():
            arc.start()

    def on_leave(self, *_args: Any) -> None:
        """Stop animating while hidden."""
        self.halt()

    def halt(self) -> None:
        """Stop every animation of this screen (leaving it, or the app stopping)."""
        for arc in self._arcs():
            arc.stop()

    def _arcs(self) -> list[BusyArc]:
        return [w for w in self.walk(restrict=True) if isinstance(w, BusyArc)]

    def t(self, text: Text | None) -> str:
        """Translate `text` into the current language."""
        return tr(text, self.lang)

    @property
    def session(self) -> SessionService:
        """The running app's session service."""
        app: Any = App.get_running_app()
        session: SessionService = app.session
        return session

    def call(self, method: str, *args: Any) -> None:
        """Call a session method by name (kv handlers stay one-liners)."""
        getattr(self.session, method)(*args)
