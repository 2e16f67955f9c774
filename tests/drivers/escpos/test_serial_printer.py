"""The ESC/POS serial driver against the emulator over real pty byte streams."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.errors import PaperOut, PrinterFault, PrinterOffline
from drivers.registry import DeviceConfig, build_devices
from drivers.ticket_printer.emulator import EscposEmulator
from drivers.ticket_printer.escpos_serial import EscposSerialTicketPrinter
from tests.drivers.test_ticket_printer_contract import make_ticket

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EscposEmulator]:
    """An unthrottled emulated printer at tmp_path/ttyPRINTER."""
    with EscposEmulator(tmp_path / "ttyPRINTER", tmp_path / "png") as emu:
        yield emu


@pytest.fixture
def printer(emulator: EscposEmulator) -> Iterator[EscposSerialTicketPrinter]:
    """The driver on the emulator's port."""
    p = EscposSerialTicketPrinter(str(emulator.link), baudrate=115200, status_timeout_s=1.0)
    yield p
    p.close()


def test_status_is_asked_before_and_after_each_ticket(
    emulator: EscposEmulator, printer: EscposSerialTicketPrinter
) -> None:
    printer.print_ticket(make_ticket())
    queries = emulator.machine.status_queries
    assert (1, 0) in queries and (4, 0) in queries  # before: no ticket cut yet
    assert (1, 1) in queries and (4, 1) in queries  # after: the ticket was cut
    assert printer.bytes_sent == emulator.machine.bytes_received - 3 * len(queries)
    assert emulator.png_paths == [emulator.png_dir / "ticket-001.png"]  # type: ignore[operator]


def test_paper_near_end_prints_and_warns(
    emulator: EscposEmulator, printer: EscposSerialTicketPrinter, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.set_fault("paper_near_end")
    with caplog.at_level(logging.WARNING):
        printer.print_ticket(make_ticket())
    assert len(emulator.tickets) == 1
    assert printer.status() == {"state": "online", "paper": "near_end", "driver": "escpos_serial"}
    assert "paper near end" in caplog.text


def test_paper_running_out_mid_ticket_is_reported(
    emulator: EscposEmulator, printer: EscposSerialTicketPrinter
) -> None:
    emulator.run_out_of_paper_after(300)
    with pytest.raises(PaperOut, match="after printing"):
        printer.print_ticket(make_ticket())
    assert emulator.tickets == [] and emulator.machine.incomplete == 1
    assert printer.status()["paper"] == "out"


def test_cutter_error_is_a_printer_fault(
    emulator: EscposEmulator, printer: EscposSerialTicketPrinter
) -> None:
    emulator.set_fault("cutter_error")
    with pytest.raises(PrinterFault, match="autocutter") as caught:
        printer.print_ticket(make_ticket())
    assert "petugas" in caught.value.citizen_message("id")
    assert printer.status()["state"] == "error" and printer.bytes_sent == 0


def test_silent_printer_gets_nothing_sent(
    emulator: EscposEmulator, printer: EscposSerialTicketPrinter
) -> None:
    emulator.set_fault("silent")
    with pytest.raises(PrinterOffline, match="no answer to DLE EOT 1"):
        printer.print_ticket(make_ticket())
    assert printer.bytes_sent == 0
    assert printer.status() == {"state": "offline", "paper": "unknown", "driver": "escpos_serial"}


def test_unplugged_port_then_replugged(tmp_path: Path) -> None:
    link = tmp_path / "ttyUSB0"
    printer = EscposSerialTicketPrinter(str(link), status_timeout_s=1.0)
    with pytest.raises(PrinterOffline, match="cannot be opened"):
        printer.print_ticket(make_ticket())
    with EscposEmulator(link) as first:
        printer.print_ticket(make_ticket())
        assert len(first.tickets) == 1
    assert printer.status()["state"] == "offline"  # the pty is gone: port error, reopen later
    with EscposEmulator(link) as second:
        printer.print_ticket(make_ticket())
        assert len(second.tickets) == 1
    printer.close()


def test_throttled_line_still_gets_its_after_status(tmp_path: Path) -> None:
    # ~800 bytes take ~0.8 s at 9,600 baud, longer than the status timeout itself.
    with EscposEmulator(tmp_path / "tty", baudrate=9600) as emu:
        printer = EscposSerialTicketPrinter(str(emu.link), 9600, status_timeout_s=0.5)
        printer.print_ticket(make_ticket())
        printer.close()
        assert len(emu.tickets) == 1 and (1, 1) in emu.machine.status_queries


def test_registry_builds_the_serial_printer(emulator: EscposEmulator) -> None:
    devices = build_devices(
        DeviceConfig(
            ticket_printer="escpos_serial",
            ticket_printer_port=str(emulator.link),
            ticket_printer_native_qr=False,
        )
    )
    printer = devices.ticket_printer
    assert isinstance(printer, EscposSerialTicketPrinter) and not printer.profile.native_qr
    printer.print_ticket(make_ticket())
    printer.close()
    assert len(emulator.tickets) == 1 and emulator.tickets[0].qr_payloads == []


def test_cli_emulator_takes_fault_commands(tmp_path: Path) -> None:
    link, png_dir = tmp_path / "ttyCLI", tmp_path / "png"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "drivers.ticket_printer.emulator",
            "--link",
            str(link),
            "--png-dir",
            str(png_dir),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().startswith("ready")
        printer = EscposSerialTicketPrinter(str(link), status_timeout_s=1.0)
        printer.print_ticket(make_ticket())
        proc.stdin.write("cover_open on\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "ok"
        assert printer.status()["state"] == "cover_open"
        proc.stdin.write("cover_open off\nstall on\n")
        proc.stdin.flush()
        assert [proc.stdout.readline().strip() for _ in range(2)] == ["ok", "ok"]
        assert printer.status()["state"] == "offline"  # a stalled printer answers nothing
        proc.stdin.write("stall off\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "ok"
        proc.stdin.write("bogus on\n")
        proc.stdin.flush()
        assert proc.stdout.readline().startswith("error: unknown fault")
        printer.close()
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert (png_dir / "ticket-001.png").is_file() and not link.exists()


def test_printer_hanging_mid_ticket_is_offline_then_recovers(
    emulator: EscposEmulator, printer: EscposSerialTicketPrinter
) -> None:
    emulator.stall_after(9 + 40)  # the three DLE EOT queries, then 40 bytes of the ticket
    with pytest.raises(PrinterOffline, match="no answer to DLE EOT 1") as caught:
        printer.print_ticket(make_ticket())
    assert "petugas" in caught.value.citizen_message("id")
    assert printer.status()["state"] == "offline"
    emulator.stall(False)  # the printer wakes up and reads what piled up in the meantime
    printer.print_ticket(make_ticket())
    assert printer.status() == {"state": "online", "paper": "ok", "driver": "escpos_serial"}


def test_write_to_a_stalled_printer_has_a_deadline(tmp_path: Path) -> None:
    with EscposEmulator(tmp_path / "tty", tmp_path / "png") as emu:
        printer = EscposSerialTicketPrinter(
            str(emu.link), 115200, status_timeout_s=1.0, write_timeout_s=0.5
        )
        try:
            printer.print_ticket(make_ticket())  # status is answered, the line works
            emu.stall_after(9)  # answers the next status queries, then takes nothing more
            with pytest.raises(PrinterOffline, match="write failed|no answer"):
                for _ in range(40):  # more than the pty buffer holds (~12 KB)
                    printer.print_ticket(make_ticket())
            emu.stall(False)
            for _ in range(20):  # the backlog drains; each query waits at most its deadline
                if printer.status()["state"] == "online":
                    break
            printer.print_ticket(make_ticket())
        finally:
            printer.close()


def test_every_status_query_has_a_deadline(
    emulator: EscposEmulator, printer: EscposSerialTicketPrinter
) -> None:
    emulator.stall()
    assert printer.status() == {"state": "offline", "paper": "unknown", "driver": "escpos_serial"}
    assert "no answer to DLE EOT" in printer.last_status.detail
    emulator.stall(False)
    assert printer.status()["state"] == "online"
