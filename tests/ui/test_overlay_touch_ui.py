"""Taps never reach a widget the citizen cannot see, on the real app driven by touches: the
card holder's "Permohonan saya" panel covers the status screen's keypad and buttons, takes
every touch on it (none types a digit or starts a check underneath), and has its own working
"Ulangi" and "Huruf besar" buttons; the guard finds no hidden widget a tap reaches, and does
find the status screen's buttons once the panel lets touches through (as it did), or a button
made invisible but left enabled."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk_app.ui.pilot import PilotError
from kiosk_app.ui.reach import ancestors, window_rect
from kiosk_app.ui.theme import get_theme
from tests.ui.layout_check import check_layout
from tests.ui.reach_check import hidden_but_reached
from tests.ui.test_documents_ui import file_for_citizen_0, to_menu

pytestmark = pytest.mark.ui

GRID = (18, 12)  # columns, rows of taps over the panel
MARGIN = 6.0  # px kept clear of the panel's own buttons


def _spoken(pilot: Any) -> list[str]:
    pilot.app.a11y.audio.wait_idle(20)
    return pilot.app.a11y.audio.spoken_words()  # type: ignore[no-any-return]


def open_panel(pilot: Any, key: str) -> Any:
    """Citizen 0 with one application on the kiosk's server: card, menu, status, "Permohonan
    saya" with its timeline loaded; the panel."""
    file_for_citizen_0(pilot, key)
    to_menu(pilot)
    pilot.tap("service_status")
    pilot.wait_for_state("status")
    pilot.tap("status_mine")
    pilot.wait_until(lambda: pilot.exists("own_copy_0"), what="the own timeline")
    pilot.idle(3)
    return pilot.app.root.get_screen("status").ids.own


def _open_points(panel: Any) -> Iterator[tuple[float, float]]:
    """A grid of window points over the panel, away from each of its buttons."""
    from kivy.uix.behaviors import ButtonBehavior

    buttons = [window_rect(w) for w in panel.walk(restrict=True) if isinstance(w, ButtonBehavior)]
    left, bottom, right, top = window_rect(panel)
    columns, rows = GRID
    for row in range(rows):
        for column in range(columns):
            x = left + (column + 0.5) * (right - left) / columns
            y = bottom + (row + 0.5) * (top - bottom) / rows
            if not any(
                r[0] - MARGIN <= x <= r[2] + MARGIN and r[1] - MARGIN <= y <= r[3] + MARGIN
                for r in buttons
            ):
                yield x, y


def _status(pilot: Any) -> tuple[Any, ...]:
    """What a tap on the status screen would change: the typed number, a check, the panel,
    the text size, the session's screen."""
    screen = pilot.app.root.get_screen("status")
    check = pilot.app.session.view.status_check
    return (
        check.entry,
        check.loading,
        check.result,
        check.message,
        screen.entry,
        screen.own_shown,
        get_theme().large_text,
        pilot.state,
    )


def test_taps_on_the_open_panel_never_reach_the_status_screen(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    pilot = start_kiosk()
    panel = open_panel(pilot, "ui-overlay-taps-0001")
    pilot.screenshot(artifacts / "status-own-panel.png")
    before, said = _status(pilot), len(_spoken(pilot))
    points = list(_open_points(panel))
    assert len(points) > GRID[0] * GRID[1] // 2  # most of the panel is not a button
    for x, y in points:  # title bar, notice, timeline, the gap beside "Kembali"
        touch = pilot.new_touch(x, y)
        touch.touch_down()
        touch.touch_up()
        pilot.idle()
    pilot.idle(3)
    assert _status(pilot) == before
    assert len(_spoken(pilot)) == said  # no "Ulangi" underneath either

    # The same observation sees a tap that does reach the keypad: the panel closed, one key.
    pilot.tap("own_close")
    pilot.wait_until(lambda: panel.disabled, what="the panel put away")
    pilot._tap_attr("key", "5", pilot.find("status_keypad"))
    pilot.wait_until(lambda: _status(pilot)[0] != before[0], what="the digit typed")


def test_repeat_and_large_text_from_the_panel(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    from kivy.core.window import Window
    from kivy.metrics import mm

    from kiosk_app.ui.theme import TOUCH_MM

    pilot = start_kiosk()
    panel = open_panel(pilot, "ui-overlay-a11y-0001")
    theme = get_theme()
    prompt = _spoken(pilot)[-1]
    assert prompt.startswith("Cek status permohonan")
    for name in ("a11y_repeat", "a11y_large_text"):  # the panel's own, not the covered ones
        assert panel in set(ancestors(pilot.find(name))), name
    minimum = mm(TOUCH_MM) - 0.5

    def fits(mode: str) -> None:
        layout = check_layout(panel, Window.size)
        assert not layout.clipped and not layout.off_window and not layout.covered, (mode, layout)
        for name in ("a11y_repeat", "a11y_large_text", "own_close", "own_up", "own_down"):
            button = pilot.find(name)
            assert button.width >= minimum and button.height >= minimum, (mode, name, button.size)

    fits("normal")
    pilot.tap("a11y_large_text")
    pilot.wait_until(lambda: _spoken(pilot)[-1] == "Teks besar dan warna kontras aktif.")
    assert theme.large_text
    pilot.idle(5)  # the panel's layout follows the theme
    pilot.screenshot(artifacts / "status-own-panel-large.png")
    fits("large")
    pilot.tap("a11y_repeat")
    pilot.wait_until(lambda: _spoken(pilot)[-1] == prompt, what="the prompt said again")
    assert pilot.app.root.get_screen("status").own_shown  # still on the panel
    pilot.tap("a11y_large_text")
    pilot.wait_until(lambda: not theme.large_text, what="normal text again")
    pilot.idle(5)
    fits("normal again")
    pilot.tap("own_close")
    pilot.tap("status_back")
    pilot.wait_for_state("menu")


def test_the_guard_finds_what_an_overlay_lets_through(start_kiosk: Callable[..., Any]) -> None:
    from kivy.uix.boxlayout import BoxLayout

    pilot = start_kiosk()
    assert hidden_but_reached() == []  # the attract screen
    panel = open_panel(pilot, "ui-overlay-guard-0001")
    assert hidden_but_reached() == []  # the keypad under the panel: out of reach
    # The panel as it was: a plain layout that takes no touch its children leave.
    for event in ("on_touch_down", "on_touch_move", "on_touch_up"):
        setattr(panel, event, lambda touch, event=event: getattr(BoxLayout, event)(panel, touch))
    try:
        found = hidden_but_reached()
    finally:
        for event in ("on_touch_down", "on_touch_move", "on_touch_up"):
            delattr(panel, event)
    assert any("status_check" in f for f in found), found
    assert any("status_mine" in f for f in found), found
    assert hidden_but_reached() == []
    # A button made invisible but left enabled is found too.
    pilot.tap("own_close")
    back = pilot.find("status_back")
    back.opacity = 0
    try:
        found = hidden_but_reached()
        with pytest.raises(PilotError, match="hidden"):
            pilot.tap("status_back")
    finally:
        back.opacity = 1
    assert any(f.startswith("'status_back' (opacity 0)") for f in found), found


def _tap_around(dialog: Any, pilot: Any) -> int:
    """Tap a grid over the whole window, away from the dialog's own buttons; how many taps."""
    from kivy.core.window import Window
    from kivy.uix.behaviors import ButtonBehavior

    buttons = [window_rect(w) for w in dialog.walk(restrict=True) if isinstance(w, ButtonBehavior)]
    taps = 0
    for row in range(10):
        for column in range(16):
            x, y = (column + 0.5) * Window.width / 16, (row + 0.5) * Window.height / 10
            if any(
                r[0] - MARGIN <= x <= r[2] + MARGIN and r[1] - MARGIN <= y <= r[3] + MARGIN
                for r in buttons
            ):
                continue
            touch = pilot.new_touch(x, y)
            touch.touch_down()
            touch.touch_up()
            pilot.idle()
            taps += 1
    return taps


def test_taps_around_a_confirmation_or_the_still_there_warning_reach_nothing_under_them(
    start_kiosk: Callable[..., Any],
) -> None:
    """The menu's "end the visit?" question and the "are you still there?" warning (Kivy
    modal views) take every touch on the window while they show: taps on the question's text,
    its frame and all around it press no tile, no "Ulangi" and no "Huruf besar" underneath,
    and it stays until answered; the warning goes with any touch (activity), which presses
    nothing under it either."""
    from kiosk_app.domain.session import Timeouts
    from kiosk_app.ui.reach import window_centre

    pilot = start_kiosk(timeouts=Timeouts(inactivity_s=1.5, warning_s=600, goodbye_s=3.0))
    to_menu(pilot)
    said = len(_spoken(pilot))
    pilot.tap("finish")
    dialog = pilot.find("confirm")
    assert hidden_but_reached() == []
    assert _tap_around(dialog, pilot) > 100
    pilot.idle(3)
    assert pilot.state == "menu" and pilot.exists("confirm") and dialog.parent is not None
    assert not get_theme().large_text
    assert len(_spoken(pilot)) == said + 1  # the question only, no "Ulangi" underneath
    pilot.tap("confirm_no")
    pilot.wait_until(lambda: pilot.app.warning is not None, what="the still-there warning")
    warning = pilot.app.warning
    assert hidden_but_reached() == []
    # A touch anywhere is the citizen's activity: the warning goes, and that touch presses
    # nothing it covered ("Huruf besar" here, outside the warning's frame).
    large = pilot.find("a11y_large_text")
    x, y = window_centre(large)
    left, bottom, right, top = window_rect(warning.children[0])
    assert not (left <= x <= right and bottom <= y <= top)
    touch = pilot.new_touch(x, y)
    touch.touch_down()
    pilot.idle()
    touch.touch_up()
    pilot.wait_until(lambda: warning.parent is None, what="the warning closed by the touch")
    pilot.idle(3)
    assert pilot.state == "menu" and not get_theme().large_text and not pilot.exists("confirm")
