"""Touch to frame: from a touch on an on-screen key to the drawn frame that shows the letter.

The real app runs headless (SDL offscreen, Mesa llvmpipe) on simulated devices with its embedded
central server. Touches go through the real Window (UnitTestTouch, as the pilot taps) on the form's
keyboard; a touch counts as done when the text box shows the letter and the frame drawn after it
is finished (glFinish: software GL rasterises lazily). Touches come at a citizen's pace (PAUSE_S).
Meanwhile, in the background, a simulated card reader reads cards with its read latency and the
real ESC/POS serial driver prints tickets to the emulator on a pty (throttled to 38,400 baud), both
without pause.

region_search_ms: p95 of the region picker's search (kiosk_app.services.regions.RegionCache) over
the country-sized village list in ../shared/data/wilayah, for queries typed letter by letter; null
when that module or the data is missing.
Last line: {"touch_to_frame_median_ms", "touch_to_frame_p95_ms", "region_search_ms"}.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(ROOT))

from kiosk_app.ui.kivy_env import prepare_kivy  # noqa: E402

TOUCHES = max(50, int(os.environ.get("UI_TOUCHES", "60")))
CARD_READ_S = float(os.environ.get("UI_CARD_READ_S", "0.8"))
# Between two touches the app keeps running frames for PAUSE_S: about three keys a second, a
# quick typist on a touch screen (first-timers and the elderly type slower). Each key's own
# frames (the letter, then the key's release 35 ms later) are drawn within that pause.
PAUSE_S = float(os.environ.get("UI_PAUSE_S", "0.3"))
REGIONS_DIR = Path(os.environ.get("REGIONS_DIR", str(ROOT.parent / "shared" / "data" / "wilayah")))
QUERIES = ("sengon", "jombang", "kebon jeruk", "sukamaju", "tanjung", "margo", "bandung wetan")


def percentile(samples: list[float], share: float) -> float:
    """The `share` percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


class Background:
    """Card reads and ticket prints running without pause on their own threads."""

    def __init__(self, folder: Path) -> None:
        from drivers.card_reader.simulator import SimulatedCardReader

        # The printer is another device with its own processor: its emulator (which rasterises
        # every ticket to check it) runs in its own process at the lowest CPU priority, so it
        # takes the CPU time the kiosk leaves, as the real printer takes none of the kiosk's.
        link = folder / "ttyTicket"
        self.emulator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "drivers.ticket_printer.emulator",
                "--link",
                str(link),
                "--png-dir",
                str(folder / "tickets"),
                "--baud",
                "38400",
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            preexec_fn=lambda: os.nice(19),
        )
        assert self.emulator.stdout is not None
        ready = self.emulator.stdout.readline()
        if not ready.startswith("ready"):
            raise RuntimeError(f"ticket printer emulator did not start: {ready!r}")
        self.link = link
        self.reader = SimulatedCardReader(read_delay_s=CARD_READ_S)
        self.reads = self.prints = self.print_errors = 0
        self._read_done = threading.Event()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._print_loop, daemon=True),
            threading.Thread(target=self._read_loop, daemon=True),
        ]

    def start(self) -> None:
        """Begin reading and printing."""
        self.reader.start(self._on_card)
        for thread in self._threads:
            thread.start()

    def _on_card(self, event: Any) -> None:
        if type(event).__name__ == "IdentityRead":
            self.reads += 1
            self._read_done.set()

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            self._read_done.clear()
            self.reader.insert_card(self.reads % 2)
            self._read_done.wait(CARD_READ_S * 5 + 5)
            self.reader.remove_card()
            time.sleep(0.05)

    def _print_loop(self) -> None:
        from drivers.ticket_printer.escpos_serial import EscposSerialTicketPrinter
        from drivers.ticket_printer.layout import TicketProfile
        from kiosk_app.domain.text import Text
        from kiosk_app.domain.ticket import Slot, Ticket

        printer = EscposSerialTicketPrinter(str(self.link), 38400, TicketProfile())

        ticket = Ticket(
            registration_number="AKTA-35.17.261122.0007",
            queue_number="A-017",
            service=Text("Akta Kelahiran", "Birth certificate"),
            masked_name="S*** A*****",
            slot=Slot(date(2026, 11, 30), "08.00-11.00"),
            office_name="DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL KABUPATEN JOMBANG",
            qr_payload="AKTA-35.17.261122.0007",
            issued_at="22-11-2026 10:15",
        )
        while not self._stop.is_set():
            try:
                printer.print_ticket(ticket)
                self.prints += 1
            except Exception as exc:  # a loaded machine can miss a status answer: go on
                self.print_errors += 1
                print(f"background print failed: {exc}", file=sys.stderr)
                time.sleep(0.2)
        printer.close()

    def stop(self) -> None:
        """Stop both loops and the devices."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self.reader.stop()
        try:
            self.emulator.communicate("quit\n", timeout=10)
        except subprocess.TimeoutExpired:
            self.emulator.kill()
            self.emulator.communicate()


def touch_to_frame(folder: Path) -> list[float]:
    """Milliseconds from each key touch to the finished frame showing its letter."""
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kivy.graphics.opengl import glFinish

    from kiosk_app.bootstrap import build_kiosk
    from kiosk_app.config import load_config
    from kiosk_app.ui.app import AnjunganApp
    from kiosk_app.ui.pilot import Pilot

    config = load_config(
        None,
        data_dir=folder / "data",
        output_dir=folder / "printed",
        headless=True,
        fullscreen=False,
    )
    config.devices.card_read_delay_s = 0.3
    kiosk = build_kiosk(config)
    app = AnjunganApp(kiosk, animate=False)
    app.start_embedded()
    background = Background(folder)
    samples: list[float] = []
    try:
        pilot = Pilot(app)
        pilot.wait_for_state("attract", 60)
        pilot.tap("sim_tap")
        pilot.wait_for_state("identity", 60)
        pilot.tap("next")
        pilot.wait_for_state("menu", 30)
        pilot.tap("service_akta_kelahiran")
        pilot.wait_for_state("form", 30)
        pilot.select_field("kk_head_name")
        box = pilot.find("editor_input")
        keyboard = pilot.find("keyboard")
        keys = {k.key: k for k in keyboard.keys}
        background.start()
        flips = [0]
        Window.bind(on_flip=lambda *_: flips.__setitem__(0, flips[0] + 1))
        pilot.idle(10)
        for index in range(TOUCHES):
            key = keys["backspace"] if len(box.text) >= 12 else keys["ABCDEFGHIJ"[index % 10]]
            before = box.text
            x, y = key.to_window(*key.center)
            touch = pilot.new_touch(x, y)  # a deliberate tap (kiosk_app/ui/settle.py)
            started = time.perf_counter()
            touch.touch_down()
            touch.touch_up()
            changed = False
            deadline = started + 10
            while True:
                flips_before = flips[0]
                EventLoop.idle()  # input, clock, then the frame (if anything changed)
                changed = changed or box.text != before
                if changed and flips[0] > flips_before:
                    break
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"touch {index} on {key.key!r} showed nothing")
            glFinish()
            samples.append((time.perf_counter() - started) * 1000)
            pause_until = time.perf_counter() + PAUSE_S  # the citizen's pace between two keys
            while time.perf_counter() < pause_until:
                EventLoop.idle()
        glFinish()
    finally:
        background.stop()
        app.stop_embedded()
        kiosk.close()
    print(
        f"background: {background.reads} card reads, {background.prints} tickets printed "
        f"({background.print_errors} failed)",
        file=sys.stderr,
    )
    return samples


def region_search_ms(folder: Path) -> float | None:
    """p95 milliseconds of RegionCache.search over the full village list; None if unavailable."""
    try:
        from kiosk_app.services.regions import CACHE_FILE, RegionCache
    except ImportError:
        return None
    if not (REGIONS_DIR / "villages.csv").is_file():
        return None
    rows: list[list[str]] = []
    for name in ("provinces", "cities", "districts", "villages"):
        with open(REGIONS_DIR / f"{name}.csv", newline="", encoding="utf-8") as handle:
            rows += [[r[0], r[-1]] for r in csv.reader(handle) if r]
    data = folder / "regions"
    data.mkdir()
    payload = {"edition": "bench", "regions": rows}
    (data / CACHE_FILE).write_bytes(gzip.compress(json.dumps(payload).encode()))
    cache = RegionCache(None, data)
    if not cache.load():
        return None
    cache.search("a")  # builds the index once, as the kiosk does at start
    samples = []
    for query in QUERIES:
        for end in range(1, len(query) + 1):  # typed letter by letter
            started = time.perf_counter()
            cache.search(query[:end])
            samples.append((time.perf_counter() - started) * 1000)
    print(
        f"region search over {len(rows)} regions: median {statistics.median(samples):.2f} ms, "
        f"max {max(samples):.2f} ms",
        file=sys.stderr,
    )
    return round(percentile(samples, 0.95), 2)


def main() -> None:
    """Measure and print the figures, JSON last."""
    prepare_kivy(headless=True, kivy_home=Path(tempfile.mkdtemp(prefix="bench-ui-kivy-")))
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        folder = Path(tmp)
        samples = touch_to_frame(folder)
        region = region_search_ms(folder)
    print(
        f"{len(samples)} touches: median {statistics.median(samples):.1f} ms, "
        f"p95 {percentile(samples, 0.95):.1f} ms, max {max(samples):.1f} ms; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        json.dumps(
            {
                "touch_to_frame_median_ms": round(statistics.median(samples), 1),
                "touch_to_frame_p95_ms": round(percentile(samples, 0.95), 1),
                "region_search_ms": region,
            }
        )
    )


if __name__ == "__main__":
    main()
