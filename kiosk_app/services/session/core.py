"""The session's shared machinery: lock, state machine, clock, worker, generation, views."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec

from kiosk_app.domain.session import EndReason, SessionMachine, SessionState, Timeouts
from kiosk_app.domain.text import Language, Text
from kiosk_app.services.background import watched
from kiosk_app.services.session.views import SessionView

log = logging.getLogger("kiosk_app.services.session.service")

Listener = Callable[[SessionView], None]
P = ParamSpec("P")


def as_language(lang: str) -> Language | None:
    """`lang` as one of the kiosk's languages, or None."""
    return "id" if lang == "id" else "en" if lang == "en" else None


class SessionCore:
    """What every journey shares; each journey keeps its own state and wipes it at visit end."""

    def __init__(
        self,
        *,
        timeouts: Timeouts,
        language: Language,
        clock: Callable[[], float],
        render: Callable[[], SessionView],
    ) -> None:
        """`render` composes the view from the journeys (called with the lock held)."""
        self.lock = threading.RLock()
        self.machine = SessionMachine(timeouts=timeouts)
        self.clock = clock  # replaceable: the UI pilot holds it still or jumps it forward
        # Shared by every journey, so owned here: set_language() sets the language, tick()
        # and the opening hours set it back to the default for the next citizen.
        self.default_language: Language = language
        self.language: Language = language
        # The screen's message line: written by whichever journey answers the citizen's last
        # action (or the card reader's last event); end_visit() resets it.
        self.message: Text | None = None
        self.generation = 0  # bumps when a visit ends, so late worker results are dropped
        self.view = SessionView(
            state=SessionState.ATTRACT,
            language=language,
            reader_available=True,
            simulated_reader=False,
        )
        self._render = render
        self._wipes: list[Callable[[], None]] = []
        self._listeners: list[Listener] = []
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="session-worker")

    # -- time and visits ---------------------------------------------------------------------
    def now(self) -> float:
        """The session's monotonic time."""
        return self.clock()

    def state(self) -> SessionState:
        """The machine's state now (a call: type checkers keep no stale narrowing of it)."""
        return self.machine.state

    def touch(self) -> None:
        """Count as the citizen's activity (lock held)."""
        self.machine.activity(self.now())

    def on_visit_end(self, wipe: Callable[[], None]) -> None:
        """Call `wipe` (lock held) whenever a visit ends: a journey forgets its visit there."""
        self._wipes.append(wipe)

    def end_visit(self) -> None:
        """The visit is over: drop late results and wipe every journey (lock held)."""
        self.generation += 1
        self.message = self.machine.error
        for wipe in self._wipes:
            wipe()

    def is_current(self, generation: int) -> bool:
        """True while the visit that started some work is still the running one (lock held)."""
        return generation == self.generation

    # -- citizen input every screen shares ---------------------------------------------------
    def set_language(self, lang: str) -> None:
        """Switch the language of everything shown (kept for this visit)."""
        language = as_language(lang)
        if language is None:
            return
        with self.lock:
            self.language = language
            self.touch()
        self.publish()

    def activity(self) -> None:
        """Any touch: resets the inactivity timer (re-rendered only when a warning showed)."""
        with self.lock:
            shown = self.machine.warning_deadline is not None
            self.touch()
        if shown:
            self.publish()

    def still_here(self) -> None:
        """The citizen answered the inactivity warning."""
        with self.lock:
            self.machine.still_here(self.now())
        self.publish()

    def tick(self, follow_hours: Callable[[], None]) -> None:
        """Advance the timers; `follow_hours` (lock held) may close or open the kiosk."""
        with self.lock:
            m, now = self.machine, self.now()
            was_goodbye = m.state is SessionState.GOODBYE
            was_reading = m.state is SessionState.READING_CARD
            if m.tick(now) and m.state is SessionState.GOODBYE:
                if not was_goodbye:
                    log.info("session ended: %s", m.end_reason)
                self.end_visit()
            elif was_reading and m.state is SessionState.ATTRACT:
                log.warning(
                    "card read gave no answer within %.1f s; back to the prompt",
                    m.timeouts.reading_s,
                )
                self.end_visit()  # a late identity or failure of that read is dropped
            if was_goodbye and m.state is SessionState.ATTRACT:
                self.language = self.default_language  # the next citizen starts afresh
            follow_hours()
            changed = (self.view.state, self.view.warning_seconds_left, self.view.message) != (
                m.state,
                m.warning_seconds_left(now),
                self.message,
            )
        if changed:
            self.publish()

    def cancel(self) -> None:
        """The kiosk stops: end a running visit and wipe it."""
        with self.lock:
            if self.machine.state is not SessionState.ATTRACT:
                self.machine.end(EndReason.CANCELLED, self.now())
            self.end_visit()

    # -- work and views ----------------------------------------------------------------------
    def run(self, job: Callable[P, None], *args: P.args, **kwargs: P.kwargs) -> None:
        """Run `job` on the session's single worker thread; an exception it raises is logged."""
        watched(self._worker.submit(job, *args, **kwargs))

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every new view, from whichever thread made the change."""
        with self.lock:
            self._listeners.append(listener)
        listener(self.view)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling `listener` (an app that stops lets go of the session, and the session
        of the app: a stopped kiosk keeps no screen alive)."""
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def publish(self) -> None:
        """Render a new view and hand it to every listener."""
        with self.lock:
            self.view = self._render()
            view, listeners = self.view, list(self._listeners)
        for listener in listeners:
            try:
                listener(view)
            except Exception:
                log.exception("session listener failed")

    def close(self) -> None:
        """Stop the worker (queued work is dropped; running work finishes); tell nobody of
        later views."""
        self._worker.shutdown(wait=True, cancel_futures=True)
        with self.lock:
            self._listeners.clear()
