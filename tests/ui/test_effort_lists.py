"""Fewer touches (issue 15), second round: an occupation from the register's list, a time on
two grids, a complete NIK moving on. Real app, real touches."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.nik import make_nik
from tests.ui.test_journey import open_service

pytestmark = pytest.mark.ui


def _to_page(pilot: Any, page_key: str) -> None:
    """Lanjut, page by page, up to page `page_key` (none may show an error)."""
    app = pilot.app
    form = app.view.service.form
    while form.pages[app.view.page].key != page_key:
        page = app.view.page
        pilot.tap("next")
        pilot.wait_until(lambda p=page: app.view.page != p or bool(app.view.errors), what="page")
        assert not app.view.errors, dict(app.view.errors)


def _birth_form(pilot: Any, page_key: str, *empty: str) -> Any:
    """The birth form open on page `page_key`, the pages before filled (the demo's values),
    the fields `empty` (and those the card fills) left as they are."""
    app = open_service(pilot, "akta_kelahiran")
    for name, value in sample_birth_values().items():
        if name not in empty and not app.view.values.get(name):
            app.session.set_value(name, value)
    _to_page(pilot, page_key)
    pilot.idle(3)
    return app.root.get_screen("form")


def test_an_occupation_is_one_touch_from_the_list(start_kiosk: Callable[..., Any]) -> None:
    pilot = start_kiosk()  # the card holder is the father: his occupation comes from the card
    app = pilot.app
    screen = _birth_form(pilot, "ibu_2", "mother_occupation")
    assert app.view.values["father_occupation"] == "WIRASWASTA"  # a key of the list
    pilot.select_field("mother_occupation")
    picker = pilot.find("list_picker")
    assert pilot.find("list_page").text == "1 / 11"
    before = pilot.taps
    pilot.pick_listed("mother_occupation", "MENGURUS RUMAH TANGGA")
    assert pilot.taps - before == 1
    assert app.view.values["mother_occupation"] == "MENGURUS RUMAH TANGGA"
    pilot.wait_until(lambda: screen.selected == "mother_address", what="moved on")
    assert pilot.find("field_mother_occupation").value_text == "MENGURUS RUMAH TANGGA"
    # A rarer one: a few pages on with ▶ (the list opens on the page of the chosen answer).
    before = pilot.taps
    pilot.pick_listed("mother_occupation", "DOSEN")
    assert app.view.values["mother_occupation"] == "DOSEN"
    assert 2 < pilot.taps - before <= 1 + picker.pages
    pilot.select_field("mother_occupation")
    assert any(c.choice_key == "DOSEN" and c.selected for c in picker.grid.children)
    # Not in the list: "Lainnya (ketik)" opens the keyboard; the typed answer is kept and checked.
    pilot.pick_listed("mother_occupation", "PERAJIN ROTAN")
    assert app.view.values["mother_occupation"] == "PERAJIN ROTAN"
    assert pilot.find("same_as").text == "\u2039  Pilih dari daftar"
    pilot.tap("same_as")  # back to the list, nothing lost
    assert pilot.find("list_picker").parent is not None
    assert app.view.values["mother_occupation"] == "PERAJIN ROTAN"
    app.session.set_value("mother_occupation", "%%")
    pilot.tap("next")
    pilot.wait_until(lambda: "mother_occupation" in app.view.errors, what="refused")
    assert app.view.errors["mother_occupation"].id.startswith("Isi dengan huruf")


def test_a_time_of_birth_is_two_touches_or_typed_exactly(
    start_kiosk: Callable[..., Any],
) -> None:
    pilot = start_kiosk()
    app = pilot.app
    screen = _birth_form(pilot, "anak_2", "child_birth_time")
    pilot.select_field("child_birth_time")
    picker = pilot.find("time_picker")
    assert picker.stage == "hour" and not picker.optional
    assert not pilot.exists("time_unknown")  # required: no "Tidak tahu"
    before = pilot.taps
    pilot.set_time("child_birth_time", "14:30")
    assert pilot.taps - before == 2
    pilot.wait_until(lambda: screen.selected == "birth_type", what="moved on")
    # The minute the birth letter gives: typed as four digits after "Ketik tepat".
    pilot.select_field("child_birth_time")
    before = pilot.taps
    pilot.set_time("child_birth_time", "14:37")
    assert pilot.taps - before == 5
    assert app.view.values["child_birth_time"] == "14:37"
    # An impossible time is refused in words and nothing is stored.
    pilot.select_field("child_birth_time")
    pilot._tap_attr("action", "typed", picker)
    for key in "2590":
        pilot._tap_attr("key", key, picker.pad, settle=0)
    pilot.idle(2)
    assert pilot.find("time_prompt").text.startswith("Jam 00 sampai 23")
    assert app.view.values["child_birth_time"] == "14:37"


def test_an_unknown_time_of_death_is_one_touch(start_kiosk: Callable[..., Any]) -> None:
    pilot = start_kiosk()
    app = open_service(pilot, "akta_kematian")
    nik = make_nik("35", "17", "08", datetime.date(1941, 3, 4), "P", 7)
    for name, value in {
        "deceased_nik": nik,
        "deceased_name": "SITI AMINAH",
        "deceased_sex": "P",
        "deceased_birth_date": "1941-03-04",
        "kk_number": "3517080101100007",
        "deceased_birth_place": "JOMBANG",
        "deceased_occupation": "PENSIUNAN",
        "deceased_address": "JL. MAWAR NO. 12, SENGON, JOMBANG",
        "death_time": "10:15",
    }.items():
        app.session.set_value(name, value)
    screen = app.root.get_screen("form")
    _to_page(pilot, "kematian")
    pilot.select_field("death_time")
    assert pilot.find("time_picker").stage == "minute"  # opens on the chosen hour
    pilot.tap("time_unknown")
    pilot.wait_until(lambda: app.view.values.get("death_time") == "", what="time emptied")
    pilot.wait_until(lambda: screen.selected == "death_place_type", what="moved on")


def test_a_complete_nik_moves_on_a_wrong_one_stays(start_kiosk: Callable[..., Any]) -> None:
    pilot = start_kiosk()
    app = pilot.app
    screen = _birth_form(pilot, "ibu_1", "mother_nik", "mother_name", "mother_birth_date")
    nik = make_nik("35", "17", "08", datetime.date(1990, 4, 9), "P", 12)
    pilot.type_into("mother_nik", nik)
    pilot.wait_until(lambda: screen.selected == "mother_name", what="moved on to the name")
    assert app.view.values["mother_birth_date"] == "1990-04-09"
    # A NIK the kiosk refuses (a man's for the mother) stays open for correcting.
    man = make_nik("35", "17", "08", datetime.date(1985, 8, 12), "L", 1)
    pilot.type_into("mother_nik", man)
    pilot.idle(3)
    assert screen.selected == "mother_nik"
