"""The closed screen on the real app: when it opens again, cards not read, status still open."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk_app.domain.opening_hours import ZONES, parse_opening_hours
from kiosk_app.domain.session import Timeouts
from kiosk_app.services.session.opening_hours import CARD_NOT_READ

pytestmark = pytest.mark.ui


def hours_closed_today() -> Any:
    """Open every day 08.00-16.00 WITA, but today (in WITA) is a closed date."""
    today = datetime.now(UTC).astimezone(ZONES["WITA"]).date()
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return parse_opening_hours(
        {
            "timezone": "WITA",
            "closed_dates": [today.isoformat()],
            **{day: ["08.00-16.00"] for day in days},
        }
    )


@pytest.fixture
def closed_kiosk(start_kiosk: Callable[..., Any]) -> Any:
    """A kiosk (simulators, embedded server) whose office is closed all day today."""
    return start_kiosk(
        timeouts=Timeouts(goodbye_s=1.0),
        prepared=False,
        first_state="closed",
        opening_hours=hours_closed_today(),
    )


def test_closed_screen_says_when_it_opens_and_ignores_cards(
    closed_kiosk: Any, artifacts: Path
) -> None:
    pilot = closed_kiosk
    pilot.wait_for_state("closed")
    tomorrow = datetime.now(UTC).astimezone(ZONES["WITA"]).date() + timedelta(days=1)
    expected = pilot.kiosk.config.opening_hours.reopening_text(datetime.now(UTC))
    assert expected.id.startswith("Buka lagi ") and f" {tomorrow.day} " in expected.id
    assert expected.id.endswith("pukul 08.00 WITA")
    pilot.wait_until(lambda: pilot.find("closed_reopens").text == expected.id, what="reopens")
    assert pilot.find("closed_title").text == "Anjungan sedang tutup"
    pilot.screenshot(artifacts / "closed.png")

    pilot.tap("closed_sim_tap")  # a card on the reader: not read, and the citizen is told
    pilot.wait_until(
        lambda: pilot.find("closed_message").text == CARD_NOT_READ.id, what="card not read"
    )
    assert pilot.state == "closed" and pilot.kiosk.session.view.name == ""
    pilot.kiosk.session.simulate_card_removal()
    pilot.wait_until(lambda: pilot.find("closed_message").text == "", what="notice gone")

    pilot.tap("closed_lang_en")
    pilot.wait_until(lambda: pilot.find("closed_reopens").text == expected.en, what="english")
    assert pilot.find("closed_title").text == "The kiosk is closed"

    pilot.tap("closed_status")  # the status check works after hours
    pilot.wait_for_state("status")
    pilot.tap("status_back")
    pilot.wait_for_state("closed")
