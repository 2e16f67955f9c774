"""Cold start of the kiosk to its attract screen, against a bare Kivy app in the same run.

Each sample is a fresh process (offscreen SDL): the clock runs from spawning the process to the
first frame flipped with the attract screen (kiosk, started as `anjungan kiosk` starts it) or with
a single label (bare Kivy). The kiosk builds its services after that frame: "kiosk_ready_s" runs
to the first session view on screen. Last line: one JSON object {"kiosk_start_s",
"bare_kivy_start_s", "ratio", "kiosk_ready_s", ...} with medians.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("STARTUP_RUNS", "7"))
MARK = "FIRST-FRAME "
READY = "SESSION-VIEW "


def _probe(kind: str) -> None:
    """Run inside the child: start the app, print the time of the first useful frame, quit."""
    sys.path[0] = str(ROOT)  # the project, not benchmarks/ (its queue.py hides the stdlib's)
    from kiosk_app.ui.kivy_env import prepare_kivy

    prepare_kivy(headless=True, kivy_home=Path(tempfile.mkdtemp(prefix="bench-kivy-")))
    from kivy.app import App
    from kivy.core.window import Window

    def ready() -> bool:
        if kind == "bare":
            return True
        app = App.get_running_app()
        manager = getattr(app, "manager", None) or app.root
        return getattr(manager, "current", "") == "attract"

    def on_flip(*_: object) -> None:
        if ready():
            Window.unbind(on_flip=on_flip)
            print(MARK + repr(time.time()), flush=True)
            if kind == "bare":
                App.get_running_app().stop()
            else:
                Clock.schedule_interval(session_shown, 0)

    def session_shown(_dt: float) -> bool:
        app = App.get_running_app()
        if app.kiosk is None or app.view is None:
            return True
        print(READY + repr(time.time()), flush=True)
        app.stop()
        return False

    from kivy.clock import Clock

    Window.bind(on_flip=on_flip)
    if kind == "bare":
        from kivy.uix.label import Label

        class Bare(App):
            def build(self) -> Label:
                return Label(text="Anjungan", font_size=64)

        Bare().run()
        return
    from kiosk_app.__main__ import run_kiosk  # what `anjungan kiosk` runs
    from kiosk_app.config import load_config

    data = Path(tempfile.mkdtemp(prefix="bench-kiosk-"))
    run_kiosk(load_config(None, data_dir=data, output_dir=data / "out", headless=True))


def _sample(kind: str) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.time()
    out = subprocess.run(
        [sys.executable, __file__, "--probe", kind],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    marks = {}
    for line in out.stdout.splitlines():
        for mark in (MARK, READY):
            if line.startswith(mark):
                marks[mark] = float(line[len(mark) :]) - started
    if MARK in marks:
        return marks[MARK], marks.get(READY, marks[MARK])
    raise RuntimeError(f"{kind} probe printed no first frame:\n{out.stdout}\n{out.stderr[-2000:]}")


def main() -> None:
    """Alternate kiosk and bare samples so both see the same machine state."""
    _sample("bare"), _sample("kiosk")  # warm the OS file cache once; not counted
    kiosk, bare, ready = [], [], []
    for _ in range(RUNS):
        bare.append(_sample("bare")[0])
        first, shown = _sample("kiosk")
        kiosk.append(first)
        ready.append(shown)
    k, b = statistics.median(kiosk), statistics.median(bare)
    print(
        json.dumps(
            {
                "kiosk_start_s": round(k, 3),
                "bare_kivy_start_s": round(b, 3),
                "ratio": round(k / b, 2),
                "kiosk_ready_s": round(statistics.median(ready), 3),
                "runs": RUNS,
                "kiosk_samples_s": [round(x, 3) for x in kiosk],
                "bare_samples_s": [round(x, 3) for x in bare],
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--probe":
        _probe(sys.argv[2])
    else:
        main()
