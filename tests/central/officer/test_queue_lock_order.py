"""The lock order of a decision on the application's page against the counters' actions on the
same citizen, on PostgreSQL with two app servers on one database, over HTTP on loopback: the
place (arrivals) is locked before the application, on both paths (queue.counters.lock_place).

Deterministically: a test connection holds the citizen's place, the counter's action starts and
waits for it, then the page's decision starts and runs until it waits too; then the place is let
go. With the page locking the application first (the other order), the counter's "Selesai
verifikasi" (which writes the application) and its recall (whose logged event takes a key-share
lock on the application) deadlock with it: PostgreSQL fails one request (HTTP 500). Then many
times at random: both pressed at the same moment on two app servers.

Either way: nobody gets an error page, the place is ended exactly once (one finish), the counter
is free, every change logged once, the application decided once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest
import requests
from sqlalchemy import func, select

from central_server.app import create_app, on_day
from central_server.embedded import EmbeddedServer
from central_server.models import Application
from central_server.review_models import ApplicationEvent, Arrival
from tests.central.conftest import wait_for
from tests.central.officer.conftest import MONDAY, Central, Staff
from tests.central.officer.test_queue import book, call_next, check_in, counter, open_counter
from tests.central.officer.test_queue import serving as counter_serving
from tests.central.officer.test_queue_review import arrival_state, queue_events
from tests.central.test_hold_notice import together

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

ACTIONS = ("finish", "recall", "no_show", "transfer", "close", "next")


@pytest.fixture
def server_b(central: Central, database_url: str) -> Iterator[str]:
    """A second app server on the same PostgreSQL database, on the same calendar."""
    other = create_app(
        database_url,
        today=lambda: central.calendar["today"],
        clock=lambda: central.clock.get("now") or on_day(central.calendar["today"]),
        secret_key="test-session-key-0123456789abcdef",
    )
    server = EmbeddedServer(other, "127.0.0.1", 0).start()
    try:
        yield server.base_url
    finally:
        server.stop()


def _locks_waited(dsn: str) -> int:
    """Locks some backend is waiting for right now."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()
    return int(row[0]) if row else 0


def decide(officer: Staff, number: str, decision: str) -> Callable[[], requests.Response]:
    data = {"reason": "akta lama masih berlaku"} if decision == "reject" else {}
    return lambda: officer.act(number, decision, **data)


def prepare(officer: Staff, action: str) -> None:
    """What the counter's action needs first (the citizen is called to counter 1)."""
    if action == "no_show":
        for _ in range(2):
            assert counter(officer, 1, "recall").status_code == 303


def press(officer: Staff, action: str) -> Callable[[], requests.Response]:
    extra = {"target": "2"} if action == "transfer" else {}
    return lambda: counter(officer, 1, action, **extra)


def settled(central: Central, officer: Staff, number: str, action: str) -> list[str]:
    """Check the end state of one citizen after the race; the queue event kinds logged."""
    assert arrival_state(central, number) == "done"
    kinds = [e.kind for e in queue_events(central, number)]
    assert kinds.count("finish") == 1 and kinds[-1] == "finish", kinds
    assert kinds.count("checkin") == kinds.count("call") == 1, kinds
    with central.app.state.db.transaction() as session:
        app_id = session.scalar(
            select(Application.id).where(Application.registration_number == number)
        )
        status = session.scalar(select(Application.status).where(Application.id == app_id))
        decisions = session.scalar(
            select(func.count())
            .select_from(ApplicationEvent)
            .where(
                ApplicationEvent.application_id == app_id,
                ApplicationEvent.from_status == "approved",
                ApplicationEvent.to_status != "approved",  # not the arrival
            )
        )
        arrival = session.get_one(Arrival, app_id)
        assert arrival.finished_at is not None
    assert status in ("verified", "rejected") and decisions == 1
    if action == "close":
        open_counter(officer, 1, "akta_kelahiran")
    assert counter_serving(officer, 1) is None  # free
    return kinds


def called_to_counter_1(central: Central, officer: Staff, number: str, calling: str) -> None:
    assert check_in(central, registration_number=number).status_code == 200
    assert call_next(officer, 1) == calling


@pytest.mark.parametrize("action", ["finish", "recall", "no_show", "close"])
def test_a_counter_action_waiting_on_the_place_and_a_page_decision_never_deadlock(
    central: Central, officer: Staff, server_b: str, database_url: str, action: str
) -> None:
    [number] = book(central, officer, 1)
    central.at(MONDAY, 8)
    open_counter(officer, 1, "akta_kelahiran")
    called_to_counter_1(central, officer, number, "A-001")
    prepare(officer, action)
    at_counter = Staff(server_b, "admin")
    answers: dict[str, int] = {}

    def run(name: str, request: Callable[[], requests.Response]) -> None:
        answers[name] = request().status_code

    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as gate, central.app.state.db.transaction() as session:
        app_id = session.scalar(
            select(Application.id).where(Application.registration_number == number)
        )
        gate.execute("SELECT 1 FROM arrivals WHERE application_id = %s FOR UPDATE", (app_id,))
        pressing = threading.Thread(target=run, args=("counter", press(at_counter, action)))
        pressing.start()
        wait_for(lambda: _locks_waited(dsn) >= 1)  # the counter waits for the place
        deciding = threading.Thread(target=run, args=("page", decide(officer, number, "reject")))
        deciding.start()
        wait_for(lambda: not deciding.is_alive() or _locks_waited(dsn) >= 2)
        gate.commit()  # the place is free: the counter goes on, then the page
    pressing.join(timeout=60)
    deciding.join(timeout=60)
    # The counter came first: finished there, the page's rejection is refused (verified); or
    # the page ends the place the counter called, set aside, or sent back to the line.
    expected = {"counter": 303, "page": 409 if action == "finish" else 303}
    assert answers == expected
    kinds = settled(central, officer, number, action)
    assert (
        kinds[-2:]
        == {
            "finish": ["call", "finish"],
            "recall": ["recall", "finish"],
            "no_show": ["no_show", "finish"],
            "close": ["call", "finish"],
        }[action]
    )


def test_page_decisions_and_counter_actions_pressed_together_on_two_app_servers(
    central: Central, officer: Staff, server_b: str
) -> None:
    rounds = [(a, d) for d in ("verify", "reject") for a in ACTIONS for _ in range(2)]
    numbers = book(central, officer, len(rounds))
    central.at(MONDAY, 8)
    open_counter(officer, 1, "akta_kelahiran")
    open_counter(officer, 2, "kia")  # takes no akta kelahiran: only a transfer reaches it
    at_counter = Staff(server_b, "admin")
    outcomes: dict[tuple[str, str], set[tuple[int, int]]] = {}
    for index, ((action, decision), number) in enumerate(zip(rounds, numbers, strict=True)):
        called_to_counter_1(central, officer, number, f"A-{index + 1:03d}")
        prepare(officer, action)
        page, at_1 = together([decide(officer, number, decision), press(at_counter, action)])
        assert isinstance(page, requests.Response) and page.status_code in (303, 409), page
        assert isinstance(at_1, requests.Response) and at_1.status_code in (303, 409), at_1
        outcomes.setdefault((action, decision), set()).add((page.status_code, at_1.status_code))
        settled(central, officer, number, action)
    # Every pair ended with both answered (303 or 409), never a server error.
    assert set(outcomes) == {(a, d) for a in ACTIONS for d in ("verify", "reject")}
