"""The waiting room's display state and the counters page read who every open counter serves
in a fixed number of SQL statements, however many counters are open (one `serving` query a
counter before), on SQLite and PostgreSQL over HTTP on loopback: the statements each request
sends are counted on the server's engine (a SQLAlchemy event listener), with 2 and then 8
counters open and serving, and what both show is checked counter by counter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from sqlalchemy import event

from tests.central.officer.conftest import OFFICE, Central, Staff
from tests.central.officer.test_display_updates import serving
from tests.central.officer.test_queue import arrived, call_next, open_counter

SERVING_RE = re.compile(r'id="counter-(\d+)".*?class="serving">([^<]*)<', re.S)


@contextmanager
def statements(central: Central) -> Iterator[list[str]]:
    """The SQL statements the server sends while the block runs."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    engine = central.app.state.db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def counted(
    central: Central, request: Callable[[], requests.Response]
) -> tuple[int, requests.Response]:
    """How many statements one request sent, and its answer."""
    with statements(central) as sent:
        r = request()
    assert r.status_code == 200, r.text
    assert any("queue_counters" in s for s in sent), sent  # the counters were read here
    return len(sent), r


@pytest.fixture
def quiet(central: Central) -> Central:
    """The server with its background loops (notifications, lease sweep) stopped: every
    statement sent during a request is then the request's own."""
    central.app.state.review.stop()
    central.app.state.lease_sweep.stop()
    return central


def test_the_display_and_the_counters_page_read_all_counters_at_once(
    quiet: Central, officer: Staff
) -> None:
    central = quiet
    arrived(central, officer, 9)

    def display() -> requests.Response:
        return requests.get(f"{central.url}/display/{OFFICE}/state", timeout=10)

    def page() -> requests.Response:
        return officer.get(f"/officer/counters?office={OFFICE}")

    sent: dict[int, tuple[int, int]] = {}
    opened = 0
    for now_open in (2, 8):
        for number in range(opened + 1, now_open + 1):
            open_counter(officer, number)
            assert call_next(officer, number) == f"A-{number:03d}"
        opened = now_open
        expected = {n: f"A-{n:03d}" for n in range(1, now_open + 1)}
        on_display, answer = counted(central, display)
        state = answer.json()
        assert serving(state) == expected
        assert state["next"] == [f"A-{n:03d}" for n in range(now_open + 1, 10)]
        on_page, answer = counted(central, page)
        assert {int(n): shown for n, shown in SERVING_RE.findall(answer.text)} == expected
        sent[now_open] = (on_display, on_page)
    assert sent[8] == sent[2], sent  # (display, page) statements: one more a counter before
