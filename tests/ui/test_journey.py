"""End-to-end journeys driven by touches on the real app (offscreen window, simulators)."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kiosk_app.domain.akta_kelahiran import MSG
from kiosk_app.domain.session import GOODBYE_TEXT, EndReason, Timeouts
from kiosk_app.services.session.form import FEATURE_NOT_BUILT

pytestmark = pytest.mark.ui

NUMBER = re.compile(r"^AKTA-\d{2}\.\d{2}\.\d{6}\.\d{4}$")
HOLDER = "BUDI SANTOSO"  # fictional citizen 0 of the simulated reader
ALL_STATES = [
    "attract",
    "reading_card",
    "identity",
    "menu",
    "form",
    "scan",
    "schedule",
    "review",
    "submitting",
    "result",
    "survey",
    "goodbye",
    "attract",
]


def all_texts(pilot: Any) -> str:
    """Every text held by any widget of any screen (shown or not) and any open modal."""
    from kivy.core.window import Window

    roots = [*pilot.app.root.screens, *[w for w in Window.children if w is not pilot.app.root]]
    found = []
    for root in roots:
        for widget in pilot._walk(root):
            for attr in ("text", "value_text", "label_text", "name_text", "nik_text"):
                value = getattr(widget, attr, None)
                if isinstance(value, str) and value:
                    found.append(value)
    return "\n".join(found)


def to_menu(pilot: Any) -> None:
    """Attract -> simulated card -> identity -> menu, by touches."""
    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")
    pilot.tap("next")
    pilot.wait_for_state("menu")


def open_service(pilot: Any, service: str) -> Any:
    """Up to the first page of the form of `service` (e.g. "akta_kematian"); the app."""
    to_menu(pilot)
    pilot.tap(f"service_{service}")
    pilot.wait_for_state("form")
    return pilot.app


def to_form(pilot: Any) -> None:
    """Up to the first page of the birth-certificate form."""
    open_service(pilot, "akta_kelahiran")


def demo_values() -> dict[str, str]:
    from kiosk_app.demo_data import sample_birth_values

    return sample_birth_values()  # the address has a house number: typed on the letters keyboard


def test_full_journey_by_touch(start_kiosk: Callable[..., Any], artifacts: Path) -> None:
    from kiosk_app.ui.demo import DemoRecorder, drive_journey

    shutil.rmtree(artifacts / "journey" / "screens", ignore_errors=True)  # no stale shots
    pilot = start_kiosk()
    recorder = DemoRecorder(artifacts / "journey", pilot)
    number = drive_journey(pilot, recorder, demo_values())

    assert NUMBER.match(number), number
    assert pilot.screens_seen == ALL_STATES
    printer = pilot.kiosk.devices.ticket_printer
    assert printer.tickets and printer.tickets[-1].registration_number == number
    assert printer.last_png_path is not None and printer.last_png_path.is_file()
    shots = sorted((artifacts / "journey" / "screens").glob("*.png"))
    assert len(shots) == len(recorder.screens) >= 15
    # Back on the attract screen nothing personal remains in any widget.
    texts = all_texts(pilot)
    assert HOLDER not in texts and number not in texts
    assert pilot.app.root.get_screen("identity").photo is None


def test_form_rejects_invalid_weight_then_accepts(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    pilot = start_kiosk()
    to_form(pilot)
    app, values = pilot.app, demo_values()
    form = app.view.service.form
    # Pages 1-3 are entered through the service; touch entry is covered by the full journey.
    for index in range(3):
        for spec in form.pages[index].fields:
            app.session.set_value(spec.name, values[spec.name])
        pilot.tap("next")
        pilot.wait_until(lambda i=index: app.view.page == i + 1, what=f"page {index + 2}")
    assert form.pages[app.view.page].key == "anak_3"

    pilot.type_into("child_weight_kg", "99")
    pilot.type_into("child_length_cm", "49")
    pilot.tap("next")
    pilot.wait_until(lambda: "child_weight_kg" in app.view.errors, what="weight error")
    weight = pilot.find("field_child_weight_kg")
    assert weight.error_text == MSG["weight"].id
    assert pilot.find("field_child_length_cm").error_text == ""
    assert form.pages[app.view.page].key == "anak_3"
    pilot.screenshot(artifacts / "form-invalid-weight.png")

    pilot.type_into("child_weight_kg", "3,2")
    assert weight.error_text == ""
    pilot.tap("next")
    pilot.wait_until(lambda: form.pages[app.view.page].key == "ibu_1", what="next page")
    assert app.view.values["child_weight_kg"] == "3,2"


def test_inactivity_warning_then_still_here_keeps_session(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    pilot = start_kiosk(Timeouts(inactivity_s=1.0, warning_s=20.0, goodbye_s=3.0))
    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")
    pilot.wait_until(lambda: pilot.exists("inactivity_warning"), what="warning")
    with pilot.hold_clock():  # no new warning 1 s after the answer, however slow the frames
        warning = pilot.find("inactivity_warning")
        assert 15 <= warning.seconds_left <= 20
        pilot.screenshot(artifacts / "inactivity-warning.png")

        pilot.tap("still_here")
        pilot.wait_until(lambda: not pilot.exists("inactivity_warning"), what="closed")
        assert pilot.state == "identity"
        assert HOLDER in all_texts(pilot)


def test_ignored_warning_ends_the_session(start_kiosk: Callable[..., Any]) -> None:
    pilot = start_kiosk(Timeouts(inactivity_s=1.0, warning_s=20.0, goodbye_s=3.0))
    with pilot.hold_clock():  # no warning over the identity screen before "next" is touched
        to_menu(pilot)
    pilot.wait_until(lambda: pilot.exists("inactivity_warning"), what="warning")
    # Jump the service's clock past the 20 s countdown instead of waiting for it; it stands
    # still while the goodbye is checked.
    with pilot.hold_clock(skip_s=25.0):
        pilot.wait_for_state("goodbye")
        assert not pilot.exists("inactivity_warning")
        assert pilot.find("goodbye").text == GOODBYE_TEXT[EndReason.INACTIVITY].id
    pilot.wait_for_state("attract")
    assert HOLDER not in all_texts(pilot)


def test_card_removal_mid_form_says_goodbye_and_clears(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    pilot = start_kiosk()
    to_form(pilot)
    pilot.type_into("kk_head_name", HOLDER)
    assert HOLDER in all_texts(pilot)

    with pilot.hold_clock():  # the goodbye stays while it is checked
        pilot.kiosk.devices.card_reader.remove_card()
        pilot.wait_for_state("goodbye")
        assert pilot.find("goodbye").text == GOODBYE_TEXT[EndReason.CARD_REMOVED].id
        pilot.screenshot(artifacts / "card-removed.png")
    pilot.wait_for_state("attract")
    time.sleep(0.1)
    pilot.idle(3)
    texts = all_texts(pilot)
    assert HOLDER not in texts
    assert "3517" not in texts  # neither the KK number nor the (masked) NIK
    assert pilot.app.root.get_screen("identity").photo is None
    assert pilot.screens_seen[-3:] == ["form", "goodbye", "attract"]


def test_menu_tiles_open_their_forms_or_answer_with_a_message(
    start_kiosk: Callable[..., Any],
) -> None:
    pilot = start_kiosk()
    to_menu(pilot)
    pilot.tap("service_akta_kematian")
    pilot.wait_for_state("form")
    pilot.wait_until(lambda: "Akta Kematian" in pilot.find("form_title").text, what="title")
    pilot.tap("back")
    pilot.wait_for_state("menu")
    pilot.tap("service_print")
    pilot.wait_for_state("documents")
    pilot.tap("documents_back")
    pilot.wait_for_state("menu")
    assert not FEATURE_NOT_BUILT  # every tile of the menu works now
    with pilot.hold_clock():  # the goodbye stays until it is seen
        pilot.tap("finish")
        pilot.tap("confirm_yes")
        pilot.wait_for_state("goodbye")


def test_language_buttons_switch_the_attract_screen(start_kiosk: Callable[..., Any]) -> None:
    from kiosk_app.ui.screens import texts

    pilot = start_kiosk()
    pilot.tap("lang_en")
    pilot.wait_until(lambda: pilot.app.view.language == "en", what="english")
    assert texts.PLACE_CARD.en in all_texts(pilot)
    pilot.tap("lang_id")
    pilot.wait_until(lambda: pilot.app.view.language == "id", what="indonesian")
    assert texts.PLACE_CARD.id in all_texts(pilot)


def test_language_chosen_on_attract_is_kept_for_the_session(
    start_kiosk: Callable[..., Any],
) -> None:
    from kiosk_app.ui.screens import texts

    pilot = start_kiosk()
    pilot.tap("lang_en")
    pilot.wait_until(lambda: pilot.app.view.language == "en", what="english")
    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")
    assert texts.WELCOME.en in all_texts(pilot)
    assert "Welcome, Mr" in all_texts(pilot)  # BUDI SANTOSO's card says L: Mr (Bapak)
