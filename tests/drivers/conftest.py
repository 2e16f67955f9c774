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
from tests.drivers.cups.fixtures import cups_testbed  # noqa: F401  (session fixture)
from tests.drivers.sane.fixtures import sane_config  # noqa: F401  (session fixture)

WAIT_S = 10.0  # upper bound for any event; tests normally finish in milliseconds


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

    def set_read_delay(self, seconds: float) -> None:
        """Make the next reads take at least `seconds`."""
        self.reader.read_delay_s = seconds

    def try_insert(self, index: int) -> bool:
        """Try to present a card; False when the reader refuses (e.g. unavailable)."""
        return bool(self.reader.insert_card(index))

    def state(self) -> str:
        """The reader's coarse state (status()['state'])."""
        return str(self.reader.status()["state"])


@pytest.fixture(params=["simulated", "pcsc"])
def card_reader(request: pytest.FixtureRequest) -> Iterator[CardReaderHarness]:
    """A started card reader of each implementation, stopped afterwards."""
    if request.param == "pcsc":
        from tests.drivers.pcsc.fixtures import PcscCardReaderHarness

        yield from PcscCardReaderHarness.running(request.getfixturevalue("pcsc_testbed"))
        return
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


@pytest.fixture(params=["simulated", "escpos_serial"])
def ticket_printer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A ticket printer of each implementation (ESC/POS: the emulator on a pty) with faults."""
    from tests.drivers.escpos.harness import escpos_harness, simulated_harness

    if request.param == "simulated":
        yield simulated_harness(tmp_path)
        return
    with escpos_harness(tmp_path) as harness:
        yield harness


@pytest.fixture(params=["simulated", "cups"])
def document_printer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A document printer of each implementation (CUPS: ippeveprinter queue) with faults."""
    if request.param == "cups":
        from tests.drivers.cups.harness import cups_harness

        with cups_harness(request.getfixturevalue("cups_testbed"), tmp_path) as harness:
            yield harness
        return
    printer = SimulatedDocumentPrinter(out_dir=tmp_path)
    yield PrinterHarness(
        printer,
        {
            "paper_out": lambda on: printer.set_paper(not on),
            "offline": printer.set_offline,
            "jam": printer.set_jam,
            "stopped": printer.set_stopped,
        },
        tmp_path,
    )


@pytest.fixture(params=["simulated", "sane"])
def scanner(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """A scanner of each implementation (SANE: the test backend) and its availability switch."""
    if request.param == "sane":
        from tests.drivers.sane.harness import sane_harness

        return sane_harness(request.getfixturevalue("sane_config"))
    device = SimulatedScanner()
    return device, device.set_available
