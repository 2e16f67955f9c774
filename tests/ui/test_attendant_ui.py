"""Attendant mode by touches: the PIN pad (wrong PIN, lockout), the panel, assist, UID card."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, hash_pin
from kiosk_app.services.printing.journal import ticket_payload
from kiosk_app.ui.reach import taker_at, window_rect
from tests.drivers.test_ticket_printer_contract import make_ticket
from tests.ui.reach_check import hidden_but_reached

PIN = "482913"
CARD = "04A1B2C3D4"


@pytest.fixture(scope="module")
def settings() -> AttendantSettings:
    """One attendant; two tries before the (60 s) lockout, to keep the test short."""
    return AttendantSettings(staff=[Attendant("PTG-07", hash_pin(PIN), (CARD,))], max_tries=2)


@pytest.fixture
def start(start_kiosk: Callable[..., Any], settings: AttendantSettings) -> Callable[[], Any]:
    """tests/ui/conftest.py's start_kiosk, with attendants in the config."""
    return lambda: start_kiosk(card_read_delay_s=0.05, attendant=settings)


def press(pilot: Any, keyboard_id: str, keys: list[str]) -> None:
    """Tap keys of an on-screen keyboard one after the other."""
    keyboard = pilot.find(keyboard_id)
    for key in keys:
        pilot._tap_attr("key", key, keyboard, settle=0)
    pilot.idle(2)


def text_of(pilot: Any, pilot_id: str) -> str:
    """The text a widget shows now."""
    return str(pilot.find(pilot_id).text)


def enter_pin(pilot: Any, pin: str) -> None:
    """Type a PIN on the pad and touch Done."""
    press(pilot, "pin_keys", [*pin, "done"])


def test_pin_pad_lockout_panel_assist_devices_and_lock(
    start: Callable[[], Any], artifacts: Path
) -> None:
    pilot = start()
    later = [0.0]  # moves the lockout's clock on, instead of waiting a minute
    pilot.kiosk.attendant._core.checker._clock = lambda: time.monotonic() + later[0]
    assert text_of(pilot, "attendant_button") == "Petugas"
    pilot.tap("attendant_button")
    pilot.wait_until(lambda: pilot.exists("attendant_pinpad"), what="PIN pad")
    enter_pin(pilot, "000000")
    pilot.wait_until(lambda: "PIN salah" in text_of(pilot, "pin_message"), what="wrong PIN")
    assert "Sisa 1 kali" in text_of(pilot, "pin_message")
    assert text_of(pilot, "pin_dots").strip() == ""
    pilot.screenshot(artifacts / "attendant-pin-wrong.png")
    enter_pin(pilot, "222222")
    pilot.wait_until(lambda: "Terlalu banyak" in text_of(pilot, "pin_message"), what="lockout")
    press(pilot, "pin_keys", ["1", "2"])  # ignored while locked
    assert text_of(pilot, "pin_dots").strip() == "" and pilot.find("pin_keys").opacity < 1
    seconds = re.search(r"dalam (\d+) detik", text_of(pilot, "pin_message"))
    assert seconds is not None and 30 < int(seconds.group(1)) <= 60  # a minute, counting down
    later[0] = 61.0
    pilot.wait_until(lambda: pilot.find("pin_keys").opacity == 1, what="lockout to end")
    enter_pin(pilot, PIN)
    pilot.wait_until(lambda: pilot.exists("attendant_panel"), what="attendant panel")
    assert not pilot.exists("attendant_pinpad")
    assert text_of(pilot, "attendant_button") == "Petugas \u00b7 PTG-07"
    pilot.screenshot(artifacts / "attendant-panel.png")

    # (a) assist: nobody yet, then with the citizen's card on the reader.
    pilot.tap("act_assist")
    assert "Belum ada warga" in text_of(pilot, "panel_message")
    pilot.tap("panel_close")
    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")
    pilot.tap("attendant_button")  # unlocked: straight to the panel
    pilot.tap("act_assist")
    pilot.wait_until(lambda: not pilot.exists("attendant_panel"), what="panel to close")
    pilot.wait_until(
        lambda: text_of(pilot, "assisted_badge") == "Dibantu petugas PTG-07", what="assisted badge"
    )
    assert pilot.app.session.view.assisted_by == "PTG-07"
    pilot.tap("next")
    pilot.wait_for_state("menu")
    assert text_of(pilot, "assisted_badge") == "Dibantu petugas PTG-07"  # stays visible
    pilot.screenshot(artifacts / "attendant-assisted-menu.png")
    # The badge (in the title bar) is a notice: a touch anywhere on it presses nothing.
    left, bottom, right, top = window_rect(pilot.find("assisted_badge"))
    reached = {
        getattr(
            taker_at(left + (right - left) * i / 20, bottom + (top - bottom) * j / 4), "text", ""
        )
        for i in range(1, 20)
        for j in range(1, 4)
    }
    assert reached == {""}, reached
    assert hidden_but_reached() == []

    # (c) devices: paper out, then cleared.
    printer = pilot.kiosk.devices.ticket_printer
    printer.set_paper(False)
    pilot.tap("attendant_button")
    pilot.tap("act_devices")
    pilot.wait_until(lambda: pilot.exists("device_ticket_printer"), what="device list")
    assert "Kertas habis" in text_of(pilot, "device_ticket_printer")
    assert "masih bermasalah" in text_of(pilot, "panel_message")
    pilot.screenshot(artifacts / "attendant-devices-paper-out.png")
    printer.set_paper(True)
    pilot.tap("devices_recheck")
    pilot.wait_until(lambda: "Siap" in text_of(pilot, "device_ticket_printer"), what="ready")
    assert text_of(pilot, "panel_message") == "Semua perangkat siap."

    # (e) lock and leave.
    pilot.tap("panel_lock")
    pilot.wait_until(lambda: not pilot.exists("attendant_panel"), what="panel closed")
    pilot.wait_until(lambda: text_of(pilot, "attendant_button") == "Petugas", what="locked")
    assert not pilot.kiosk.attendant.view().unlocked
    assert pilot.app.session.view.assisted_by == "PTG-07"  # the session stays assisted


def test_uid_card_continued_and_reprint_by_touches(
    start: Callable[[], Any], artifacts: Path
) -> None:
    pilot = start()
    session = pilot.app.session
    session.simulate_uid_card("E0040150AABBCCDD")  # a citizen's card without e-KTP data
    pilot.wait_until(lambda: "petugas" in text_of(pilot, "message"), what="ask an attendant")
    session.simulate_uid_card_removal()
    session.simulate_uid_card(CARD)  # the attendant's card opens the panel
    pilot.wait_until(lambda: pilot.exists("attendant_panel"), what="panel by card")
    assert pilot.kiosk.attendant.view().unlocked_by == "card"
    session.simulate_uid_card_removal()
    pilot.tap("act_uid")
    press(pilot, "uid_keys", list("3517014501950001"))
    assert text_of(pilot, "uid_nik") == "3517 0145 0195 0001"
    pilot.tap("uid_name")
    press(pilot, "uid_keys", [*"SITI", "space", *"AMINAH"])
    pilot.screenshot(artifacts / "attendant-uid-card.png")
    pilot.tap("uid_continue")
    pilot.wait_for_state("identity")
    assert session.view.name == "SITI AMINAH" and session.view.assisted_by == "PTG-07"
    assert text_of(pilot, "assisted_badge") == "Dibantu petugas PTG-07"
    panel = pilot.app.attendant_overlay.panel
    assert (panel.nik_text, panel.name_text) == ("", "")  # nothing typed lingers

    # (d) a ticket whose print failed earlier, reprinted from the journal.
    journal = pilot.kiosk.journal
    job = journal.record(
        "ticket",
        "AKTA-35.17.261122.0042",
        payload=ticket_payload(make_ticket(registration_number="AKTA-35.17.261122.0042")),
    )
    journal.mark_failed(job.id, "PaperOut")
    pilot.tap("attendant_button")
    pilot.tap("act_reprints")
    pilot.wait_until(lambda: pilot.exists(f"reprint_{job.id}"), what="reprint row")
    pilot.tap(f"reprint_{job.id}")
    pilot.wait_until(lambda: "dicetak ulang" in text_of(pilot, "panel_message"), what="reprinted")
    assert len(pilot.kiosk.devices.ticket_printer.tickets) == 1
    assert not pilot.exists(f"reprint_{job.id}")  # done: never offered twice
    assert [j.state for j in journal.log()] == ["reprinted", "done"]


def test_stopped_a4_queue_resumed_by_touches(start: Callable[[], Any], artifacts: Path) -> None:
    pilot = start()
    a4 = pilot.kiosk.devices.document_printer
    a4.set_stopped(True)  # CUPS stopped the queue after a jam; receipts are refused
    pilot.tap("attendant_button")
    pilot.wait_until(lambda: pilot.exists("attendant_pinpad"), what="PIN pad")
    enter_pin(pilot, PIN)
    pilot.wait_until(lambda: pilot.exists("attendant_panel"), what="attendant panel")
    assert not pilot.exists("resume_a4")  # only offered once a check found the queue stopped
    pilot.tap("act_devices")
    pilot.wait_until(lambda: pilot.exists("resume_a4"), what="resume button")
    assert "Antrean cetak berhenti" in text_of(pilot, "device_document_printer")
    assert text_of(pilot, "resume_a4") == "Lanjutkan printer A4"
    pilot.screenshot(artifacts / "attendant-a4-stopped.png")
    pilot.tap("resume_a4")
    pilot.wait_until(lambda: "berjalan lagi" in text_of(pilot, "panel_message"), what="resumed")
    assert not pilot.exists("resume_a4")
    assert "Siap" in text_of(pilot, "device_document_printer")
    assert a4.status()["queue_state"] == "idle" and a4.status()["accepting"] == "yes"
    assert pilot.kiosk.attendant.status()["a4_resumes"] == "1"


def test_failed_receipt_reprinted_by_touches(start: Callable[[], Any]) -> None:
    from tests.drivers.cups.fixtures import make_pdf

    pilot = start()
    reference = "AKTA-35.17.261122.0043"
    sealer = pilot.kiosk.attendant._reprinter._receipts  # the kiosk's own (outbox key)
    assert sealer is not None
    journal = pilot.kiosk.journal
    job = journal.record("receipt", reference, payload=sealer.seal(reference, make_pdf("bukti")))
    journal.mark_failed(job.id, "PaperOut")
    pilot.tap("attendant_button")
    pilot.wait_until(lambda: pilot.exists("attendant_pinpad"), what="PIN pad")
    enter_pin(pilot, PIN)
    pilot.wait_until(lambda: pilot.exists("attendant_panel"), what="attendant panel")
    pilot.tap("act_reprints")
    pilot.wait_until(lambda: pilot.exists(f"reprint_{job.id}"), what="receipt row")
    assert text_of(pilot, f"reprint_{job.id}") == "Cetak ulang bukti"
    pilot.tap(f"reprint_{job.id}")
    pilot.wait_until(
        lambda: "Bukti pendaftaran" in text_of(pilot, "panel_message"), what="receipt reprinted"
    )
    a4 = pilot.kiosk.devices.document_printer
    assert [title for title, _ in a4.printed] == [f"receipt-{reference}"]
    assert not pilot.exists(f"reprint_{job.id}")
    assert [j.state for j in journal.log()] == ["reprinted", "done"]
    assert journal.get(job.id).payload is None
