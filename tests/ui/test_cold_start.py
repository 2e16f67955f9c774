"""A cold start shows the attract screen before it builds the services, then works as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parents[2]

# Modules the attract screen does not need: imported only once its first frame is up.
AFTER_FIRST_FRAME = (
    "kiosk_app.bootstrap",
    "kiosk_app.services.session",
    "kiosk_app.central",
    "central_server.sidecar",
    "drivers.card_reader.simulator",
    "reportlab",
    "kiosk_app.domain.forms",
    "qrcode",
    "requests",
    "cryptography",
    "sqlite3",
)

PROBE = """
import json, sys, tempfile
from pathlib import Path
from kiosk_app.ui.kivy_env import prepare_kivy
prepare_kivy(headless=True, kivy_home=Path(tempfile.mkdtemp()))
from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kiosk_app.__main__ import run_kiosk
from kiosk_app.config import load_config

seen = {}

def first_frame(*_):
    Window.unbind(on_flip=first_frame)
    app = App.get_running_app()
    seen["screen_at_first_frame"] = app.root.current
    seen["built_at_first_frame"] = app.kiosk is not None
    seen["imported_at_first_frame"] = sorted(m for m in AFTER if m in sys.modules)
    app.root.get_screen("attract").call("simulate_card_tap", 0)  # too early: ignored

def follow(_dt):
    app = App.get_running_app()
    if app.view is None:
        return
    seen.setdefault("first_view", app.view.state.value)  # the early tap read no card
    if "tapped" not in seen:
        seen["tapped"] = True
        seen["simulator_button"] = app.root.get_screen("attract").simulated
        app.root.get_screen("attract").call("simulate_card_tap", 0)  # what the button does
    elif app.view.state.value != "attract":
        seen["after_tap"] = app.view.state.value
        seen["imported_in_the_end"] = sorted(m for m in AFTER if m in sys.modules)
        app.stop()

Window.bind(on_flip=first_frame)
Clock.schedule_interval(follow, 0.05)
data = Path(tempfile.mkdtemp())
run_kiosk(load_config(None, data_dir=data, output_dir=data / "out", headless=True))
print("RESULT " + json.dumps(seen))
"""


def test_the_attract_screen_shows_before_the_services_are_built() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", f"AFTER = {AFTER_FIRST_FRAME!r}\n" + PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout + done.stderr[-3000:]
    seen = json.loads(lines[-1][len("RESULT ") :])
    assert seen["screen_at_first_frame"] == "attract"
    assert seen["built_at_first_frame"] is False
    assert seen["imported_at_first_frame"] == []
    # Then the kiosk is built behind the screen and behaves as before.
    assert seen["first_view"] == "attract" and seen["simulator_button"] is True
    assert seen["after_tap"] == "reading_card"
    assert "kiosk_app.services.session" in seen["imported_in_the_end"]  # the probe sees imports
