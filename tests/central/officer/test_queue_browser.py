"""The waiting-room display in real headless Chromium (Debian's): a call pushed after the page
loaded shows and is played to its end, and the page reconnects when the server drops it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.central.officer.conftest import MONDAY, OFFICE, Central, Staff
from tests.central.officer.test_browser import CHROMIUM, CHROMIUM_ARGS, pytestmark  # noqa: F401
from tests.central.officer.test_queue import book, call_next, check_in, counter, open_counter


@pytest.fixture(scope="module")
def kiosk_browser() -> Iterator[Any]:
    """Chromium as the TV runs it: audio may start without a touch (kiosk mode's flag)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
            headless=True,
            timeout=30_000,
        )
        yield chromium
        chromium.close()


def test_display_shows_and_plays_a_call_and_reconnects_after_a_drop(
    central: Central, officer: Staff, kiosk_browser: Any, tmp_path: Path
) -> None:
    first, second = book(central, officer, 2)
    central.at(MONDAY, 8)
    page = kiosk_browser.new_page(viewport={"width": 1920, "height": 1080})
    page.set_default_timeout(15_000)
    page.goto(f"{central.url}/display/{OFFICE}")
    page.wait_for_selector('body[data-connects="1"]')
    assert page.locator("#counter-list li").count() == 0
    for number in (first, second):
        assert check_in(central, registration_number=number).status_code == 200
    page.wait_for_function("() => document.querySelectorAll('#next-list li').length === 2")
    open_counter(officer, 3, "akta_kelahiran")
    assert call_next(officer, 3) == "A-001"  # pushed after the page loaded
    page.wait_for_function("() => document.getElementById('call-number').textContent === 'A-001'")
    assert page.locator("#call-counter").inner_text() == "Loket 3"
    assert page.locator('#counter-list li[data-counter="3"] .serving').inner_text() == "A-001"
    assert page.locator("#next-list li").all_inner_texts() == ["A-002"]
    # The chime and the spoken call were played to their end by the audio element.
    page.wait_for_selector('#played li[data-kind="ended"]', state="attached", timeout=30_000)
    played = page.locator("#played li").evaluate_all(
        "items => items.map(li => [li.dataset.kind, li.textContent])"
    )
    assert played == [["ended", "A-001 3"]]
    duration = page.locator("#call-audio").evaluate("a => a.duration")
    assert duration > 2.0  # chime (1.4 s) and the voice, not the chime alone
    page.screenshot(path=str(tmp_path / "display.png"))  # what the TV shows (1920x1080)

    # The server drops every display stream: the page reconnects and catches up.
    assert central.app.state.displays.drop_streams() == 1
    page.wait_for_selector('body[data-connects="2"]')
    assert counter(officer, 3, "finish").status_code == 303
    assert call_next(officer, 3) == "A-002"
    page.wait_for_function("() => document.getElementById('call-number').textContent === 'A-002'")
    page.wait_for_selector('#played li[data-kind="ended"]:nth-child(2)', state="attached")
    assert page.locator("#connection").inner_text() == "Terhubung"
    page.close()


def test_display_shows_an_officers_tandai_hadir_and_a_counter_opened_at_once(
    central: Central, officer: Staff, kiosk_browser: Any
) -> None:
    """The old queue page's "Tandai hadir" and a counter opened with nobody called yet reach
    the TV without a later queue change (SQLite: the process's hub; PostgreSQL: NOTIFY)."""
    [number] = book(central, officer, 1)
    central.at(MONDAY, 8)
    page = kiosk_browser.new_page(viewport={"width": 1920, "height": 1080})
    page.set_default_timeout(15_000)
    page.goto(f"{central.url}/display/{OFFICE}")
    page.wait_for_selector('body[data-connects="1"]')
    queue_page = officer.get(f"/officer/queue?office={OFFICE}").text
    assert f"/officer/applications/{number}/arrive" in queue_page  # the button's form
    assert officer.act(number, "arrive").status_code == 303
    page.wait_for_function("() => document.querySelectorAll('#next-list li').length === 1")
    assert page.locator("#next-list li").all_inner_texts() == ["A-001"]
    open_counter(officer, 4, "akta_kelahiran")
    page.wait_for_selector('#counter-list li[data-counter="4"]')
    page.close()
