"""Pushes queue changes to the waiting-room displays connected to this app-server process.

A change is committed to the database by any app server; on PostgreSQL its NOTIFY (sent in the
same transaction) reaches every process's LISTEN connection, on SQLite the process that made it
wakes its own hub: every queue step is logged by queue.core.record, which notes the office in
the session, and the hub reads that note after each commit of the process's sessions (so no
route has to remember to wake the displays). Woken, the hub reads the office's new calls and
state once and fans them out to every display stream of that office in this process
(server-sent events).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from central_server.db import Database
from central_server.queue import core, display

log = logging.getLogger("central_server.queue.hub")

KEEPALIVE_S = 15.0  # a comment line keeps proxies from closing an idle stream
RETRY_MS = 1000  # the browser reconnects one second after a dropped stream
LISTEN_RETRY_S = 1.0
QUEUE_SIZE = 200  # messages a slow display may lag behind before it is dropped (it reconnects)
LOOKBACK = 200  # event ids before the newest sent that are read again (late commits)
MAX_REPLAYED_CALLS = 3  # calls a reconnecting display announces again, newest last
# Open streams a process serves: an office has a few TVs (and their reconnects); past these a
# new stream is refused (503, the browser retries) instead of each costing a queue and a read.
MAX_STREAMS_PER_OFFICE = 50
MAX_STREAMS = 500


def sse(kind: str, event_id: int, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {kind}\nid: {event_id}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class DisplayHub:
    """Display streams of this process by office; woken by NOTIFY or by this process's commits."""

    def __init__(self, db: Database, today: Callable[[], date]) -> None:
        self.db, self.today = db, today
        self._streams: dict[str, set[asyncio.Queue[str | None]]] = {}
        self._sent: dict[str, int] = {}  # office -> newest event id fanned out
        self._announced: dict[str, set[int]] = {}  # office -> calls sent (ids near the newest)
        self._dirty: set[str] = set()
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set while the LISTEN connection is up (tests)
        self._closing = False
        if not db.is_postgresql:
            event.listen(db.sessions, "after_commit", self._after_commit)

    # --- waking --------------------------------------------------------------------------

    def _after_commit(self, session: Session) -> None:
        """A session of this process committed: wake the displays of the offices whose queue
        it changed (a savepoint's release waits for the transaction's own commit; a session
        rolled back is discarded with its note)."""
        if session.in_nested_transaction():
            return
        for office_code in sorted(session.info.pop(core.CHANGED, ())):
            self.committed(office_code)

    def committed(self, office_code: str) -> None:
        """A request thread committed a change: on SQLite wake this process's displays (on
        PostgreSQL the transaction's NOTIFY does it for every process, this one included)."""
        if self.db.is_postgresql or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self.wake, office_code)

    def wake(self, office_code: str) -> None:
        """Event loop: fan the office's news out (coalesced: one read per burst of changes)."""
        if office_code not in self._streams:
            return
        self._dirty.add(office_code)
        if office_code not in self._pumps:
            self._pumps[office_code] = asyncio.get_running_loop().create_task(
                self._pump(office_code)
            )

    async def _pump(self, office_code: str) -> None:
        try:
            while office_code in self._dirty:
                self._dirty.discard(office_code)
                try:
                    await self._fan_out(office_code)
                except Exception:  # the database is away: the next change or reconnect retries
                    log.exception("queue display update of office %s failed", office_code)
                    await asyncio.sleep(LISTEN_RETRY_S)
        finally:
            self._pumps.pop(office_code, None)

    async def _fan_out(self, office_code: str) -> None:
        # Event ids come from a sequence: a transaction may commit after one with a higher id
        # (and the state's newest id may be read after the calls). So the calls are read from
        # LOOKBACK ids before the newest sent, and each is sent once (by id).
        after = self._sent.get(office_code, 0)
        calls, state = await run_in_threadpool(self._read, office_code, max(0, after - LOOKBACK))
        announced = self._announced.setdefault(office_code, set())
        fresh = [c for c in calls if c["event_id"] not in announced]
        announced.update(c["event_id"] for c in fresh)
        newest = max([after, state["event_id"], *(c["event_id"] for c in fresh)])
        self._sent[office_code] = newest
        self._announced[office_code] = {i for i in announced if i > newest - LOOKBACK}
        messages = [sse("call", c["event_id"], c) for c in fresh]
        messages.append(sse("state", state["event_id"], state))
        for stream in list(self._streams.get(office_code, ())):
            for message in messages:
                try:
                    stream.put_nowait(message)
                except asyncio.QueueFull:  # a stuck display: drop it, it reconnects and catches up
                    self._close(stream)
                    break

    def _read(
        self, office_code: str, after: int | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The calls after event `after` (None: none) and the office's state, in one read."""
        day = self.today()
        with self.db.transaction() as session:
            events = [] if after is None else display.calls_since(session, office_code, after, day)
            calls = [display.call_message(e) for e in events]
            return calls, display.display_state(session, office_code, day)

    # --- streams -------------------------------------------------------------------------

    async def stream(self, office_code: str, last_event_id: int | None) -> AsyncIterator[str]:
        """One display's event stream: full state first (after the calls it missed when
        reconnecting with Last-Event-ID), then every change, until the client goes away."""
        self._start()
        if self._closing:
            return
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_SIZE)
        self._streams.setdefault(office_code, set()).add(queue)
        try:
            calls, state = await run_in_threadpool(self._read, office_code, last_event_id)
            if office_code not in self._sent:
                self._sent[office_code] = state["event_id"]
                self._announced[office_code] = {c["event_id"] for c in calls}
            yield f"retry: {RETRY_MS}\n\n"
            for call in calls[-MAX_REPLAYED_CALLS:]:
                yield sse("call", call["event_id"], call)
            yield sse("state", state["event_id"], state)
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if message is None:
                    return
                yield message
        finally:
            streams = self._streams.get(office_code)
            if streams is not None:
                streams.discard(queue)
                if not streams:
                    del self._streams[office_code]
                    self._sent.pop(office_code, None)
                    self._announced.pop(office_code, None)

    def _close(self, stream: asyncio.Queue[str | None]) -> None:
        while not stream.empty():
            stream.get_nowait()
        stream.put_nowait(None)

    def drop_streams(self) -> int:
        """End every display stream of this process (restarts, tests); the browsers reconnect."""
        dropped = 0
        for streams in self._streams.values():
            for stream in streams:
                self._close(stream)
                dropped += 1
        return dropped

    def close_soon(self) -> None:
        """From any thread, before the server stops: end the streams now, so that the server's
        graceful shutdown does not wait for them (the browsers reconnect to another server)."""
        if self._loop is None:
            return

        def close() -> None:
            self._closing = True
            self.drop_streams()

        self._loop.call_soon_threadsafe(close)

    def connected(self) -> int:
        """Display streams open in this process."""
        return sum(len(s) for s in self._streams.values())

    def full(self, office_code: str) -> bool:
        """True when this process serves as many streams as it may (of the office, or all)."""
        mine = len(self._streams.get(office_code, ()))
        return mine >= MAX_STREAMS_PER_OFFICE or self.connected() >= MAX_STREAMS

    # --- PostgreSQL LISTEN ---------------------------------------------------------------

    def _start(self) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if self.db.is_postgresql and self._listener is None:
            self._listener = self._loop.create_task(self._listen())

    async def _listen(self) -> None:
        import psycopg  # the PostgreSQL driver: loaded only where PostgreSQL is used

        url = make_url(self.db.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {core.CHANNEL}")
                    self.listening.set()
                    for office_code in list(self._streams):  # catch up what a gap missed
                        self.wake(office_code)
                    async for notice in conn.notifies():
                        self.wake(notice.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database restarts: listen again
                log.warning("queue LISTEN connection lost (%s); reconnecting", exc)
            self.listening.clear()
            await asyncio.sleep(LISTEN_RETRY_S)

    async def aclose(self) -> None:
        """Stop listening and end the streams (server shutdown)."""
        if event.contains(self.db.sessions, "after_commit", self._after_commit):
            event.remove(self.db.sessions, "after_commit", self._after_commit)
        self.drop_streams()
        tasks = [t for t in (self._listener, *self._pumps.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._listener = None
