"""Harnesses that let one contract suite drive every implementation of a device protocol."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drivers.card_reader.protocol import CardEvent
from drivers.card_reader.simulator import SimulatedCardReader
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.errors import DeviceError
from drivers.scanner.simulator import SimulatedScanner
from drivers.ticket_printer.simulator import SimulatedTicketPrinter

WAIT_S = 3.0  # upper bound for any event; tests normally finish in milliseconds


@dataclass
class CardReaderHarness:
    """A started reader, an event queue and the hooks that put cards in and faults on."""

    reader: Any
    events: queue.Queue[CardEvent] = field(default_factory=queue.Queue)

    def next_event(self, timeout: float = WAIT_S) -> CardEvent:
        """Return the next event or fail the test after `timeout` seconds."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no card event within {timeout} s")

    def no_event(self, within: float = 0.2) -> bool:
        """True when nothing arrives within `within` seconds."""
        try:
            self.events.get(timeout=within)
        except queue.Empty:
            return True
        return False

    # Hooks: a real driver's harness would drive a virtual card / relay board instead.
    def insert(self, index: int = 0) -> None:
        """Present fictional citizen `index`'s card."""
        assert self.reader.insert_card(index)

    def remove(self) -> None:
        """Take the card away."""
        assert self.reader.remove_card()

    def fail_next(self, error: DeviceError) -> None:
        """Make the next read fail with `error`."""
        self.reader.fail_next_read(error)

    def set_available(self, available: bool) -> None:
        """Connect or disconnect the reader."""
        self.reader.set_available(available)


@pytest.fixture(params=["simulated"])
def card_reader(request: pytest.FixtureRequest) -> Iterator[CardReaderHarness]:
    """A started card reader of each implementation, stopped afterwards."""
    harness = CardReaderHarness(SimulatedCardReader(read_delay_s=0.05))
    harness.reader.start(harness.events.put)
    yield harness
    harness.reader.stop()


@dataclass
class PrinterHarness:
    """A printer plus the fault switches its contract test needs."""

    printer: Any
    faults: dict[str, Any]  # fault name -> callable(bool)
    out_dir: Path


@pytest.fixture(params=["simulated"])
def ticket_printer(request: pytest.FixtureRequest, tmp_path: Path) -> PrinterHarness:
    """A ticket printer of each implementation with its fault switches."""
    printer = SimulatedTicketPrinter(out_dir=tmp_path)
    return PrinterHarness(
        printer,
        {
            "paper_out": lambda on: printer.set_paper(not on),
            "cover_open": printer.set_cover_open,
            "offline": printer.set_offline,
        },
        tmp_path,
    )


@pytest.fixture(params=["simulated"])
def document_printer(request: pytest.FixtureRequest, tmp_path: Path) -> PrinterHarness:
    """A document printer of each implementation with its fault switches."""
    printer = SimulatedDocumentPrinter(out_dir=tmp_path)
    return PrinterHarness(
        printer,
        {
            "paper_out": lambda on: printer.set_paper(not on),
            "offline": printer.set_offline,
            "jam": printer.set_jam,
        },
        tmp_path,
    )


@pytest.fixture(params=["simulated"])
def scanner(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """A scanner of each implementation and its availability switch."""
    device = SimulatedScanner()
    return device, device.set_available
