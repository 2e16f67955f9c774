"""The queue's reads take no row lock, on PostgreSQL with two app servers on one database, over
HTTP on loopback: while a test connection holds a called citizen's place the way a decision on
the application's page holds it (queue.counters.lock_place), the waiting room's display (its
state, its page, a new stream and a stream told of another counter's call) and the counters
page still answer.

"Answered" and "blocked" are told apart without a clock: each read runs on its own thread and
the test waits until either it answered or some backend waits for a lock (pg_locks); a read
that locked the place (the old `serving`, FOR UPDATE) is the one waiting."""

# ruff: noqa: F811  (the test takes the imported server_b fixture as an argument)

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import requests
from sqlalchemy import select

from central_server.models import Application
from tests.central.conftest import wait_for
from tests.central.officer.conftest import MONDAY, OFFICE, Central, Staff
from tests.central.officer.display_stream import Events
from tests.central.officer.test_display_updates import serving
from tests.central.officer.test_queue import (
    book,
    call_next,
    check_in,
    counter,
    open_counter,
)
from tests.central.officer.test_queue import serving as counter_serving
from tests.central.officer.test_queue_lock_order import (  # noqa: F401  (fixture, marks)
    _locks_waited,
    pytestmark,
    server_b,
)


class Read:
    """One request on its own thread; `answer` once it answered."""

    def __init__(self, request: Callable[[], Any]) -> None:
        self.answer: Any = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.request = request
        self.thread.start()

    def _run(self) -> None:
        self.answer = self.request()


def answers_while_held(dsn: str, answered: Callable[[], bool], what: str) -> None:
    """Wait until `answered()` or some backend waits for a lock: it must be the former."""
    wait_for(lambda: answered() or _locks_waited(dsn) >= 1)
    assert answered(), f"{what} waits for the place a decision holds"
    assert _locks_waited(dsn) == 0


def test_display_and_counters_page_answer_while_a_decision_holds_the_place(
    central: Central, officer: Staff, server_b: str, database_url: str
) -> None:
    first, second = book(central, officer, 2)
    central.at(MONDAY, 8)
    open_counter(officer, 1, "akta_kelahiran")
    open_counter(officer, 2, "akta_kelahiran")
    for number in (first, second):
        assert check_in(central, registration_number=number).status_code == 200
    assert call_next(officer, 1) == "A-001"
    on_b = Events(f"{server_b}/display/{OFFICE}/events")
    reads: list[Read] = []
    late: Events | None = None
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    try:
        seen = on_b.wait("state", lambda s: serving(s) == {1: "A-001", 2: ""})["event_id"]
        with central.app.state.db.transaction() as session:
            app_id = session.scalar(
                select(Application.id).where(Application.registration_number == first)
            )
        with psycopg.connect(dsn) as gate:
            # What a decision on A-001's page holds while it runs (lock_place).
            gate.execute("SELECT 1 FROM arrivals WHERE application_id = %s FOR UPDATE", (app_id,))
            for base in (central.url, server_b):
                state = Read(lambda b=base: requests.get(f"{b}/display/{OFFICE}/state", timeout=60))
                reads.append(state)
                answers_while_held(dsn, lambda r=state: r.answer is not None, "display state")
                assert state.answer.status_code == 200
                assert serving(state.answer.json()) == {1: "A-001", 2: ""}
            page = Read(lambda: requests.get(f"{server_b}/display/{OFFICE}", timeout=60))
            reads.append(page)
            answers_while_held(dsn, lambda: page.answer is not None, "display page")
            assert page.answer.status_code == 200 and "A-001" in page.answer.text
            shown = Read(lambda: counter_serving(officer, 1))
            reads.append(shown)
            answers_while_held(dsn, lambda: shown.answer is not None, "counters page")
            assert shown.answer == "A-001"
            # A display connecting now gets its first state.
            late = Events(f"{central.url}/display/{OFFICE}/events")
            answers_while_held(
                dsn, lambda: any(k == "state" for k, _ in late.events), "a new stream"
            )
            # Counter 2 calls the next citizen (passing over nothing: A-002 is not held); the
            # streams' hubs on both servers read the new state and send it.
            assert counter(officer, 2, "next").status_code == 303
            for events in (on_b, late):
                answers_while_held(dsn, lambda e=events: _news(e, seen), "a display's stream")
            gate.rollback()
    finally:
        on_b.close()
        if late is not None:
            late.close()
        for read in reads:
            read.thread.join(timeout=60)


def _news(events: Events, seen: int) -> bool:
    """The stream was sent a state newer than `seen` with A-002 at counter 2."""
    return any(
        k == "state" and d["event_id"] > seen and serving(d).get(2) == "A-002"
        for k, d in list(events.events)
    )
