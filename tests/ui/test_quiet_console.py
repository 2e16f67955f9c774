"""A working kiosk keeps a quiet console: no tracebacks, no CRITICAL, no HTTP errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 120  # far above a start on a busy machine; only a hang reaches it
# The region cache asks the server for its edition 8 s after the start: its answer is the last
# thing a fresh development kiosk says on its own.
REGIONS_DONE = ("regions: edition", "regions: the central server has no edition yet")
NOISE = ("Traceback", "CRITICAL", " ERROR ", "HTTP 4", "HTTP 5", "no_regions", "WARNING kivy")


def _headless_env(tmp_path: Path) -> dict[str, str]:
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        SDL_VIDEODRIVER="offscreen",
        SDL_AUDIODRIVER="dummy",
        HOME=str(tmp_path),
    )
    env.pop("KIVY_HOME", None)  # the kiosk makes its own, as on a fresh machine
    return env


def test_a_fresh_development_kiosk_starts_without_noise(tmp_path: Path) -> None:
    """`anjungan kiosk --windowed` (README) with no config, headless, in an empty folder."""
    kiosk = subprocess.Popen(
        [sys.executable, "-m", "kiosk_app", "kiosk", "--windowed"],
        cwd=tmp_path,
        env=_headless_env(tmp_path),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    watchdog = threading.Timer(DEADLINE_S, kiosk.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        assert kiosk.stdout is not None
        for line in kiosk.stdout:
            lines.append(line)
            if any(done in line for done in REGIONS_DONE):
                break
        kiosk.send_signal(signal.SIGTERM)
        lines += kiosk.stdout.read().splitlines(keepends=True)  # the sidecar's last words too
    finally:
        watchdog.cancel()
        kiosk.kill()
        kiosk.wait(timeout=30)
    console = "".join(lines)
    assert "regions: edition" in console, f"the embedded server had no region edition:\n{console}"
    noisy = [line for line in lines if any(word in line for word in NOISE)]
    assert not noisy, "the console of a working kiosk says:\n" + console


def test_a_text_box_leaves_the_desktop_clipboard_alone(tmp_path: Path) -> None:
    """The form's text box is the first TextInput: on Linux it made Kivy probe xclip and xsel."""
    script = (
        "import logging\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "from kiosk_app.ui.kivy_env import prepare_kivy\n"
        "prepare_kivy(headless=True)\n"
        "from kivy.uix.textinput import TextInput\n"
        "TextInput(text='3517080101100007')\n"
        "from kivy.core.clipboard import Clipboard, CutBuffer\n"
        "print('clipboard', type(Clipboard).__name__, 'cutbuffer', CutBuffer)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=_headless_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
    )
    console = done.stdout + done.stderr
    assert done.returncode == 0, console
    assert "clipboard ClipboardDummy cutbuffer None" in done.stdout  # nothing leaves the process
    assert "Traceback" not in console and "CRITICAL" not in console, console
