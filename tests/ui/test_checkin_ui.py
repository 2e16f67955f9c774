"""The verification day by touch on the real app (offscreen window): the attract screen's
"Saya datang untuk verifikasi hari ini", the keypad, a QR read and a card tap, against the
kiosk's own development central server (its clock moved to the booked day), the calling ticket
printed (ESC/POS bytes through the emulator) and said aloud."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from central_server.auth import create_user
from central_server.db import Database
from central_server.sidecar import DEV_CLOCK_ENV
from drivers.card_reader.citizens import citizen
from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, hash_pin
from kiosk_app.services.session import checkin_words as ck
from tests.central.officer.conftest import Staff
from tests.ui.conftest import file_birth_application, type_number
from tests.ui.test_status_ui import wait_for_central

pytestmark = pytest.mark.ui

PASSWORD = "rahasia-petugas-123"
PIN = "482913"
MORNING = "08.00-11.00"


def add_officer(data_dir: Path) -> None:
    """An officer of office 3517 in the kiosk's development server's database."""
    db = Database(f"sqlite:///{(data_dir / 'central.db').resolve()}")
    try:
        create_user(db, "petugas", PASSWORD, "officer", office_code="3517")
    finally:
        db.engine.dispose()


def book_and_approve(pilot: Any, key: str) -> tuple[str, str]:
    """An akta kelahiran for citizen 0 in the first morning slot, approved by an officer of
    the kiosk's development server; (registration number, the slot's ISO date)."""
    central = wait_for_central(pilot)
    holder = citizen(0)
    slot = next(s.slot for s in central.slots("akta_kelahiran") if s.slot.window == MORNING)
    number = file_birth_application(central, holder, slot, key)
    officer = Staff(central.base_url, "petugas")
    r = officer.act(number, "approve", slot=f"{slot.date}|{MORNING}")
    assert r.status_code == 303, r.text
    return number, slot.date.isoformat()


def test_check_in_by_keypad_qr_and_card_tap(
    start_kiosk: Callable[..., Any],
    artifacts: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock_file = tmp_path / "central-clock"
    monkeypatch.setenv(DEV_CLOCK_ENV, str(clock_file))  # the sidecar server inherits it
    attendants = AttendantSettings(staff=[Attendant("PTG-07", hash_pin(PIN), ())])
    pilot = start_kiosk(audio_guidance="off", attendant=attendants)
    wait_for_central(pilot)
    add_officer(tmp_path / "data")
    number, day = book_and_approve(pilot, "ui-checkin-1")
    later, _ = book_and_approve(pilot, "ui-checkin-2")  # never checked in
    clock_file.write_text(f"{day}T08:20", encoding="utf-8")  # the verification morning

    pilot.tap("checkin_open")
    pilot.wait_for_state("checkin")
    entry = pilot.find("checkin_entry")
    assert entry.text == "AKTA-35.17.______.____"
    type_number(
        pilot, number, prefix="checkin_prefix_", keypad="checkin_keypad", entry="checkin_entry"
    )
    pilot.tap("checkin_go")
    big = pilot.find("checkin_number")
    pilot.wait_until(lambda: big.text == "A-001", what="the calling number")
    pilot.wait_until(lambda: "Ambil tiket" in pilot.find("checkin_printed").text, what="printed")
    assert "Pencatatan Sipil" in pilot.find("checkin_service").text
    assert pilot.find("checkin_ahead").text == "Tidak ada antrean di depan Anda"
    pilot.screenshot(artifacts / "checkin-number.png")

    printer = pilot.kiosk.devices.ticket_printer
    assert [t.calling_number for t in printer.calling_tickets] == ["A-001"]
    from drivers.ticket_printer.emulator.machine import EscposMachine

    machine = EscposMachine()  # the bytes the printer got, as the paper shows them
    machine.feed(printer.printed_bytes[-1])
    paper = machine.tickets[0].text
    assert "A-001" in paper and "NOMOR PANGGILAN VERIFIKASI" in paper

    audio = pilot.kiosk.audio
    pilot.wait_until(
        lambda: any("Nomor antrean Anda A satu" in w for w in audio.spoken_words()),
        what="the number said aloud",
    )

    # The attendant gives the citizen on screen the priority lane (lansia) from the panel.
    pilot.tap("attendant_button")
    pilot.wait_until(lambda: pilot.exists("attendant_pinpad"), what="PIN pad")
    keys = pilot.find("pin_keys")
    for key in [*PIN, "done"]:
        pilot._tap_attr("key", key, keys, settle=0)
    pilot.wait_until(lambda: pilot.exists("attendant_panel"), what="attendant panel")
    pilot.tap("act_priority")
    pilot.wait_until(lambda: pilot.exists("priority_lansia"), what="the priority lanes")
    pilot.tap("priority_lansia")
    pilot.wait_until(
        lambda: "Jalur prioritas diberikan" in pilot.find("panel_message").text,
        timeout=15,
        what="the lane given",
    )
    pilot.screenshot(artifacts / "checkin-priority-panel.png")

    # The citizen lost the printed ticket: the attendant reprints it, once, from the list.
    [job] = [j for j in pilot.kiosk.journal.log() if j.kind == "calling"]
    pilot.tap("act_reprints")
    pilot.wait_until(lambda: pilot.exists(f"reprint_{job.id}"), what="the calling ticket's row")
    assert not pilot.exists(f"dismiss_{job.id}")  # it printed: nothing to give up on
    pilot.screenshot(artifacts / "checkin-reprint-panel.png")
    pilot.tap(f"reprint_{job.id}")
    pilot.wait_until(
        lambda: "dicetak ulang" in pilot.find("panel_message").text, what="the reprint"
    )
    assert [(t.calling_number, t.reprint) for t in printer.calling_tickets] == [
        ("A-001", False),
        ("A-001", True),
    ]
    machine.feed(printer.printed_bytes[-1])
    paper = machine.tickets[-1].text
    assert "A-001" in paper and "CETAK ULANG" in paper and number not in paper
    assert not pilot.exists(f"reprint_{job.id}")  # once only
    assert pilot.kiosk.attendant.status()["reprints"] == "1"
    pilot.tap("panel_close")
    pilot.wait_until(
        lambda: "jalur prioritas lansia" in pilot.find("checkin_ahead").text, what="lane shown"
    )

    pilot.tap("checkin_back")  # "Selesai"
    pilot.wait_for_state("attract")

    # A QR read on the check-in screen: the same number again, said as a repeat.
    pilot.tap("checkin_open")
    pilot.wait_for_state("checkin")
    assert pilot.find("checkin_number").text == ""  # nothing of the last citizen stays
    assert pilot.kiosk.devices.barcode_scanner.scan("]Q1" + number)
    pilot.wait_until(lambda: big.text == "A-001", what="the number again")
    pilot.wait_until(
        lambda: any(ck.ANNOUNCEMENT_REPEAT.id in w for w in audio.spoken_words()),
        what="said as a repeat",
    )
    pilot.tap("checkin_back")
    pilot.wait_for_state("attract")

    # A card tap on the check-in screen: the holder's booking, no visit opened.
    pilot.tap("checkin_open")
    pilot.wait_for_state("checkin")
    pilot.app.session.simulate_card_tap(0)
    pilot.wait_until(lambda: big.text == "A-001", what="the card's booking")
    assert pilot.state == "checkin"
    pilot.app.session.simulate_card_removal()

    # Another day: the polite words, with what to do.
    clock_file.write_text("2030-01-02T09:00", encoding="utf-8")
    pilot.tap("checkin_back")
    pilot.wait_for_state("attract")
    pilot.tap("checkin_open")
    pilot.wait_for_state("checkin")
    pilot.kiosk.devices.barcode_scanner.scan(later)
    pilot.wait_until(
        lambda: pilot.find("message").text.startswith("Jadwal verifikasi Anda bukan hari ini"),
        timeout=15,
        what="the other-day message",
    )
    assert "tidak hilang" in pilot.find("message").text
    pilot.screenshot(artifacts / "checkin-other-day.png")
