"""Moves session views from any thread onto the Kivy main thread, in order."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock

if TYPE_CHECKING:  # the kiosk shows its first frame before the services are imported
    from kiosk_app.services.session.service import SessionService
    from kiosk_app.services.session.views import SessionView

log = logging.getLogger(__name__)


class SessionBridge:
    """Subscribes to the session service and hands each view to `on_view` on the Kivy clock."""

    def __init__(self, session: SessionService, on_view: Callable[[SessionView], None]) -> None:
        self._session = session
        self._on_view = on_view
        self._lock = threading.Lock()
        self._queue: list[SessionView] = []
        self._scheduled = False
        self._closed = False
        self._subscribed = False

    def start(self) -> None:
        """Subscribe once; the service calls back at once with its current view."""
        self._closed = False
        if not self._subscribed:
            self._subscribed = True
            self._session.subscribe(self._receive)

    def close(self) -> None:
        """Stop delivering views and let go of the service (and it of the app)."""
        with self._lock:
            self._closed = True
            self._queue.clear()
        if self._subscribed:
            self._subscribed = False
            self._session.unsubscribe(self._receive)

    def _receive(self, view: SessionView) -> None:
        """Called from any thread: queue the view and wake the main thread once."""
        with self._lock:
            if self._closed:
                return
            self._queue.append(view)
            if self._scheduled:
                return
            self._scheduled = True
        # -1: before the coming frame is drawn, so a touch and the view it caused share one frame
        Clock.schedule_once(self._deliver, -1)

    def _deliver(self, _dt: Any = None) -> None:
        """On the main thread: render views, skipping those a same-state view replaced."""
        with self._lock:
            views, self._queue = self._queue, []
            self._scheduled = False
            if self._closed:
                return
        for index, view in enumerate(views):
            later = views[index + 1] if index + 1 < len(views) else None
            # Keep every state change (the pilot and screens_seen see each screen) but
            # render only the newest of a run of views in the same state.
            if later is not None and later.state is view.state:
                continue
            try:
                self._on_view(view)
            except Exception:  # a display bug must not stop the kiosk or the views after it
                log.exception("showing the %s view failed", view.state.value)

    def flush(self) -> None:
        """Deliver pending views now (main thread only; used by the pilot)."""
        self._deliver()
