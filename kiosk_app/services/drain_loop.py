"""The background loop shared by the kiosk's durable senders (outbox, surveys)."""

from __future__ import annotations

import logging
import threading
from typing import Protocol

log = logging.getLogger(__name__)


class Paced(Protocol):
    """A sender's backoff, as far as the loop needs it."""

    @property
    def base_s(self) -> float:
        """Seconds to wait after a round that crashed."""


class DrainLoop:
    """A daemon thread calling drain_once() until stop(); wake() cuts the wait short.

    The class using it calls `DrainLoop.__init__`, sets `backoff` (with `base_s`) and provides
    drain_once() and _next_wait() (seconds until the next round)."""

    thread_name = "drain-loop"
    backoff: Paced

    def __init__(self) -> None:
        """No thread yet: start() makes one."""
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._unreachable = threading.Event()  # set while the server gives no answer at all

    def server_unreachable(self) -> None:
        """The server gave no answer (not a Retry-After): server_answered() will catch up."""
        self._unreachable.set()

    def server_answered(self) -> None:
        """The server answered a request (any sender's, a heartbeat's): after an outage, every
        row waiting out its backoff is due now, and the loop looks at once."""
        if not self._unreachable.is_set():
            return
        self._unreachable.clear()
        try:
            brought = self._bring_forward()
        except Exception:  # the hook runs on another service's thread: never raise into it
            log.exception("%s: bringing rows forward failed", self.thread_name)
            return
        log.info(
            "%s: the central server answers again; %d row(s) due now", self.thread_name, brought
        )
        self._wake.set()

    def _bring_forward(self) -> int:
        """Make rows waiting out a backoff due now and reset the failure count; return them
        (provided by the sender)."""
        raise NotImplementedError

    def drain_once(self) -> object:
        """One round of sending (provided by the sender)."""
        raise NotImplementedError

    def _next_wait(self) -> float:
        """Seconds to wait before the next round (provided by the sender)."""
        raise NotImplementedError

    def wake(self) -> None:
        """Look at the queue now (e.g. a row was queued)."""
        self._wake.set()

    def start(self) -> None:
        """Send in the background until stop()."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background loop and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain_once()
                wait = self._next_wait()
            except Exception:  # the sender must never die
                log.exception("%s round failed", self.thread_name)
                wait = self.backoff.base_s
            self._wake.wait(wait)
            self._wake.clear()
