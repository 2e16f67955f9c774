"""The satisfaction survey by touch on the real app: after a status check and after a
pre-application; sent to the kiosk's central server over HTTP, or skipped leaving nothing."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from kiosk_app.domain import ikm
from kiosk_app.services.surveys import SENT
from tests.ui.test_status_ui import file_application, submit_by_card

pytestmark = pytest.mark.ui

HOLDER = "BUDI SANTOSO"  # fictional citizen 0 of the simulated reader


def server_surveys(pilot: Any) -> list[tuple[Any, ...]]:
    """Rows of the embedded central server's survey table (its SQLite file)."""
    path = pilot.kiosk.config.data_dir / "central.db"
    with closing(sqlite3.connect(path)) as db:
        return db.execute(
            "SELECT service, office_code, kiosk_id, u1, u2, u3, u4, u5, u6, u7, u8,"
            " u9 FROM survey_responses"
        ).fetchall()


def answer_page(pilot: Any, value: int) -> list[str]:
    """Touch answer `value` of every question shown; return their codes."""
    codes = [e.code for e in pilot.app.view.survey.elements]
    for code in codes:
        pilot.tap(f"survey_{code}_{value}")
    pilot.wait_until(
        lambda: all(pilot.app.view.survey.answers.get(c) == value for c in codes),
        what="answers recorded",
    )
    return codes


def said_goodbye(pilot: Any) -> None:
    """The survey ended in the goodbye, then the attract screen (the goodbye lasts 3 s in tests:
    under load a poll can miss it, so the screens shown are checked instead)."""
    pilot.wait_for_state("attract")
    seen = pilot.app.screens_seen
    assert seen[-3:] == ["survey", "goodbye", "attract"], seen[-6:]


def test_survey_after_a_status_check_is_sent_over_http(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    pilot = start_kiosk()
    number = file_application(pilot)
    assert pilot.kiosk.devices.barcode_scanner.scan("]Q1" + number)  # no card: a receipt's QR
    pilot.wait_for_state("status")
    pilot.wait_until(lambda: pilot.find("status_text").text != "", what="status")
    pilot.tap("status_back")
    pilot.wait_for_state("survey")
    assert pilot.find("survey_title").text == "Survei kepuasan · halaman 1 dari 3"
    assert number not in "\n".join(pilot.texts())  # the visit is wiped before the survey
    for code in ("U1", "U2", "U3"):
        assert pilot.find(f"survey_question_{code}").text.startswith(f"{code[1:]}. ")
    first = pilot.find("survey_U1_1")
    assert min(first.width, first.height) >= pilot.app.root.get_screen("survey").height * 0.08
    pilot.screenshot(artifacts / "survey-page-1.png")

    answer_page(pilot, 3)
    pilot.tap("survey_send")  # six questions left: said plainly, and their page opens
    pilot.wait_until(
        lambda: "nomor 4, 5, 6, 7, 8, 9" in pilot.find("message").text, what="missing answers"
    )
    assert pilot.app.view.survey.page == 1 and pilot.state == "survey"
    pilot.screenshot(artifacts / "survey-missing.png")
    answer_page(pilot, 4)
    pilot.tap("survey_U6_2")  # changing one's mind: the last touch counts
    pilot.tap("survey_next")
    pilot.wait_until(lambda: pilot.app.view.survey.page == 2, what="page 3")
    answer_page(pilot, 4)
    assert pilot.find("message").text == ""  # everything answered: the warning is gone
    pilot.tap("survey_send")
    said_goodbye(pilot)

    expected = ("status", "3517", pilot.kiosk.config.kiosk_id, 3, 3, 3, 4, 4, 2, 4, 4, 4)
    pilot.wait_until(lambda: server_surveys(pilot) == [expected], what="stored")
    queue = pilot.kiosk.surveys.queue
    assert [(r.status, r.service) for r in queue.entries()] == [(SENT, "status")]


def test_survey_after_a_pre_application_skipped_leaves_nothing(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:

    pilot = start_kiosk(language="en")
    app = pilot.app
    submit_by_card(pilot)

    pilot.tap("finish")
    pilot.wait_for_state("survey")
    assert pilot.find("survey_title").text == "Satisfaction survey · page 1 of 3"
    assert pilot.find("survey_U1_4").text.endswith("Very suitable")
    assert HOLDER not in "\n".join(pilot.texts())
    assert app.view.survey is not None and app.view.survey.service == "akta_kelahiran"
    pilot.kiosk.devices.card_reader.remove_card()  # taking the card does not end the survey
    time.sleep(0.3)
    pilot.idle(3)
    assert pilot.state == "survey"
    pilot.tap("survey_U1_2")
    pilot.tap("survey_next")
    pilot.wait_until(lambda: app.view.survey.page == 1, what="page 2")
    pilot.tap("survey_previous")
    pilot.wait_until(lambda: app.view.survey.page == 0, what="page 1 again")
    assert pilot.find("survey_U1_2").selected  # the answer was kept while paging
    pilot.screenshot(artifacts / "survey-en.png")
    from kiosk_app.ui.theme import theme

    theme.large_text = True  # larger text: still four big answers a row, ▲/▼ if it overflows
    try:
        pilot.idle(4)
        assert pilot.find("survey_U1_2").selected
        assert pilot.find("survey_U1_2").height >= theme.touch
        screen = pilot.app.root.get_screen("survey")
        if screen.overflow:
            pilot.tap("survey_scroll_down")
            assert screen.ids.survey_scroll.scroll_y < 1
        pilot.tap("survey_U3_4")  # revealed (scrolled to) like the ▼ button does
        pilot.wait_until(lambda: app.view.survey.answers.get("U3") == 4, what="U3 in large")
        pilot.screenshot(artifacts / "survey-en-large.png")
    finally:
        theme.large_text = False
    pilot.tap("survey_skip")
    said_goodbye(pilot)

    pilot.kiosk.surveys.drain_once()
    assert pilot.kiosk.surveys.queue.entries() == []
    assert server_surveys(pilot) == []
    assert len(ikm.CODES) == 9
