"""The contract-suite harness for the CUPS document printer (ippeveprinter queue)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.document_printer.cups import CupsDocumentPrinter
from tests.drivers.cups.fixtures import IppFaults
from tests.drivers.cups.testbed import IPP_QUEUE, CupsTestbed


@dataclass
class CupsPrinterHarness:
    """A CUPS printer, its fault switches and what the simulated printer engine finished."""

    printer: Any
    faults: dict[str, Callable[[bool], None]]
    out_dir: Path
    testbed: CupsTestbed
    _titles_before: int = field(default=0)

    def printed_titles(self) -> list[str]:
        """Titles of the jobs the engine finished during this test (probe jobs left out)."""
        titles = self.testbed.printed_titles()[self._titles_before :]
        return [t for t in titles if t != "probe"]


def make_printer(
    testbed: CupsTestbed, queue: str = IPP_QUEUE, **kwargs: Any
) -> CupsDocumentPrinter:
    """A CUPS printer on the test bed with bounds short enough for tests."""
    options: dict[str, Any] = {
        "server": testbed.socket,
        "job_timeout_s": 20.0,
        "fault_grace_s": 1.0,
        "poll_s": 0.1,
    }
    options.update(kwargs)
    return CupsDocumentPrinter(queue, **options)


@contextmanager
def cups_harness(testbed: CupsTestbed, tmp_path: Path) -> Iterator[CupsPrinterHarness]:
    """A healthy ippeveprinter queue; faults are cleared again afterwards."""
    faults = IppFaults(testbed)
    harness = CupsPrinterHarness(
        make_printer(testbed),
        {
            "paper_out": faults.paper_out,
            "jam": faults.jam,
            "offline": faults.offline,
            "stopped": faults.stopped,
        },
        tmp_path,
        testbed,
        len(testbed.printed_titles()),
    )
    try:
        yield harness
    finally:
        faults.reset()
