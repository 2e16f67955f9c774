"""The attendant's held submissions by touches: a row the embedded server refused and one with
no place in the horizon, listed in the panel, sent again and marked handled."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from central_server.quota import MAX_DAILY_QUOTA
from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, hash_pin
from kiosk_app.services.outbox.records import HANDLED, NEEDS_SLOT, REJECTED, SENT
from tests.services.outbox_rig import CANARY_NAME, SERVICE, canary_nik, submission
from tests.ui.test_attendant_ui import PIN, enter_pin, text_of


@pytest.fixture
def start(start_kiosk: Callable[..., Any]) -> Callable[[], Any]:
    settings = AttendantSettings(staff=[Attendant("PTG-07", hash_pin(PIN), ())])
    return lambda: start_kiosk(card_read_delay_s=0.05, attendant=settings)


def set_quota(pilot: Any, daily: int) -> None:
    """The office's quota in the embedded server's database (as an officer would set it)."""
    db = pilot.kiosk.config.data_dir / "central.db"
    with sqlite3.connect(db, timeout=10) as conn:
        conn.execute(
            "INSERT OR REPLACE INTO quotas (office_code, service, daily_quota) VALUES (?, ?, ?)",
            (pilot.kiosk.config.office_code, SERVICE, daily),
        )


def test_held_submissions_listed_retried_and_handled(
    start: Callable[[], Any], artifacts: Path
) -> None:
    pilot = start()
    sender = pilot.kiosk.outbox
    box = sender.outbox
    readers: list[str] = []  # which threads read the held list
    held = box.held
    box.held = lambda: (readers.append(threading.current_thread().name), held())[1]

    slot = next(a.slot for a in pilot.kiosk.central.slots(SERVICE, days=14) if a.remaining)
    set_quota(pilot, 0)  # no place anywhere in the horizon
    fine = submission(slot)
    refused = box.enqueue(replace(fine, data={**fine.data, "child_name": "X" * 2001})).id
    no_place = box.enqueue(submission(slot, 1)).id
    sender.wake()
    pilot.wait_until(
        lambda: (box.get(refused).status, box.get(no_place).status) == (REJECTED, NEEDS_SLOT),
        timeout=30,
        what="the server's answers",
    )
    assert pilot.kiosk.health.held_submissions() == 2  # type: ignore[union-attr]  # heartbeat

    pilot.tap("attendant_button")
    pilot.wait_until(lambda: pilot.exists("attendant_pinpad"), what="PIN pad")
    enter_pin(pilot, PIN)
    pilot.wait_until(lambda: pilot.exists("attendant_panel"), what="attendant panel")
    assert text_of(pilot, "act_held") == "Kiriman tertahan (2)"
    assert "2 kiriman tertahan" in text_of(pilot, "held_waiting")  # seen on opening the panel
    pilot.tap("act_held")
    pilot.wait_until(lambda: pilot.exists(f"held_{refused}"), what="held rows")
    head = text_of(pilot, f"held_{refused}")
    assert box.get(refused).local_reference in head and "Akta Kelahiran" in head
    assert f"NIK {canary_nik()[:4]}" in head and canary_nik() not in head
    assert "Ditolak server pusat" in text_of(pilot, f"held_reason_{refused}")
    assert "2000 characters" in text_of(pilot, f"held_reason_{refused}")
    assert "Tidak ada jadwal kosong" in text_of(pilot, f"held_reason_{no_place}")
    assert not pilot.exists(f"held_retry_{refused}")  # a refused row is not sent again as is
    panel_text = " ".join(
        str(getattr(w, "text", "")) for w in pilot.app.attendant_overlay.panel.walk()
    )
    assert CANARY_NAME not in panel_text and canary_nik() not in panel_text
    pilot.screenshot(artifacts / "attendant-held.png")

    pilot.tap(f"held_retry_{no_place}")  # the quota is still 0
    pilot.wait_until(lambda: "masih belum" in text_of(pilot, "panel_message"), what="no place")
    assert box.get(no_place).status == NEEDS_SLOT and pilot.exists(f"held_retry_{no_place}")
    set_quota(pilot, MAX_DAILY_QUOTA)  # an officer raised the quota
    pilot.tap(f"held_retry_{no_place}")
    pilot.wait_until(lambda: "terkirim" in text_of(pilot, "panel_message"), what="sent")
    sent = box.get(no_place)
    assert sent.status == SENT and sent.registration_number in text_of(pilot, "panel_message")
    pilot.wait_until(lambda: not pilot.exists(f"held_{no_place}"), what="row to leave")
    assert text_of(pilot, "act_held") == "Kiriman tertahan (1)"

    pilot.tap(f"held_handled_{refused}")
    pilot.wait_until(lambda: "sudah ditangani" in text_of(pilot, "panel_message"), what="handled")
    pilot.wait_until(lambda: not pilot.exists(f"held_{refused}"), what="row to leave")
    assert text_of(pilot, "act_held") == "Kiriman tertahan"
    assert box.get(refused).status == HANDLED
    assert box.handled_by(refused)[0] == "PTG-07"  # type: ignore[index]
    assert box.submission(refused).applicant_nik == canary_nik()  # kept, not deleted
    assert box.held_count() == 0
    assert readers and "MainThread" not in readers  # never read on the Kivy thread
