"""The contract-suite harness for the SANE scanner (test backend)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from drivers.scanner.sane import SaneScanner

DEVICE = "test:0"
MISSING = "test:9"  # the test backend offers test:0 and test:1 only


def sane_harness(config: Path) -> tuple[SaneScanner, Callable[[bool], None]]:
    """A scanner on test:0 and a switch that 'unplugs' it (points it at a missing device)."""
    assert config.is_dir()
    # The backend keeps option values between opens: start every harness from the defaults.
    scanner = SaneScanner(
        DEVICE,
        source="Flatbed",
        adf_source="Automatic Document Feeder",
        options={"read-return-value": "Default"},
    )

    def set_available(available: bool) -> None:
        scanner.device = DEVICE if available else MISSING

    return scanner, set_available
