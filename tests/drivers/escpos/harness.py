"""Ticket printer harnesses for the contract suite: the simulator, and ESC/POS on a real pty."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.ticket_printer.emulator import EscposEmulator
from drivers.ticket_printer.escpos_serial import EscposSerialTicketPrinter
from drivers.ticket_printer.simulator import SimulatedTicketPrinter


@dataclass
class TicketPrinterHarness:
    """A ticket printer, its fault switches and a view of what came out of it."""

    printer: Any
    faults: dict[str, Callable[[bool], None]]
    out_dir: Path
    driver: str
    printed: Callable[[], list[Any]]  # images or tickets that came out, oldest first
    last_png: Callable[[], Path | None]


def simulated_harness(tmp_path: Path) -> TicketPrinterHarness:
    """The simulated printer."""
    printer = SimulatedTicketPrinter(out_dir=tmp_path)
    return TicketPrinterHarness(
        printer,
        {
            "paper_out": lambda on: printer.set_paper(not on),
            "cover_open": printer.set_cover_open,
            "offline": printer.set_offline,
        },
        tmp_path,
        "simulated",
        lambda: printer.printed,
        lambda: printer.last_png_path,
    )


@contextmanager
def escpos_harness(tmp_path: Path, baudrate: int | None = None) -> Iterator[TicketPrinterHarness]:
    """The ESC/POS serial driver talking to the emulator over a pty pair."""
    with EscposEmulator(tmp_path / "ttyPRINTER", tmp_path, baudrate=baudrate) as emulator:
        printer = EscposSerialTicketPrinter(
            str(tmp_path / "ttyPRINTER"), baudrate=baudrate or 115200, status_timeout_s=1.0
        )
        try:
            yield TicketPrinterHarness(
                printer,
                {
                    "paper_out": lambda on: emulator.set_fault("paper_out", on),
                    "cover_open": lambda on: emulator.set_fault("cover_open", on),
                    "offline": lambda on: emulator.set_fault("silent", on),
                },
                tmp_path,
                "escpos_serial",
                lambda: emulator.tickets,
                lambda: emulator.png_paths[-1] if emulator.png_paths else None,
            )
        finally:
            printer.close()
