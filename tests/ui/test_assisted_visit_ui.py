"""An assisted visit lasts through a status check: its mark reaches the central server with the
application filed after it (real app by touches, the kiosk's embedded central server)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, hash_pin
from tests.ui.conftest import fill_birth_pages, type_number
from tests.ui.test_attendant_ui import CARD, PIN, enter_pin, text_of
from tests.ui.test_journey import to_menu
from tests.ui.test_status_ui import file_application

pytestmark = pytest.mark.ui

BADGE = "Dibantu petugas PTG-07"


def stored_data(pilot: Any, registration_number: str) -> dict[str, str]:
    """The application's data as the kiosk's embedded central server stored it."""
    db = pilot.kiosk.config.data_dir / "central.db"
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT data_json FROM applications WHERE registration_number=?",
            (registration_number,),
        ).fetchone()
    assert row is not None, registration_number
    data: dict[str, str] = json.loads(row[0])
    return data


def assisted_on_the_menu(start_kiosk: Callable[..., Any]) -> Any:
    """A card holder on the menu, marked assisted by an attendant, all by touches; the pilot."""
    settings = AttendantSettings(staff=[Attendant("PTG-07", hash_pin(PIN), (CARD,))])
    pilot = start_kiosk(card_read_delay_s=0.05, attendant=settings)
    to_menu(pilot)
    pilot.tap("attendant_button")
    pilot.wait_until(lambda: pilot.exists("attendant_pinpad"), what="PIN pad")
    enter_pin(pilot, PIN)
    pilot.wait_until(lambda: pilot.exists("attendant_panel"), what="attendant panel")
    pilot.tap("act_assist")
    pilot.wait_until(lambda: text_of(pilot, "assisted_badge") == BADGE, what="assisted badge")
    return pilot


def test_leaving_the_status_check_keeps_the_visit_assisted(
    start_kiosk: Callable[..., Any],
) -> None:
    pilot = assisted_on_the_menu(start_kiosk)
    session = pilot.app.session
    number = file_application(pilot)  # someone's application, looked up below

    # A status check by touches, then back to the menu.
    pilot.tap("service_status")
    pilot.wait_for_state("status")
    type_number(pilot, number, prefix="prefix_", keypad="status_keypad", entry="status_entry")
    pilot.tap("status_check")
    pilot.wait_until(lambda: pilot.find("status_text").text != "", what="status")
    pilot.tap("status_back")
    pilot.wait_for_state("menu")

    # The visit goes on, assisted; the look-up itself is wiped.
    assert session.view.assisted_by == "PTG-07"
    pilot.wait_until(lambda: text_of(pilot, "assisted_badge") == BADGE, what="badge kept")
    assert session.view.name  # the card holder is still there
    check = session._status._check.view()  # the status journey's own look-up
    assert check.result is None and number not in check.entry
    assert pilot.app.root.get_screen("status").status_text == ""

    # An application in the same visit goes in assisted.
    pilot.tap("service_akta_kelahiran")
    pilot.wait_for_state("form")
    fill_birth_pages(pilot)
    pilot.wait_until(lambda: session.view.state.value in ("scan", "schedule"), what="form done")
    if session.view.state.value == "scan":
        session.scan_skip_all()
    pilot.wait_for_state("schedule")
    pilot.wait_until(lambda: bool(pilot.app.view.slots), what="slots")
    session.choose_slot(pilot.app.view.slots[0].slot)
    pilot.wait_for_state("review")
    pilot.tap("submit")
    pilot.wait_for_state("result")
    outcome = pilot.app.view.outcome
    assert outcome is not None and outcome.registration_number
    data = stored_data(pilot, outcome.registration_number)
    assert (data.get("assisted_by"), data.get("assisted_kind")) == ("PTG-07", "form")


def test_leaving_the_check_in_keeps_the_visit_assisted(start_kiosk: Callable[..., Any]) -> None:
    pilot = assisted_on_the_menu(start_kiosk)
    session = pilot.app.session
    pilot.tap("service_checkin")
    pilot.wait_for_state("checkin")
    pilot.wait_until(lambda: pilot.find("message").text != "", what="the card's booking looked up")
    pilot.tap("checkin_back")
    pilot.wait_for_state("menu")
    assert session.view.assisted_by == "PTG-07" and session.view.name
    pilot.wait_until(lambda: text_of(pilot, "assisted_badge") == BADGE, what="badge kept")
    checkin = session._checkin  # the check-in journey's own state is wiped
    assert (checkin._result, checkin._message, checkin._called) == (None, None, False)
