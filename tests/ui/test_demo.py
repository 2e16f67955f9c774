"""The headless demo, run as the `anjungan demo` command in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"^AKTA-\d{2}\.\d{2}\.\d{6}\.\d{4}$")
# The demo citizen's touches (keys included) for the pre-application, measured with the same
# counter (Pilot.touch): 354 on 279cbc9 (before session 14's usability work), 341 on a786b81
# (before the year-first dates and 'Sama dengan ...'), 247 on 0475e56 (before the occupation
# list, the hour/minute grids, moving on after a complete answer and the offers beside the text
# box: area code, office's town, a parent's last name), 181 on 0ca9eee (before the mobile
# number's 08 offer and the e-mail keyboard's ".co.id"/".id" keys), 178 after (the child born a
# week ago: outside a month's first week its date takes two touches fewer, 176). It fails every
# old flow.
TAPS_CEILING = 180


def run_demo(out: Path, *options: str) -> dict[str, Any]:
    """`anjungan demo --out OUT [options]` in a subprocess; its journey.json (exit code 0)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "kiosk_app", "demo", *options, "--out", str(out)],
        cwd=out.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    journey: dict[str, Any] = json.loads((out / "journey.json").read_text(encoding="utf-8"))
    assert done.returncode == 0, (journey.get("error"), done.stderr[-3000:])
    return journey


def test_demo_drives_the_whole_journey(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    journey = run_demo(out)
    assert journey["ok"] is True
    assert NUMBER.match(journey["registration_number"])

    shots = sorted(p.name for p in (out / "screens").glob("*.png"))
    assert len(shots) == len(journey["screens"])
    assert [re.sub(r"^\d{2}-|\.png$", "", s) for s in shots] == journey["screens"]
    assert [s[:2] for s in shots] == [f"{i:02d}" for i in range(1, len(shots) + 1)]
    for screen in (
        "attract",
        "identity",
        "menu",
        "form-keluarga",
        "form-saksi",
        "schedule",
        "review",
        "result",
        "goodbye",
    ):
        assert screen in journey["screens"]
    assert all((out / "screens" / s).stat().st_size > 5000 for s in shots)

    assert (out / "ticket.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "receipt.pdf").read_bytes()[:5] == b"%PDF-"
    assert {"attract", "schedule", "submit", "total"} <= set(journey["timings"])

    taps = journey["taps"]
    assert 0 < taps["pre_application"] <= TAPS_CEILING, taps
    assert taps["total"] == taps["pre_application"] == sum(taps["steps"].values())
    assert taps["steps"]["form-keluarga"] > 0 and taps["steps"]["attract"] == 1


def test_demo_arrival_checks_in_prints_the_calling_ticket_and_shows_the_display(
    tmp_path: Path,
) -> None:
    out = tmp_path / "arrival"
    journey = run_demo(out, "--journey", "arrival")
    assert journey["ok"] is True and journey["journey"] == "arrival"
    arrival = journey["arrival"]
    assert arrival["calling_number"] == "A-001"  # the first to check in is the first called
    assert arrival["waiting_after"] == ["A-002", "A-003"]  # on the display's "Berikutnya"
    assert arrival["spoken"].startswith("Nomor antrean Anda A satu")  # its words, not digits
    for screen in ("result", "verification-day", "checkin", "calling-number"):
        assert screen in journey["screens"]
    for picture in ("queue_ticket.png", "display.png", "ticket.png"):
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture
    from PIL import Image

    assert Image.open(out / "display.png").size == (1920, 1080)
    assert {"approve", "checkin", "others", "call", "display"} <= set(journey["timings"])
    taps = journey["taps"]
    assert taps["arrival"] == 2  # the check-in button, then back: the QR does the rest
    assert taps["total"] == taps["pre_application"] + 2 <= TAPS_CEILING + 2
