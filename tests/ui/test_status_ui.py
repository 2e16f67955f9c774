"""Status check and ticket reprint by touch on the real app (offscreen window, simulators)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drivers.card_reader.citizens import citizen
from kiosk_app.central import CentralError
from kiosk_app.domain.registration import NEXT_STEPS
from kiosk_app.services.printing.reprint import MSG_PRINTER_NOT_READY
from tests.ui.conftest import choose_first_slot, file_birth_application, type_number

pytestmark = pytest.mark.ui


def wait_for_central(pilot: Any) -> Any:
    """The kiosk's central client once its sidecar server answers (slow on a busy machine)."""
    central = pilot.kiosk.central
    deadline = time.monotonic() + 120  # a hang detector: slow only on a busy machine
    while True:
        try:
            central.health()
            return central
        except CentralError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def file_application(pilot: Any) -> str:
    """File one application on the kiosk's central server; return its registration number."""
    central = wait_for_central(pilot)
    person = citizen(1)
    slot = central.slots("akta_kelahiran")[0].slot
    return file_birth_application(central, person, slot, "ui-status-check")


def submit_by_card(pilot: Any) -> None:
    """Card tap to the result screen; the form is filled through the session service (its
    touches are covered by test_journey), the optional scanning step skipped."""
    choose_first_slot(pilot)
    pilot.app.session.submit()
    pilot.wait_for_state("result")


def test_status_from_the_menu_by_keypad(start_kiosk: Callable[..., Any], artifacts: Path) -> None:
    pilot = start_kiosk()
    number = file_application(pilot)
    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")
    pilot.tap("next")
    pilot.wait_for_state("menu")
    pilot.tap("service_status")
    pilot.wait_for_state("status")
    entry = pilot.find("status_entry")
    assert entry.text == "AKTA-35.17.______.____"  # the office's own digits come pre-typed

    pilot.tap("status_check")  # too early: says how many digits are missing
    pilot.wait_until(lambda: "10 angka" in pilot.find("message").text, what="incomplete")
    type_number(pilot, number, prefix="prefix_", keypad="status_keypad", entry="status_entry")
    pilot.tap("status_check")
    pilot.wait_until(lambda: pilot.find("status_text").text != "", what="status")
    assert pilot.find("status_next").text == NEXT_STEPS["submitted"].id
    assert pilot.find("status_slot").text.startswith("Jadwal verifikasi: ")
    assert pilot.find("message").text == ""
    pilot.screenshot(artifacts / "status-by-keypad.png")

    pilot.tap("status_back")
    pilot.wait_for_state("menu")
    assert pilot.app.root.get_screen("status").status_text == ""


def test_receipt_qr_on_the_attract_screen_opens_the_status(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    pilot = start_kiosk()
    number = file_application(pilot)
    scanner = pilot.kiosk.devices.barcode_scanner
    assert scanner.scan("]Q1" + number)
    pilot.wait_for_state("status")
    pilot.wait_until(lambda: pilot.find("status_text").text != "", what="status")
    assert number in pilot.find("status_number").text
    assert pilot.find("status_back").text == "Kembali"  # no card: back to the attract screen
    pilot.screenshot(artifacts / "status-by-qr.png")

    assert scanner.scan("WIFI:S:lobby;;")  # someone's other QR code
    pilot.wait_until(
        lambda: pilot.find("message").text.startswith("Kode QR ini bukan"),
        what="foreign QR message",
    )
    pilot.tap("status_back")
    pilot.wait_for_state("attract")
    assert number not in pilot.app.root.get_screen("status").entry
    pilot.tap("status_open")  # no card at all (e.g. a lost e-KTP): the attract screen's button
    pilot.wait_for_state("status")
    assert pilot.find("status_entry").text == "AKTA-35.17.______.____"
    pilot.screenshot(artifacts / "status-without-card.png")


def test_reprint_button_once_the_paper_is_back(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:

    pilot = start_kiosk()
    app, printer = pilot.app, pilot.kiosk.devices.ticket_printer
    printer.set_paper(False)
    submit_by_card(pilot)
    pilot.wait_until(lambda: pilot.find("reprint_status").text != "", what="reprint offer")
    assert pilot.find("reprint").disabled
    assert pilot.find("reprint_status").text == MSG_PRINTER_NOT_READY["paper_out"].id
    pilot.screenshot(artifacts / "result-reprint-offer.png")

    printer.set_paper(True)
    pilot.wait_until(lambda: not pilot.find("reprint").disabled, what="printer back")
    pilot.tap("reprint")
    pilot.wait_until(
        lambda: pilot.find("printed").text.startswith("✔ Tiket"),
        timeout=10,
        what="ticket printed",
    )
    assert len(printer.tickets) == 1
    assert printer.tickets[0].registration_number == app.view.outcome.registration_number
