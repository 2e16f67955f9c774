"""The serial barcode scanner driver against the scanner emulator on a pty."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.barcode_scanner.emulator import BarcodeScannerEmulator
from drivers.barcode_scanner.protocol import (
    ScanEvent,
    Scanned,
    ScannerStateChanged,
    registration_number_in,
)
from drivers.barcode_scanner.serial import SerialBarcodeScanner
from drivers.barcode_scanner.simulator import SimulatedBarcodeScanner
from drivers.ticket_printer.emulator import EscposEmulator
from drivers.ticket_printer.escpos_serial import EscposSerialTicketPrinter
from tests.drivers.test_ticket_printer_contract import make_ticket

REG = "AKTA-35.17.261122.0007"
WAIT_S = 10.0


class Listener:
    """Collects scanner events; every wait is bounded."""

    def __init__(self) -> None:
        """Start empty."""
        self.events: queue.Queue[ScanEvent] = queue.Queue()

    def next(self, kind: type = Scanned) -> ScanEvent:
        """The next event of `kind`, skipping others; fail after WAIT_S."""
        while True:
            try:
                event = self.events.get(timeout=WAIT_S)
            except queue.Empty:
                pytest.fail(f"no {kind.__name__} within {WAIT_S} s")
            if isinstance(event, kind):
                return event

    def quiet(self, within: float = 0.3) -> bool:
        """True when no scan arrives within `within` seconds."""
        try:
            while True:
                if isinstance(self.events.get(timeout=within), Scanned):
                    return False
        except queue.Empty:
            return True


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[BarcodeScannerEmulator, SerialBarcodeScanner, Listener]]:
    """A plugged-in scanner emulator, the driver listening to it, and the events."""
    emulator = BarcodeScannerEmulator(tmp_path / "ttyACM0").start()
    driver = SerialBarcodeScanner(str(emulator.link), reopen_interval_s=0.05)
    listener = Listener()
    driver.start(listener.events.put)
    assert listener.next(ScannerStateChanged) == ScannerStateChanged(
        True, f"listening on {emulator.link} at 9600 baud"
    )
    yield emulator, driver, listener
    driver.stop()
    emulator.stop()


def test_a_scan_arrives_with_its_registration_number(rig) -> None:  # type: ignore[no-untyped-def]
    emulator, driver, listener = rig
    emulator.scan(REG)
    event = listener.next()
    assert event == Scanned(REG) and event.registration_number == REG
    assert driver.status()["state"] == "online"


def test_line_endings_split_writes_and_aim_prefix(rig) -> None:  # type: ignore[no-untyped-def]
    emulator, _, listener = rig
    emulator.send_raw(b"]Q1ANJUNGAN:" + REG.encode()[:8])
    emulator.send_raw(REG.encode()[8:] + b"\r\n")
    event = listener.next()
    assert event == Scanned(f"ANJUNGAN:{REG}", "qr") and event.registration_number == REG
    emulator.send_raw(b"KTP-35.17.261122.0001\n")
    assert listener.next() == Scanned("KTP-35.17.261122.0001")


def test_repeats_are_dropped_other_codes_are_not(rig) -> None:  # type: ignore[no-untyped-def]
    emulator, _, listener = rig
    emulator.scan(REG)
    emulator.scan(REG)
    emulator.scan("hello")
    assert listener.next() == Scanned(REG)
    assert listener.next() == Scanned("hello")
    assert listener.quiet()


def test_noise_and_bad_bytes_do_not_break_reading(rig) -> None:  # type: ignore[no-untyped-def]
    emulator, driver, listener = rig
    emulator.send_raw(b"\xff" * (driver.max_length + 300))  # no terminator: dropped
    emulator.send_raw(b"\r\x00\x07\r\n")  # control characters only: nothing to report
    emulator.send_raw(b"caf\xe9\r")  # not UTF-8: read as Latin-1
    assert listener.next() == Scanned("caf\u00e9")


def test_unplug_and_replug(rig) -> None:  # type: ignore[no-untyped-def]
    emulator, driver, listener = rig
    emulator.stop()
    gone = listener.next(ScannerStateChanged)
    assert isinstance(gone, ScannerStateChanged) and not gone.available
    assert driver.status()["state"] == "offline"
    emulator.start()
    back = listener.next(ScannerStateChanged)
    assert isinstance(back, ScannerStateChanged) and back.available
    emulator.scan(REG)
    assert listener.next() == Scanned(REG)


def test_scanning_a_printed_ticket(rig, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    emulator, _, listener = rig
    with EscposEmulator(tmp_path / "ttyPRINTER", tmp_path / "png") as printer_emulator:
        printer = EscposSerialTicketPrinter(str(printer_emulator.link), status_timeout_s=1.0)
        printer.print_ticket(make_ticket(registration_number=REG, qr_payload=REG))
        printer.close()
        png = printer_emulator.png_paths[0]
    assert emulator.scan_image(png) == [REG]
    assert listener.next().registration_number == REG  # type: ignore[union-attr]


def test_simulated_scanner() -> None:
    scanner, listener = SimulatedBarcodeScanner(), Listener()
    assert not scanner.scan(REG)  # nobody listening yet
    scanner.start(listener.events.put)
    assert scanner.scan("]Q1" + REG)
    assert listener.next() == Scanned(REG, "qr")
    scanner.set_available(False)
    assert not scanner.scan(REG) and scanner.status()["state"] == "offline"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (REG, REG),
        (f"  anjungan:{REG.lower()}\t", REG),
        ("https://dukcapil.example/status/PDH-35.17.261122.0099", "PDH-35.17.261122.0099"),
        ("AKTA-35.17.261122.00071", None),
        ("XAKTA-35.17.261122.0007", None),
        ("3517012345678901", None),
        ("", None),
    ],
)
def test_registration_number_in(text: str, expected: str | None) -> None:
    assert registration_number_in(text) == expected


def test_a_code_without_line_end_is_one_code_after_silence(rig) -> None:  # type: ignore[no-untyped-def]
    emulator, _, listener = rig
    emulator.send_raw(REG.encode())  # a scanner set up without a suffix
    assert listener.next() == Scanned(REG)
    emulator.send_raw(b"KTP-35.17.261122.0001")
    assert listener.next() == Scanned("KTP-35.17.261122.0001")  # not glued to the one before


def test_stop_reports_the_truth_while_a_listener_blocks(tmp_path: Path) -> None:
    release, inside = threading.Event(), threading.Event()

    def listener(event: ScanEvent) -> None:
        if isinstance(event, Scanned):
            inside.set()
            release.wait(10.0)

    with BarcodeScannerEmulator(tmp_path / "ttyACM0") as emulator:
        driver = SerialBarcodeScanner(str(emulator.link), stop_timeout_s=0.2)
        driver.start(listener)
        for _ in range(100):
            if driver.status()["state"] == "online":
                break
            inside.wait(0.05)
        emulator.scan(REG)
        assert inside.wait(WAIT_S)
        assert driver.stop() is False
        assert driver.status()["state"] == "stopping"
        release.set()
        for _ in range(200):
            if driver.stop():
                break
        assert driver.stop() is True
        assert driver.status()["state"] != "stopping"
