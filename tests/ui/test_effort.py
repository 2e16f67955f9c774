"""Fewer touches (issue 15): a typed NIK fills that person's sex and birth date, the date picker
starts near the date the field likely holds, a choice moves on. Real app, real touches."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from kiosk_app.domain.nik import make_nik
from tests.ui.test_journey import to_menu

pytestmark = pytest.mark.ui


def test_a_typed_nik_fills_sex_and_birth_date(start_kiosk: Callable[..., Any]) -> None:
    pilot = start_kiosk()
    app = pilot.app
    to_menu(pilot)
    pilot.tap("service_akta_kematian")
    pilot.wait_for_state("form")
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
    # An elderly person's birth date: the picker starts 70 years back, not 30.
    app.session.set_value("deceased_birth_date", "")
    pilot.idle(2)
    pilot.select_field("deceased_birth_date")
    picker = pilot.find("date_picker")
    assert picker._start_date().year == datetime.date.today().year - 70


def test_choosing_an_option_moves_on(start_kiosk: Callable[..., Any]) -> None:
    pilot = start_kiosk()
    app = pilot.app
    to_menu(pilot)
    pilot.tap("service_cetak_ulang_ktp")
    pilot.wait_for_state("form")
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
