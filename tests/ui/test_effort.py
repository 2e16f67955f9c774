"""Fewer touches (issue 15): a typed NIK fills that person's sex and birth date, the date picker
starts near the date the field likely holds, a choice moves on. Real app, real touches."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from kiosk_app.domain.nik import make_nik
from tests.ui.test_journey import open_service

pytestmark = pytest.mark.ui


def _birth_date_picker(pilot: Any) -> tuple[Any, Any]:
    """The death form's birth-date picker, open; the app and the picker."""
    app = open_service(pilot, "akta_kematian")
    pilot.select_field("deceased_birth_date")
    return app, pilot.find("date_picker")


def test_a_typed_nik_fills_sex_and_birth_date(start_kiosk: Callable[..., Any]) -> None:
    pilot = start_kiosk()
    app = open_service(pilot, "akta_kematian")
    nik = make_nik("35", "17", "08", datetime.date(1941, 3, 4), "P", 7)
    pilot.type_into("deceased_nik", nik)
    pilot.wait_until(lambda: app.view.values.get("deceased_sex") == "P", what="sex from the NIK")
    assert app.view.values["deceased_birth_date"] == "1941-03-04"
    pilot.idle(2)
    assert pilot.find("field_deceased_birth_date").value_text == "Selasa, 4 Maret 1941"
    # A corrected NIK corrects what it filled; what the citizen chose stays.
    pilot.type_into("deceased_nik", make_nik("35", "17", "08", datetime.date(1950, 1, 2), "L", 7))
    pilot.wait_until(lambda: app.view.values.get("deceased_sex") == "L", what="sex updated")
    assert app.view.values["deceased_birth_date"] == "1950-01-02"
    # An elderly person's birth date: the picker starts 70 years back, at the decades.
    app.session.set_value("deceased_birth_date", "")
    pilot.idle(2)
    pilot.select_field("deceased_birth_date")
    picker = pilot.find("date_picker")
    assert picker.start_date().year == datetime.date.today().year - 70
    assert picker.stage == "decade"


def test_choosing_an_option_moves_on(start_kiosk: Callable[..., Any]) -> None:
    pilot = start_kiosk()
    app = open_service(pilot, "cetak_ulang_ktp")
    form = app.view.service.form
    screen = pilot.app.root.get_screen("form")
    pilot.type_into("kk_number", "3517080101100007")
    pilot.choose("reprint_reason", "rusak")
    pilot.tap("next")
    pilot.wait_until(lambda: form.pages[app.view.page].key == "rusak", what="the 'rusak' page")
    # The page's only field: choosing its option goes on to the next page by itself.
    pilot.choose("bring_old_card", "ya")
    pilot.wait_until(lambda: form.pages[app.view.page].key == "kontak", what="no Lanjut needed")
    pilot.idle(3)
    # Otherwise the next field is selected, ready to fill, without a touch.
    pilot.choose("contact_channel", "whatsapp")
    pilot.wait_until(lambda: screen.selected == "contact_email", what="the next field")
    assert app.view.values["contact_channel"] == "whatsapp"


def test_a_birth_year_like_1945_takes_four_touches(start_kiosk: Callable[..., Any]) -> None:
    """Year first: the decade, the year, the month, the day; typed: 8 digits on the pad."""
    pilot = start_kiosk()
    app, picker = _birth_date_picker(pilot)
    assert picker.stage == "decade" and not picker.value
    before = pilot.taps
    pilot.set_date("deceased_birth_date", "1945-03-04")
    assert pilot.taps - before == 4  # the +/- picker took 20 from 1956 (70 years back)
    assert app.view.values["deceased_birth_date"] == "1945-03-04"
    # Opened again, it shows that month: another day of it is one touch.
    before = pilot.taps
    pilot.set_date("deceased_birth_date", "1945-03-17")
    assert pilot.taps - before == 1
    # Typed as digits: "Ketik tanggal", then DD MM YYYY (the date is taken at the 8th digit).
    before = pilot.taps
    pilot.type_date("deceased_birth_date", "1944-12-31")
    assert pilot.taps - before == 9
    assert app.view.values["deceased_birth_date"] == "1944-12-31"


def test_a_typed_date_that_does_not_exist_is_refused_in_words(
    start_kiosk: Callable[..., Any],
) -> None:
    pilot = start_kiosk()
    app, picker = _birth_date_picker(pilot)
    pilot.touch(next(w for w in pilot._walk(picker) if getattr(w, "action", "") == "typed"))
    for key in "31021945":  # no 31 February
        pilot.touch(next(w for w in pilot._walk(picker.pad) if getattr(w, "key", "") == key), 0)
    pilot.idle(2)
    assert not app.view.values.get("deceased_birth_date")
    assert pilot.find("date_prompt").text == "Tanggal itu tidak ada di kalender. Periksa lagi."
    assert pilot.find("date_typed").text == "31 - 02 - 1945"
    # Corrected: 28 February is taken.
    for key in ("backspace",) * 8 + tuple("28021945"):
        pilot.touch(next(w for w in pilot._walk(picker.pad) if getattr(w, "key", "") == key), 0)
    pilot.idle(2)
    assert app.view.values["deceased_birth_date"] == "1945-02-28"
    # The grid stays one touch away, open on the month typed.
    pilot.touch(next(w for w in pilot._walk(picker) if getattr(w, "action", "") == "grid"))
    assert picker.stage == "day" and (picker.year, picker.month) == (1945, 2)


def test_same_as_copies_what_the_form_holds_with_one_touch(
    start_kiosk: Callable[..., Any],
) -> None:
    pilot = start_kiosk()  # the card holder is the father: his name and address are prefilled
    app = open_service(pilot, "akta_kelahiran")
    pilot.select_field("kk_head_name")
    assert pilot.find("same_as").text == "Sama dengan nama ayah"
    before = pilot.taps
    pilot.tap("same_as")
    assert pilot.taps - before == 1
    assert app.view.values["kk_head_name"] == app.view.values["father_name"] != ""
    # The answer is complete: the next field is open; an empty KK number is offered the area
    # code it likely starts with (the card holder's NIK's), the rest is typed.
    screen = app.root.get_screen("form")
    pilot.wait_until(lambda: screen.selected == "kk_number", what="moved on to the KK number")
    assert pilot.find("editor_input").text == ""
    area = app.view.values["father_nik"][:6]
    assert pilot.find("same_as").text == f"{area[:4]} {area[4:]} \u2026 (kode wilayah)"
    pilot.tap("same_as")
    pilot.wait_until(lambda: app.view.values.get("kk_number") == area, what="the area code")
    assert screen.selected == "kk_number"  # not complete: the keyboard stays
