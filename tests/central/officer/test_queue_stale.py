"""Queue places left open by the code before an application decided on its page ended them
(migration 0018, central_server.queue.stale), on SQLite and PostgreSQL over HTTP on loopback.

The old rows are made by running the old flow: the same server with the page's end of the
place (queue.counters.end_place) taken out, as the code was before it existed. A citizen called
to a counter and rejected, one set aside and verified, one waiting and verified: before the
migration the display and the counters' list still show them and the counter stays busy; the
migration (the real alembic command line) ends them as end_place ends a place decided now (the
same arrival state and the same finish event, compared with a citizen decided by the new code),
the display and the counters' list no longer show them, and a second run changes nothing. A
SQLite file, which has no migrations, is fixed when the server starts (Database.create_all)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from central_server.db import Database
from central_server.queue import core, stale
from central_server.queue import counters as calling
from central_server.queue.models import QueueEvent
from central_server.review_models import Arrival
from tests.central.officer.conftest import OFFICE, Central, Staff
from tests.central.officer.display_stream import Events
from tests.central.officer.test_display_updates import Display, serving
from tests.central.officer.test_queue import (
    arrived,
    call_next,
    check_in,
    counter,
    open_counter,
)
from tests.central.officer.test_queue import serving as counter_serving
from tests.central.officer.test_queue_review import (
    arrival_state,
    assert_no_priority_lane,
    queue_events,
)
from tests.central.test_migrations import alembic

BEFORE = "0017_receipt_copy_outcomes"
MIGRATION = "0018_end_decided_places"


def display_state(central: Central) -> dict[str, Any]:
    r = requests.get(f"{central.url}/display/{OFFICE}/state", timeout=10)
    assert r.status_code == 200, r.text
    state: dict[str, Any] = r.json()
    return state


def migrate(central: Central) -> None:
    """The database as an upgrade finds it (at BEFORE), then `alembic upgrade` through the
    migration under test; the later revisions' schema is there already (create_all)."""
    url = central.app.state.db.url
    alembic(url, "stamp", BEFORE)
    alembic(url, "upgrade", MIGRATION)
    alembic(url, "stamp", "head")


def all_queue_events(central: Central) -> int:
    with central.app.state.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(QueueEvent)) or 0)


def start_server(central: Central) -> None:
    """What a server does to its database when it starts (migrated, data fixed)."""
    db = Database(central.app.state.db.url)
    try:
        db.create_all(())
    finally:
        db.dispose()


def old_decision(
    central: Central, officer: Staff, monkeypatch: pytest.MonkeyPatch, number: str, action: str
) -> None:
    """Decide on the application's page as the code before end_place did."""
    data = {"reason": "akta lama masih berlaku"} if action == "reject" else {}
    with monkeypatch.context() as m:
        m.setattr(calling, "end_place", lambda *_args, **_kwargs: None)
        r = officer.act(number, action, **data)
    assert r.status_code == 303, r.text


def test_places_left_open_by_the_old_code_are_ended_as_end_place_ends_them(
    central: Central, officer: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stale.CHANNEL == core.CHANNEL
    called, set_aside, waiting, _approved, decided_now, later = arrived(central, officer, 6)
    open_counter(officer, 1, "akta_kelahiran")
    open_counter(officer, 2, "akta_kelahiran")
    assert call_next(officer, 1) == "A-001"
    assert call_next(officer, 2) == "A-002"
    for _ in range(2):
        assert counter(officer, 2, "recall").status_code == 303
    assert counter(officer, 2, "no_show").status_code == 303
    # The old code: decided on the page, the places stay open.
    old_decision(central, officer, monkeypatch, called, "reject")
    old_decision(central, officer, monkeypatch, set_aside, "verify")
    old_decision(central, officer, monkeypatch, waiting, "verify")
    # The new code, for comparison.
    assert officer.act(decided_now, "verify").status_code == 303
    before = display_state(central)
    assert serving(before) == {1: "A-001", 2: ""}  # counter 1 busy with a rejected citizen
    assert before["next"] == ["A-003", "A-004", "A-006"]
    assert "A-002" in officer.get(f"/officer/counters?office={OFFICE}").text  # set aside
    # Even before the migration: not restored, no priority lane, no second check-in.
    r = officer.post("/officer/counters/restore", {"office": OFFICE, "calling_number": "A-002"})
    assert r.status_code == 404
    assert_no_priority_lane(central, officer, waiting)
    r = check_in(central, registration_number=waiting)
    assert (r.status_code, r.json()["detail"]["code"]) == (409, "already_served")
    r = check_in(central, registration_number=called)
    assert (r.status_code, r.json()["detail"]["code"]) == (409, "rejected")
    events = Events(f"{central.url}/display/{OFFICE}/events")
    try:
        display = Display(events)
        migrate(central)
        if central.app.state.db.is_postgresql:  # woken by the migration's NOTIFY at once
            display.shows(
                lambda s: s["next"] == ["A-004", "A-006"] and serving(s) == {1: "", 2: ""}
            )
    finally:
        events.close()
    after = display_state(central)
    assert (serving(after), after["next"]) == ({1: "", 2: ""}, ["A-004", "A-006"])
    page = officer.get(f"/officer/counters?office={OFFICE}").text
    for calling_number in ("A-001", "A-002", "A-003", "A-005"):
        assert calling_number not in page
    assert counter_serving(officer, 1) is None
    for number in (called, set_aside, waiting, decided_now):
        assert arrival_state(central, number) == "done"
    # The same finish event as end_place writes: the deciding officer, the decision, the
    # counter that had called them; the migration says it closed the place at the upgrade.
    new = queue_events(central, decided_now)[-1]
    assert (new.kind, new.actor, new.counter_number) == ("finish", "petugas", None)
    suffix = stale.NOTE_SUFFIX
    for number, calling_number, counter_number, note in (
        (called, "A-001", 1, "reject di halaman permohonan: Ditolak"),
        (set_aside, "A-002", None, "verify di halaman permohonan: Terverifikasi"),
        (waiting, "A-003", None, new.note),
    ):
        ended = queue_events(central, number)[-1]
        assert (ended.kind, ended.actor, ended.note) == ("finish", "petugas", note + suffix)
        assert (ended.office_code, ended.day) == (new.office_code, new.day)
        assert (ended.calling_number, ended.counter_number) == (calling_number, counter_number)
    for number in (called, set_aside, waiting):
        assert (
            arrival_state(central, number, Arrival.finished_at)
            == queue_events(central, number)[-1].at
        )
    kinds = [e.kind for e in queue_events(central, set_aside)]
    assert kinds == ["checkin", "call", "recall", "recall", "no_show", "finish"]
    # Nobody is called or restored for nothing; the priority lane is refused.
    r = officer.post("/officer/counters/restore", {"office": OFFICE, "calling_number": "A-002"})
    assert r.status_code == 404
    assert_no_priority_lane(central, officer, waiting)
    # Idempotent: a second run changes nothing.
    count = all_queue_events(central)
    migrate(central)
    assert all_queue_events(central) == count
    # A place left open after the migration (an app server still on the old code during a
    # rolling upgrade; a SQLite file never migrates): ended when a server starts.
    old_decision(central, officer, monkeypatch, later, "verify")
    assert display_state(central)["next"] == ["A-004", "A-006"]
    start_server(central)
    assert display_state(central)["next"] == ["A-004"]
    assert queue_events(central, later)[-1].note == new.note + suffix
    start_server(central)
    assert all_queue_events(central) == count + 1
    assert call_next(officer, 1) == "A-004"
    assert counter(officer, 1, "finish").status_code == 303
    assert call_next(officer, 1) is None
