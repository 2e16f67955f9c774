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
