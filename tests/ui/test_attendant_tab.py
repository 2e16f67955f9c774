"""The attendant's "Petugas" tab sits on top of every screen at the bottom centre: on the scan and
survey screens it covers none of the citizen's buttons (issue 15). Real app, real overlay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.ui.conftest import fill_birth_form

pytestmark = pytest.mark.ui


def covered_buttons(pilot: Any) -> list[str]:
    """Buttons of the screen on display that the attendant tab overlaps."""
    from kiosk_app.ui.widgets.buttons import BigButton

    tab = pilot.find("attendant_button")
    tx, ty = tab.to_window(*tab.pos)
    found = []
    for widget in pilot._walk(pilot.app.root.current_screen):
        if not isinstance(widget, BigButton) or widget.opacity < 0.5 or widget.width < 2:
            continue
        x, y = widget.to_window(*widget.pos)
        if (
            x < tx + tab.width
            and tx < x + widget.width
            and y < ty + tab.height
            and ty < y + widget.height
        ):
            found.append(getattr(widget, "pilot_id", widget.text))
    return found


def test_the_attendant_tab_covers_no_button_on_scan_and_survey(
    start_kiosk: Callable[..., Any],
) -> None:
    pilot = start_kiosk()
    app = pilot.app
    fill_birth_form(pilot)
    pilot.wait_for_state("scan")
    pilot.idle(3)
    assert pilot.exists("attendant_button")
    assert covered_buttons(pilot) == []
    assert pilot.find("scan_page").kind == "accent"  # the loudest: scanning, not skipping
    assert pilot.find("scan_skip").kind == "secondary"
    assert pilot.find("scan_retake").parent.opacity == 0  # no grey "-" placeholders
    pilot.tap("scan_skip_all")
    pilot.wait_for_state("schedule")
    pilot.wait_until(lambda: bool(app.view.slots), what="slots")
    app.session.choose_slot(app.view.slots[0].slot)
    pilot.wait_for_state("review")
    pilot.tap("submit")
    pilot.wait_for_state("result")
    pilot.tap("finish")
    pilot.wait_for_state("survey")
    pilot.idle(3)
    assert covered_buttons(pilot) == []


STAFF_PIN = "482913"


def assisting(start_kiosk: Callable[..., Any], lang: str, large: bool) -> Any:
    """A card holder on the menu, an attendant assisting with the panel unlocked (the widest
    tab; the badge in the title bar), in `lang` and large text or not; the pilot."""
    from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, hash_pin
    from tests.ui.test_journey import to_menu
    from tests.ui.test_status_ui import wait_for_central

    staff = [Attendant("PTG-07", hash_pin(STAFF_PIN), ())]
    pilot = start_kiosk(attendant=AttendantSettings(staff=staff))
    wait_for_central(pilot)
    to_menu(pilot)
    assert pilot.kiosk.attendant.unlock_with_pin(STAFF_PIN)
    pilot.wait_until(lambda: pilot.exists("attendant_panel"), what="attendant panel")
    pilot.tap("act_assist")
    pilot.wait_until(lambda: pilot.app.session.view.assisted_by == "PTG-07", what="assisted")
    pilot.app.session.set_language(lang)
    if large:
        pilot.tap("a11y_large_text")
    return pilot


def under_the_badge(pilot: Any, where: str, assisted: bool = True) -> list[str]:
    """The controls of the screen on display partly under the attendant's tab or badge."""
    from tests.ui.reach_check import under_window_overlays

    pilot.idle(4)
    if assisted:
        pilot.wait_until(
            lambda: pilot.exists("assisted_badge") and pilot.find("assisted_badge").width > 0,
            what=f"the assisted badge on {where}",
        )
    return under_window_overlays()


@pytest.mark.parametrize(("lang", "large"), [("id", False), ("en", True)])
def test_the_assisted_badge_and_the_open_tab_leave_every_control_in_reach(
    start_kiosk: Callable[..., Any], lang: str, large: bool
) -> None:
    """An attendant assisting with the panel unlocked: the widest tab at the bottom centre takes
    every touch on it, so no button or text box of a screen of the visit may lie under it (nor
    under anything else drawn over the screens), not even an edge (the scan screen: below)."""
    from kiosk_app.demo_data import sample_birth_values

    pilot = assisting(start_kiosk, lang, large)
    session = pilot.app.session
    found: dict[str, list[str]] = {"menu": under_the_badge(pilot, "menu")}
    pilot.tap("service_status")  # the status screen's own bar: below
    pilot.wait_for_state("status")
    pilot.tap("status_mine")
    status = pilot.app.root.get_screen("status")
    pilot.wait_until(lambda: status.own_shown, what="own applications")
    found["status:own"] = under_the_badge(pilot, "status:own")
    assert pilot.find("own_close") in {w for w in status.ids.own.walk(restrict=True)}
    pilot.tap("own_close")
    pilot.tap("status_back")
    pilot.wait_for_state("menu")
    # Leaving the status check wipes the look-up only: the visit stays assisted.
    assert session.view.assisted_by == "PTG-07"
    values = sample_birth_values()
    session.choose_service("akta_kelahiran")
    form = session.view.service.form
    for index in range(len(form.pages)):
        pilot.wait_for_state("form")
        found[f"form:{index}"] = under_the_badge(pilot, f"form:{index}")
        for name in form.page_fields(index):
            session.set_value(name, values[name])
        session.next_page()
    pilot.wait_for_state("scan")
    session.scan_skip_all()
    pilot.wait_for_state("schedule")
    pilot.wait_until(lambda: bool(pilot.app.view.slots), what="slots")
    found["schedule"] = under_the_badge(pilot, "schedule")
    session.choose_slot(pilot.app.view.slots[0].slot)
    pilot.wait_for_state("review")
    found["review"] = under_the_badge(pilot, "review")
    pilot.tap("submit")
    pilot.wait_for_state("result")
    found["result"] = under_the_badge(pilot, "result")
    pilot.tap("finish")
    pilot.wait_for_state("survey")
    found["survey"] = under_the_badge(pilot, "survey", assisted=False)
    assert {k: v for k, v in found.items() if v} == {}


@pytest.mark.parametrize("where", ["scan", "status"])
@pytest.mark.parametrize(("lang", "large"), [("id", False), ("en", True)])
def test_the_scan_and_status_bars_leave_their_controls_in_reach_of_an_assisted_visit(
    start_kiosk: Callable[..., Any], lang: str, large: bool, where: str
) -> None:
    """The assisted badge once stood beside the tab, over the bottom strip of the scan screen's
    Lewati semua / Lewati dokumen ini and the status screen's Hapus semua (in large English
    text also Kembali ke menu and Periksa): it is in the title bar now, the tab alone below."""
    from tests.ui.conftest import fill_birth_pages

    pilot = assisting(start_kiosk, lang, large)
    if where == "status":
        pilot.tap("service_status")
    else:
        fill_birth_pages(pilot)
    pilot.wait_for_state(where)
    assert under_the_badge(pilot, where) == []
