"""Every step that changes an office's queue reaches its waiting-room display at once, on SQLite
(the process's own hub, woken after the commit) and PostgreSQL (NOTIFY): read from the display's
real server-sent event stream over HTTP on loopback, each change awaited before the next one is
made, so none rides on a later change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from tests.central.officer.conftest import MONDAY, OFFICE, Central, Staff
from tests.central.officer.display_stream import Events
from tests.central.officer.test_queue import (
    book,
    call_next,
    check_in,
    counter,
    open_counter,
)


class Display:
    """The display's stream and the newest state it was sent."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.last = events.wait("state")["event_id"]

    def shows(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first state newer than the last one seen that matches `predicate`."""
        state = self.events.wait(
            "state", lambda s: s["event_id"] > self.last and predicate(s), timeout=10
        )
        self.last = state["event_id"]
        return state


def serving(state: dict[str, Any]) -> dict[int, str]:
    return {c["number"]: c["serving"] for c in state["counters"]}


def test_every_queue_step_reaches_the_display_at_once(central: Central, officer: Staff) -> None:
    numbers = book(central, officer, 3)
    central.at(MONDAY, 8)
    events = Events(f"{central.url}/display/{OFFICE}/events")
    try:
        display = Display(events)
        # "Tandai hadir" on the officers' old queue page (the application's page action).
        assert officer.act(numbers[0], "arrive").status_code == 303
        display.shows(lambda s: s["next"] == ["A-001"])
        # Check-in at the kiosk, twice; a repeated check-in changes nothing.
        assert check_in(central, registration_number=numbers[1]).status_code == 200
        display.shows(lambda s: s["next"] == ["A-001", "A-002"])
        assert check_in(central, registration_number=numbers[2]).status_code == 200
        display.shows(lambda s: s["next"] == ["A-001", "A-002", "A-003"])
        # The kiosk's attendant grants the priority lane.
        r = requests.post(
            f"{central.url}/api/v1/queue/priority",
            json={"registration_number": numbers[2], "reason": "lansia", "attendant": "Rina"},
            headers=central.kiosk(),
            timeout=10,
        )
        assert r.status_code == 200, r.text
        display.shows(lambda s: s["next"] == ["A-003", "A-001", "A-002"])
        # Opening counters: shown before anyone is called there.
        open_counter(officer, 1, "akta_kelahiran")
        display.shows(lambda s: serving(s) == {1: ""})
        open_counter(officer, 2, "akta_kelahiran")
        display.shows(lambda s: serving(s) == {1: "", 2: ""})
        # Call, recall (announced again), no-show after three calls, restore.
        assert call_next(officer, 1) == "A-003"
        state = display.shows(lambda s: serving(s)[1] == "A-003")
        assert state["next"] == ["A-001", "A-002"]
        for _ in range(2):
            assert counter(officer, 1, "recall").status_code == 303
            recalled = display.shows(lambda _s: True)
            assert any(
                k == "call" and d["event_id"] == recalled["event_id"] for k, d in events.events
            )
        assert counter(officer, 1, "no_show").status_code == 303
        display.shows(lambda s: serving(s)[1] == "" and s["next"] == ["A-001", "A-002"])
        r = officer.post("/officer/counters/restore", {"office": OFFICE, "calling_number": "A-003"})
        assert r.status_code == 303, r.text
        display.shows(lambda s: s["next"] == ["A-003", "A-001", "A-002"])
        # Transfer to counter 2, called there, finished.
        assert call_next(officer, 1) == "A-003"
        display.shows(lambda s: serving(s)[1] == "A-003")
        assert counter(officer, 1, "transfer", target="2").status_code == 303
        display.shows(lambda s: serving(s)[1] == "" and s["next"][0] == "A-003")
        assert call_next(officer, 2) == "A-003"
        display.shows(lambda s: serving(s)[2] == "A-003")
        assert counter(officer, 2, "finish").status_code == 303
        display.shows(lambda s: serving(s) == {1: "", 2: ""} and "A-003" not in s["next"])
        # The officer's priority grant on the counters page, then a counter closed.
        r = officer.post(
            "/officer/counters/priority",
            {"office": OFFICE, "registration_number": numbers[1], "reason": "disabilitas"},
        )
        assert r.status_code == 303, r.text
        display.shows(lambda s: s["next"] == ["A-002", "A-001"])
        assert counter(officer, 2, "close").status_code == 303
        display.shows(lambda s: serving(s) == {1: ""})
        # A refused step (nobody to finish) changes nothing and sends nothing.
        assert counter(officer, 1, "finish").status_code == 409
        assert check_in(central, registration_number=numbers[1]).json()["repeat"] is True
    finally:
        events.close()
