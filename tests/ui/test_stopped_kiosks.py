"""A stopped kiosk leaves nothing behind: no app, no thread.

The UI tests start dozens of kiosks in one process. Each one stopped early (its remaining
screens still being built one per frame) or whose visit had ended through a confirmation (the
dialog's answer held the session, the session its listeners, the listeners the app) stayed
alive with all its screens. Every full garbage collection then walked all of them; late in a
long run one took long enough to hold a frame past the pilot's guard (the identity screen
"more than 10 s after the card read")."""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path
from typing import Any

import pytest

from kiosk_app.domain.session import SessionState
from tests.ui.conftest import launch, shut

pytestmark = pytest.mark.ui


def _end_visit_by_confirmation(pilot: Any) -> None:
    """Card tap to the menu, then "finish" answered yes in the confirmation."""
    pilot.tap("sim_tap")
    pilot.wait_for_state(SessionState.IDENTITY)
    pilot.tap("next")
    pilot.wait_for_state(SessionState.MENU)
    with pilot.hold_clock():  # the goodbye stays while it is reached
        pilot.tap("finish")
        pilot.tap("confirm_yes")
        pilot.wait_for_state(SessionState.GOODBYE)


def test_kiosks_started_and_stopped_leave_no_app_or_thread_behind(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from kivy.base import EventLoop

    apps: list[weakref.ref[Any]] = []
    before: set[threading.Thread] = set()
    added: list[list[str]] = []
    for run in range(3):
        # The first stops at once, its screens still being built one per frame.
        pilot = launch(tmp_path / f"kiosk-{run}", prepared=run > 0)
        if run:  # all screens built: the app keeps them out of the collector's full passes
            assert gc.get_freeze_count() > 100_000
            _end_visit_by_confirmation(pilot)
        apps.append(weakref.ref(pilot.app))
        shut(pilot.app, pilot.kiosk)
        assert gc.get_freeze_count() == 0  # a stopped app lets all of it be collected
        del pilot
        # The first kiosk may start Kivy's own threads; a stopped kiosk's stop joined its own.
        now = {t for t in threading.enumerate() if t.is_alive()}
        if run:
            added.append(sorted(t.name for t in now - before))
        before = now
    assert added == [[], []], f"threads left by stopped kiosks: {added}"

    for _ in range(3):  # Kivy lets go of removed widgets over the next frames
        EventLoop.idle()
    caplog.clear()  # a logged exception's record holds its frames (an HTTP timeout under load)
    gc.collect()
    assert [r() is None for r in apps] == [True] * 3, "a stopped app is still alive"
