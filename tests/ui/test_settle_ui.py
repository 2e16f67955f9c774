"""A double tap never crosses a screen or dialog change (kiosk_app/ui/settle.py), on the real app.

The second tap of a double tap comes down at a chosen time after the change (the touch's own
`time_start`, on the clock the app stamps its changes with): nothing sleeps, nothing depends on
how fast the machine is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kivy.core.window import Window
from kivy.uix.behaviors import ButtonBehavior

from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, hash_pin
from kiosk_app.ui.reach import taker_at, window_centre
from kiosk_app.ui.settle import SETTLE_S

pytestmark = pytest.mark.ui

SECOND_TAP_S = 0.25  # an elderly citizen's double tap: the second tap after the change


def _watch_presses(pilot: Any) -> list[str]:
    """Record every press of a button now on the window (screens, dialogs, overlays)."""
    pressed: list[str] = []
    for root in Window.children:
        for widget in root.walk(restrict=True):
            if isinstance(widget, ButtonBehavior):
                name = getattr(widget, "pilot_id", None) or getattr(widget, "text", "") or widget
                widget.fbind("on_press", lambda *_a, n=name: pressed.append(str(n)))
    return pressed


def _tap_at(pilot: Any, x: float, y: float, at: float) -> None:
    """Touch down and up at window point (x, y), coming down at time `at`."""
    touch = pilot.new_touch(x, y)
    touch.time_start = at
    touch.touch_down()
    touch.touch_up()
    pilot.idle(3)


def double_tap(pilot: Any, target: Any, changed: Callable[[], bool]) -> Any:
    """Double-tap `target` (a pilot_id or a widget): its first tap makes the change
    (`changed()` holds), the second comes down SECOND_TAP_S after the change at the same point.
    Return what sits there now, which the second tap must not have pressed (nor anything
    else)."""
    settle = pilot.app.settle
    widget = pilot.find(target) if isinstance(target, str) else target
    x, y = window_centre(widget)
    before = settle.changed_at
    held = settle.held
    pilot.touch(widget)
    pilot.wait_until(changed, what=f"the change made by {target!r}")
    pilot.idle(3)  # laid out: what sits under the point now
    assert settle.changed_at > before  # the change was stamped
    underneath = taker_at(x, y)
    assert isinstance(underneath, ButtonBehavior), (target, underneath)  # it could be pressed
    pressed = _watch_presses(pilot)
    _tap_at(pilot, x, y, settle.changed_at + SECOND_TAP_S)
    assert pressed == []
    assert settle.held == held + 1
    return underneath


def tap_after_settling(pilot: Any, widget: Any) -> list[str]:
    """A deliberate tap on `widget`, coming down just as the settle interval ends; what it
    pressed."""
    pressed = _watch_presses(pilot)
    _tap_at(pilot, *window_centre(widget), pilot.app.settle.changed_at + SETTLE_S)
    return pressed


def test_double_tap_on_lanjut_does_not_end_the_visit(start_kiosk: Callable[..., Any]) -> None:
    pilot = start_kiosk()
    session = pilot.app.session
    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")
    pilot.app.a11y.audio.wait_idle(20)
    spoken = len(pilot.app.a11y.audio.spoken_words())
    underneath = double_tap(pilot, "next", lambda: pilot.app.root.current == "menu")
    assert getattr(underneath, "pilot_id", None) == "finish"  # "Akhiri kunjungan"
    pilot.wait_for_state("menu")
    assert not pilot.exists("confirm")  # no "end the visit?" question
    assert pilot.screens_seen[-2:] == ["identity", "menu"]
    assert session.view.state.value == "menu" and session.view.name  # the visit goes on
    # The guidance: the menu's prompt, said once; nothing of a question nobody asked.
    pilot.app.a11y.audio.wait_idle(20)
    said = pilot.app.a11y.audio.spoken_words()[spoken:]
    assert len(said) == 1 and said[0].startswith("Pilih layanan"), said

    # A deliberate tap once the menu settled works as always.
    assert tap_after_settling(pilot, underneath) == ["finish"]
    pilot.wait_until(lambda: pilot.exists("confirm"), what="the end-the-visit question")
    # Answered (a dialog left open when the app stops keeps its screens on Kivy's window).
    pilot.tap("confirm_no")
    pilot.wait_until(lambda: not pilot.exists("confirm"), what="the question answered")


def test_double_taps_on_a_dialog_close_and_a_tile(start_kiosk: Callable[..., Any]) -> None:
    from tests.ui.test_attendant_ui import CARD, PIN, enter_pin

    settings = AttendantSettings(staff=[Attendant("PTG-07", hash_pin(PIN), (CARD,))])
    pilot = start_kiosk(card_read_delay_s=0.05, attendant=settings)
    root, audio = pilot.app.root, pilot.app.a11y.audio
    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")

    # A dialog closed: the attendant panel's "Tutup" sits over the screen's "Ulangi suara".
    pilot.tap("attendant_button")
    pilot.wait_until(lambda: pilot.exists("attendant_pinpad"), what="PIN pad")
    enter_pin(pilot, PIN)
    pilot.wait_until(lambda: pilot.exists("attendant_panel"), what="attendant panel")
    audio.wait_idle(20)
    spoken = len(audio.spoken_words())
    underneath = double_tap(pilot, "panel_close", lambda: not pilot.exists("attendant_panel"))
    assert getattr(underneath, "pilot_id", None) == "a11y_repeat"
    audio.wait_idle(20)
    assert audio.spoken_words()[spoken:] == []  # nothing repeated
    assert pilot.state == "identity"

    pilot.tap("next")
    pilot.wait_for_state("menu")
    # A screen-changing tile: the birth certificate; the second tap lands on the form's first
    # field.
    underneath = double_tap(pilot, "service_akta_kelahiran", lambda: root.current == "form")
    pilot.wait_for_state("form")
    assert getattr(underneath, "pilot_id", None) == "field_kk_head_name"
    assert pilot.state == "form" and pilot.app.view.values.get("kk_head_name", "") == ""
    # After the interval the same point works as always.
    assert tap_after_settling(pilot, underneath) == ["field_kk_head_name"]


def test_a_touch_from_before_the_change_reaches_nothing(start_kiosk: Callable[..., Any]) -> None:
    """A second tap that came down before the change but reaches the window after it (the
    app was busy building the new screen) presses nothing on the new screen either."""
    pilot = start_kiosk()
    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")
    double_tap_at = window_centre(pilot.find("next"))
    pilot.tap("next")
    pilot.wait_for_state("menu")
    assert getattr(taker_at(*double_tap_at), "pilot_id", None) == "finish"
    pressed = _watch_presses(pilot)
    _tap_at(pilot, *double_tap_at, pilot.app.settle.changed_at - 0.05)
    assert pressed == [] and not pilot.exists("confirm")


def test_double_tap_on_a_form_page_lanjut_advances_one_page(
    start_kiosk: Callable[..., Any],
) -> None:
    """A change inside one screen is stamped too: the form's next page (whose fields are all
    filled, so nothing would stop a second "Lanjut") shows, and a double tap's second tap lands
    on its "Lanjut" without pressing it. A deliberate tap after the interval advances again."""
    from kiosk_app.demo_data import sample_birth_values
    from tests.ui.test_journey import to_menu

    pilot = start_kiosk()
    to_menu(pilot)
    pilot.tap("service_akta_kelahiran")
    pilot.wait_for_state("form")
    session, values = pilot.app.session, sample_birth_values()
    form = session.view.service.form
    for index in (0, 1):  # pages 1 and 2 complete: "Lanjut" would pass both
        for name in form.page_fields(index):
            session.set_value(name, values[name])
    pilot.idle(3)
    assert pilot.app.view.page == 0

    underneath = double_tap(pilot, "next", lambda: pilot.app.view.page == 1)
    assert getattr(underneath, "pilot_id", None) == "next"
    pilot.idle(3)
    assert pilot.app.view.page == 1 and pilot.state == "form"  # one page, not two
    assert pilot.app.root.get_screen("form").step_text.startswith("Langkah 2 ")

    assert tap_after_settling(pilot, underneath) == ["next"]
    pilot.wait_until(lambda: pilot.app.view.page == 2, what="the third page")


def test_double_tap_on_the_own_panel_close_reaches_nothing_underneath(
    start_kiosk: Callable[..., Any],
) -> None:
    """The status screen's "Permohonan saya" panel closing (no screen change, no dialog): the
    second tap on its "Kembali" presses nothing of the status screen it uncovered."""
    from tests.ui.test_overlay_touch_ui import open_panel

    pilot = start_kiosk()
    status = pilot.app.root.get_screen("status")
    open_panel(pilot, "ui-settle-panel-0001")
    check = pilot.app.session.view.status_check
    before = (check.entry, check.loading, check.result, status.entry)
    underneath = double_tap(pilot, "own_close", lambda: not status.own_shown)
    assert not status.own_shown and pilot.state == "status"
    check = pilot.app.session.view.status_check
    assert (check.entry, check.loading, check.result, status.entry) == before
    assert getattr(underneath, "pilot_id", None) == "status_back"  # the visit's menu
    # After the interval the uncovered button works as always.
    assert tap_after_settling(pilot, underneath) == ["status_back"]
    pilot.wait_for_state("menu")


def test_double_tap_on_a_choice_reaches_nothing_of_the_next_editor(
    start_kiosk: Callable[..., Any],
) -> None:
    """A choice moves on to the next field, whose editor replaces the choices: the second tap
    on "Laki-laki" picks nothing in the place-of-birth editor now there."""
    from tests.ui.test_journey import demo_values, to_form

    pilot = start_kiosk()
    to_form(pilot)
    form = pilot.app.root.get_screen("form")
    session, view = pilot.app.session, pilot.app.view
    for name in view.service.form.page_fields(0):  # on to the child's page
        session.set_value(name, demo_values()[name])
    pilot.tap("next")
    pilot.wait_until(lambda: pilot.app.view.page == 1, what="the child's page")
    pilot.select_field("child_sex")
    male = next(w for w in pilot.find("choices").walk() if getattr(w, "choice_key", "") == "L")
    underneath = double_tap(pilot, male, lambda: form.editing == "birth_place_type")
    assert getattr(underneath, "choice_key", None) in {"rs_rb", "puskesmas", "polindes"}
    pilot.idle(3)
    assert pilot.app.view.values.get("child_sex") == "L"
    assert pilot.app.view.values.get("birth_place_type", "") == ""  # nothing picked
    assert form.editing == "birth_place_type" and pilot.app.view.page == 1


def _cell(picker: Any, action: str) -> Any:
    """The date picker's button for `action` ("decade:1940", "typed", ...)."""
    return next(w for w in picker.walk(restrict=True) if getattr(w, "action", "") == action)


def test_double_taps_on_the_date_grid_go_one_step_each(start_kiosk: Callable[..., Any]) -> None:
    """Each step of the date grid (decade to its years, a year to the months, a month to its
    days) shows other cells where the finger was: the second tap picks none of them."""
    from tests.ui.test_journey import open_service

    pilot = start_kiosk()
    app = open_service(pilot, "akta_kematian")
    pilot.select_field("deceased_birth_date")
    picker = pilot.find("date_picker")
    assert picker.stage == "decade"
    underneath = double_tap(pilot, _cell(picker, "decade:1940"), lambda: picker.stage == "year")
    assert underneath.action.startswith("year:") and picker.stage == "year"
    underneath = double_tap(pilot, _cell(picker, "year:1945"), lambda: picker.stage == "month")
    assert underneath.action.startswith("month:") and picker.stage == "month"
    assert picker.year == 1945
    underneath = double_tap(pilot, _cell(picker, "month:3"), lambda: picker.stage == "day")
    assert underneath.action.startswith("day:") and picker.stage == "day"
    assert (picker.year, picker.month) == (1945, 3)
    assert not picker.value and not app.view.values.get("deceased_birth_date")
    # After the interval a day is picked as always.
    assert tap_after_settling(pilot, underneath) == [underneath.text]
    pilot.wait_until(lambda: bool(app.view.values.get("deceased_birth_date")), what="the date")


def test_double_tap_on_type_the_date_types_nothing(start_kiosk: Callable[..., Any]) -> None:
    """ "Ketik tanggal" puts the number pad where the grid was: the second tap types nothing
    on it (nor switches back)."""
    from tests.ui.test_journey import open_service

    pilot = start_kiosk()
    open_service(pilot, "akta_kematian")
    pilot.select_field("deceased_birth_date")
    picker = pilot.find("date_picker")
    underneath = double_tap(pilot, _cell(picker, "typed"), lambda: picker.stage == "typed")
    assert getattr(underneath, "key", "") == "0"  # a key of the number pad
    pilot.idle(3)
    assert picker.stage == "typed" and picker.digits == ""
    # After the interval the key types as always.
    tap_after_settling(pilot, underneath)
    pilot.wait_until(lambda: picker.digits == "0", what="the digit typed")


def test_double_tap_on_the_next_list_page_turns_one_page(
    start_kiosk: Callable[..., Any],
) -> None:
    """▶ shows the list's next page: the second tap of a double tap on it turns no further."""
    from tests.ui.test_effort_lists import _birth_form

    pilot = start_kiosk()
    _birth_form(pilot, "ibu_2", "mother_occupation")
    pilot.select_field("mother_occupation")
    picker = pilot.find("list_picker")
    assert picker.page == 0
    underneath = double_tap(pilot, "list_next", lambda: picker.page == 1)
    assert getattr(underneath, "pilot_id", None) == "list_next"
    pilot.idle(3)
    assert picker.page == 1 and pilot.find("list_page").text == "2 / 11"
    assert not pilot.app.view.values.get("mother_occupation")
    # A deliberate tap after the interval turns on as always.
    assert tap_after_settling(pilot, underneath) == ["list_next"]
    pilot.wait_until(lambda: picker.page == 2, what="the third page")
