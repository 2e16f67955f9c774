"""Typed work is protected (issue 15): asked before it is discarded, asked before a visit ends,
reminded of the e-KTP, told when the pre-application still waits in the outbox. Real app, real
touches; the outbox and the embedded central server are the real ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kiosk_app.domain.session import GOODBYE_TEXT, EndReason
from kiosk_app.ui.screens import texts
from tests.ui.conftest import choose_first_slot
from tests.ui.test_journey import to_form, to_menu

pytestmark = pytest.mark.ui


def test_back_on_the_first_page_asks_before_discarding_typed_data(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    pilot = start_kiosk()
    to_form(pilot)
    app = pilot.app
    pilot.type_into("kk_number", "3517010101010001")
    pilot.tap("back")
    assert pilot.exists("confirm"), "no question before discarding the typed number"
    assert pilot.find("confirm_yes").text == texts.DISCARD_YES.id
    pilot.screenshot(artifacts / "confirm-discard.png")
    pilot.tap("confirm_no")  # keep filling in: nothing lost
    assert not pilot.exists("confirm")
    assert pilot.state == "form" and app.view.values["kk_number"] == "3517010101010001"
    pilot.tap("back")
    pilot.tap("confirm_yes")
    pilot.wait_for_state("menu")
    assert not pilot.exists("confirm")
    # Nothing typed (only what the card filled in): straight back, no question.
    pilot.tap("service_akta_kelahiran")
    pilot.wait_for_state("form")
    pilot.tap("back")
    pilot.wait_for_state("menu")
    assert not pilot.exists("confirm")


def test_ending_the_visit_on_the_menu_asks_and_reminds_the_e_ktp(
    start_kiosk: Callable[..., Any],
) -> None:
    pilot = start_kiosk(language="en")
    to_menu(pilot)
    finish = pilot.find("finish")
    assert finish.text == texts.END_VISIT.en  # not the keyboards' done key ("OK")
    pilot.tap("finish")
    assert pilot.exists("confirm")
    assert "e-KTP" in pilot.find("confirm").detail_text
    pilot.app.a11y.audio.wait_idle(20)  # the question is spoken too
    assert pilot.app.a11y.audio.spoken_words()[-1].startswith("End your visit?")
    pilot.tap("confirm_no")
    assert pilot.state == "menu" and not pilot.exists("confirm")
    with pilot.hold_clock():  # the goodbye stays while it is checked
        pilot.tap("finish")
        pilot.tap("confirm_yes")
        pilot.wait_for_state("goodbye")
        # ended by the citizen: thanked (not "cancelled") and reminded of the e-KTP
        assert GOODBYE_TEXT[EndReason.ENDED].en in "\n".join(pilot.texts())
        assert "e-KTP" in GOODBYE_TEXT[EndReason.ENDED].en


def test_a_question_left_open_closes_when_the_visit_ends(start_kiosk: Callable[..., Any]) -> None:
    pilot = start_kiosk()
    to_menu(pilot)
    pilot.tap("finish")
    assert pilot.exists("confirm")
    pilot.kiosk.session.simulate_card_removal()  # the card taken: the visit ends anyway
    pilot.wait_until(lambda: pilot.state in ("goodbye", "attract"), what="the end")
    assert not pilot.exists("confirm")


def test_the_result_says_what_to_bring_and_ending_with_unsent_work_is_told(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    pilot = start_kiosk()
    app = pilot.app
    choose_first_slot(pilot)
    pilot.wait_for_state("review")
    pilot.kiosk.embedded_server.stop()  # the central server goes away: the outbox keeps it
    pilot.tap("submit")
    pilot.wait_for_state("result")
    outcome = app.view.outcome
    assert outcome is not None and outcome.offline and outcome.local_reference
    assert "tersimpan di anjungan" in "\n".join(pilot.texts())  # not "berhasil dikirim"
    # The result says where the prints come out and which originals to bring (also spoken).
    assert "di bawah layar" in pilot.find("printed").text
    bring = pilot.find("bring").text
    prompt = pilot.app.current_screen().prompt(app.view)
    for document in app.view.service.required_documents:
        assert document.id in bring and document.id in prompt.id
    pilot.tap("finish")
    assert pilot.exists("confirm"), "the visit ended without saying the work is unsent"
    detail = pilot.find("confirm").detail_text
    assert outcome.local_reference in detail and "dikirim otomatis" in detail
    assert "e-KTP" in detail
    pilot.screenshot(artifacts / "confirm-unsent.png")
    pilot.tap("confirm_yes")
    pilot.wait_until(lambda: pilot.state in ("survey", "goodbye", "attract"), what="the end")
    assert not pilot.exists("confirm")


def test_an_app_stopped_with_a_question_open_leaves_nothing_on_the_window(
    start_kiosk: Callable[..., Any],
) -> None:
    """Kivy's App.stop removes the window's children while iterating over them: with the
    question open, the app's screen manager stayed on the window (drawn under the next app,
    in reach of its touches, every screen kept alive)."""
    from kivy.core.window import Window

    from tests.ui.conftest import shut

    pilot = start_kiosk()
    to_form(pilot)
    pilot.type_into("kk_number", "3517010101010001")
    pilot.tap("back")
    assert pilot.exists("confirm")
    assert len(Window.children) >= 3  # the question, the attendant's tab, the screens
    shut(pilot.app, pilot.kiosk)
    assert Window.children == []
