"""An application decided on its review page while its citizen is in the counters' queue
(SQLite and PostgreSQL, over HTTP on loopback, the officer pages with their CSRF and the
waiting-room display's real event stream): verified or rejected there, a citizen waiting,
called to a counter or set aside leaves the queue as "Selesai verifikasi" would end it, logged
with who and why, the display updated at once and the counter freed; nobody is called again
for nothing. A citizen who has not checked in leaves the queue untouched."""

from __future__ import annotations

from typing import Any

import requests
from sqlalchemy import select

from central_server.models import Application
from central_server.queue.models import QueueEvent
from central_server.review_models import Arrival
from tests.central.officer.conftest import MONDAY, OFFICE, Central, Staff
from tests.central.officer.display_stream import Events
from tests.central.officer.test_display_updates import Display, serving
from tests.central.officer.test_queue import (
    arrived,
    book,
    call_next,
    check_in,
    counter,
    open_counter,
)
from tests.central.officer.test_queue import serving as counter_serving


def queue_events(central: Central, number: str) -> list[QueueEvent]:
    """The queue events logged for the application `number`, oldest first."""
    with central.app.state.db.transaction() as session:
        app_id = session.scalar(
            select(Application.id).where(Application.registration_number == number)
        )
        rows = list(
            session.scalars(
                select(QueueEvent)
                .where(QueueEvent.application_id == app_id)
                .order_by(QueueEvent.id)
            )
        )
        session.expunge_all()
        return rows


def arrival_state(central: Central, number: str, column: Any = Arrival.state) -> Any:
    """A column of the application `number`'s place in the queue (None: not checked in)."""
    with central.app.state.db.transaction() as session:
        return session.scalar(
            select(column)
            .join(Application, Application.id == Arrival.application_id)
            .where(Application.registration_number == number)
        )


def assert_no_priority_lane(central: Central, officer: Staff, number: str) -> None:
    """The kiosk's attendant and an officer are refused the priority lane for `number`."""
    r = requests.post(
        f"{central.url}/api/v1/queue/priority",
        json={"registration_number": number, "reason": "lansia", "attendant": "Rina"},
        headers=central.kiosk(),
        timeout=10,
    )
    assert (r.status_code, r.json()["detail"]["code"]) == (409, "already_served")
    r = officer.post(
        "/officer/counters/priority",
        {"office": OFFICE, "registration_number": number, "reason": "lansia"},
    )
    assert r.status_code == 409


def test_verified_on_its_page_a_waiting_citizen_leaves_the_line(
    central: Central, officer: Staff
) -> None:
    first, second = arrived(central, officer, 2)
    open_counter(officer, 1, "akta_kelahiran")
    events = Events(f"{central.url}/display/{OFFICE}/events")
    try:
        display = Display(events)
        r = officer.act(first, "verify", note="dicocokkan di meja informasi")
        assert r.status_code == 303, r.text
        state = display.shows(lambda s: s["next"] == ["A-002"])
        assert (state["waiting"], serving(state)) == (1, {1: ""})
    finally:
        events.close()
    *_, ended = queue_events(central, first)
    assert (ended.kind, ended.actor, ended.counter_number) == ("finish", "petugas", None)
    assert ended.note == "verify di halaman permohonan: Terverifikasi"
    assert arrival_state(central, first) == "done"
    # Out of the queue: no priority lane any more, from the kiosk's attendant or an officer.
    assert_no_priority_lane(central, officer, first)
    assert [e.kind for e in queue_events(central, first)] == ["checkin", "finish"]
    # The counter calls the next one, never the verified citizen again.
    assert call_next(officer, 1) == "A-002"
    assert counter(officer, 1, "finish").status_code == 303
    assert call_next(officer, 1) is None
    # Issued afterwards: the place is already ended, nothing more is logged.
    r = officer.act(first, "issue", holder_name="Budi Santoso", holder_nik="3517010101200001")
    assert r.status_code == 303, r.text
    assert queue_events(central, first)[-1].id == ended.id


def test_rejected_while_called_the_counter_is_freed_and_not_checked_in_left_alone(
    central: Central, officer: Staff
) -> None:
    first, second, absent = book(central, officer, 3)
    central.at(MONDAY, 8)
    for number in (first, second):
        assert check_in(central, registration_number=number).status_code == 200
    open_counter(officer, 1, "akta_kelahiran")
    assert call_next(officer, 1) == "A-001"
    events = Events(f"{central.url}/display/{OFFICE}/events")
    try:
        display = Display(events)
        assert serving(events.wait("state"))[1] == "A-001"
        # Not checked in: rejected, and the queue is left alone (nothing logged, no push).
        r = officer.act(absent, "reject", reason="berkas tidak lengkap")
        assert r.status_code == 303, r.text
        assert queue_events(central, absent) == []
        assert arrival_state(central, absent) is None
        # Called to counter 1 and rejected on the page: counter 1 is free at once.
        r = officer.act(first, "reject", reason="akta lama masih berlaku")
        assert r.status_code == 303, r.text
        state = display.shows(lambda s: serving(s) == {1: ""})
        assert state["next"] == ["A-002"]
        # The display's push was the rejection's own queue event, the only one since.
        *_, ended = queue_events(central, first)
        assert state["event_id"] == ended.id
    finally:
        events.close()
    assert (ended.kind, ended.actor, ended.counter_number) == ("finish", "petugas", 1)
    assert ended.note == "reject di halaman permohonan: Ditolak"
    assert counter_serving(officer, 1) is None
    assert counter(officer, 1, "finish").status_code == 409  # nobody is served there now
    assert call_next(officer, 1) == "A-002"


def test_verified_on_its_page_a_no_show_is_not_restored(central: Central, officer: Staff) -> None:
    [number] = arrived(central, officer, 1)
    open_counter(officer, 1, "akta_kelahiran")
    assert call_next(officer, 1) == "A-001"
    for _ in range(2):
        assert counter(officer, 1, "recall").status_code == 303
    assert counter(officer, 1, "no_show").status_code == 303
    # The citizen went straight to an officer, who verified on the application's page.
    assert officer.act(number, "verify").status_code == 303
    assert arrival_state(central, number) == "done"
    page = officer.get(f"/officer/counters?office={OFFICE}").text
    assert "A-001" not in page  # neither waiting nor set aside
    r = officer.post("/officer/counters/restore", {"office": OFFICE, "calling_number": "A-001"})
    assert r.status_code == 404  # not brought back to be called for nothing
    assert call_next(officer, 1) is None
    kinds = [e.kind for e in queue_events(central, number)]
    assert kinds == ["checkin", "call", "recall", "recall", "no_show", "finish"]
