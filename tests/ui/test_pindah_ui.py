"""The pindah form (F-1.03) by touch: one member row per person who moves, rows appear and go as
the number changes, each with the member's SHDK; only members may move (issue 15)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.ui.test_journey import to_menu

pytestmark = pytest.mark.ui


def test_members_who_move_get_one_row_each(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    from kiosk_app.ui.demo import fill_page
    from tests.domain.service_values import pindah_out

    pilot = start_kiosk()
    app = pilot.app
    to_menu(pilot)
    pilot.tap("service_pindah")
    pilot.wait_for_state("form")
    values = pindah_out() | {"move_type": "anggota", "kk_status_staying": "kk_tetap"}
    form = app.view.service.form
    while form.pages[app.view.page].key != "anggota":
        index = app.view.page
        fill_page(pilot, form.pages[index], values)
        pilot.tap("next")
        pilot.wait_until(lambda i=index: app.view.page > i, what=f"past page {index + 1}")
        assert not app.view.errors, app.view.errors
    assert not pilot.exists("field_member1_nik")  # no rows before the number is known
    pilot.set_count("members_count", 3)  # "+" three times: a row per member appears
    pilot.wait_until(lambda: pilot.exists("field_member3_shdk"), what="three member rows")
    assert not pilot.exists("field_member4_nik")
    pilot.screenshot(artifacts / "pindah-members.png")
    pilot.set_count("members_count", 2)  # "-" once: the last row goes
    pilot.wait_until(lambda: not pilot.exists("field_member3_nik"), what="the third row gone")
    pilot.tap("next")
    pilot.wait_until(lambda: "member2_nik" in app.view.errors, what="each row is needed")
    from tests.domain.service_values import W1, W2

    pilot.type_into("member1_nik", W2)
    pilot.choose("member1_shdk", "istri")
    pilot.type_into("member2_nik", W1)
    pilot.choose("member2_shdk", "anak")
    pilot.tap("next")
    pilot.wait_until(lambda: form.pages[app.view.page].key != "anggota", what="the next page")
    assert app.view.values["member2_shdk"] == "anak"
