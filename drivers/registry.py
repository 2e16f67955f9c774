"""Choose device implementations by name; driver modules are imported only when chosen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drivers.card_reader.protocol import CardReader
from drivers.document_printer.protocol import DocumentPrinter
from drivers.scanner.protocol import Scanner
from drivers.ticket_printer.protocol import TicketPrinter

SIMULATED = "simulated"

# Real drivers and the issue that brings them (named in the error so nobody hunts for them).
_PLANNED = {
    "card_reader": "PC/SC (pyscard)",
    "ticket_printer": "ESC/POS over serial",
    "document_printer": "CUPS (pycups)",
    "scanner": "SANE (python-sane)",
}


@dataclass
class DeviceConfig:
    """Which implementation to use for each device, and where simulators write their output."""

    card_reader: str = SIMULATED
    ticket_printer: str = SIMULATED
    document_printer: str = SIMULATED
    scanner: str = SIMULATED
    output_dir: Path | None = None
    card_read_delay_s: float = 0.3


@dataclass
class Devices:
    """The kiosk's devices, each satisfying its drivers.<device>.protocol Protocol."""

    card_reader: CardReader
    ticket_printer: TicketPrinter
    document_printer: DocumentPrinter
    scanner: Scanner


def _check(device: str, name: str) -> None:
    """Raise ValueError unless `name` is an implementation we have for `device`."""
    if name != SIMULATED:
        raise ValueError(
            f"{device} driver {name!r} is not built yet: only {SIMULATED!r} exists "
            f"({_PLANNED[device]} comes in a later issue)"
        )


def build_devices(config: DeviceConfig | None = None) -> Devices:
    """Instantiate the configured devices; ValueError for a driver name that does not exist."""
    config = config or DeviceConfig()
    for device in _PLANNED:
        _check(device, getattr(config, device))
    out = Path(config.output_dir) if config.output_dir is not None else None

    from drivers.card_reader.simulator import SimulatedCardReader
    from drivers.document_printer.simulator import SimulatedDocumentPrinter
    from drivers.scanner.simulator import SimulatedScanner
    from drivers.ticket_printer.simulator import SimulatedTicketPrinter

    return Devices(
        card_reader=SimulatedCardReader(read_delay_s=config.card_read_delay_s),
        ticket_printer=SimulatedTicketPrinter(out / "tickets" if out else None),
        document_printer=SimulatedDocumentPrinter(out / "documents" if out else None),
        scanner=SimulatedScanner(),
    )
