"""Choose device implementations by name; driver modules are imported only when chosen."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from drivers.barcode_scanner.protocol import BarcodeScanner
from drivers.barcode_scanner.simulator import SimulatedBarcodeScanner
from drivers.card_reader.protocol import CardReader
from drivers.document_printer.protocol import DocumentPrinter
from drivers.scanner.protocol import Scanner
from drivers.ticket_printer.protocol import TicketPrinter

SIMULATED = "simulated"

# Real drivers and the issue that brings them (named in the error so nobody hunts for them).
# Real drivers that exist, by device (the simulator is always there).
_BUILT: dict[str, set[str]] = {
    "card_reader": {"pcsc"},
    "ticket_printer": {"escpos_serial"},
    "barcode_scanner": {"serial"},
    "document_printer": {"cups"},
    "scanner": {"sane"},
}


@dataclass
class DeviceConfig:
    """Which implementation to use for each device, and where simulators write their output."""

    card_reader: str = SIMULATED
    ticket_printer: str = SIMULATED
    document_printer: str = SIMULATED
    scanner: str = SIMULATED
    barcode_scanner: str = SIMULATED  # or "serial"
    output_dir: Path | None = None
    # ticket_printer = "escpos_serial": the port, and the printer model's profile
    ticket_printer_port: str = "/dev/ttyUSB0"
    ticket_printer_baudrate: int = 38400
    ticket_printer_model: str = "TM-T20II"  # python-escpos profile: 576 dots, 48 columns
    ticket_printer_native_qr: bool = True  # False: the QR goes as a raster image
    ticket_printer_code_page: str = "CP1252"
    # barcode_scanner = "serial" (USB-CDC scanners show up as ttyACM)
    barcode_scanner_port: str = "/dev/ttyACM0"
    barcode_scanner_baudrate: int = 9600
    # document_printer = "cups": the queue, cupsd (None = system; host or socket path), bounds
    cups_queue: str = "anjungan-a4"
    cups_server: str | None = None
    cups_job_timeout_s: float = 120.0
    cups_fault_grace_s: float = 8.0
    # scanner = "sane": the device (None = first found), page settings and sources
    sane_device: str | None = None
    scan_dpi: int = 200
    scan_mode: str = "Gray"  # Gray | Color | Lineart
    sane_source: str | None = None  # e.g. "Flatbed"
    sane_adf_source: str | None = None  # e.g. "ADF"; None = found from the device's options
    card_read_delay_s: float = 0.3
    # card_reader = "pcsc": regexes on PC/SC reader names, the card profile, extended APDUs
    pcsc_reader_pattern: str = r"PICC|Contactless|CL| 00 00$"
    pcsc_sam_pattern: str = r"SAM| 00 01$"
    card_profile: str = "reference"  # "reference" (SAM mutual auth) | "uid" (UID only, no NIK)
    pcsc_extended_length: str = "auto"  # "auto" (the card's ATR says) | "always" | "never"
    pcsc_apdu_timeout_s: float = 2.0  # a card APDU without an answer by then: card mute
    pcsc_read_timeout_s: float = 4.0  # a whole e-KTP read, SAM authentication included
    pcsc_sam_timeout_s: float = 1.5  # a SAM APDU without an answer by then: SAM fault


@dataclass
class Devices:
    """The kiosk's devices, each satisfying its drivers.<device>.protocol Protocol."""

    card_reader: CardReader
    ticket_printer: TicketPrinter
    document_printer: DocumentPrinter
    scanner: Scanner
    barcode_scanner: BarcodeScanner = field(default_factory=SimulatedBarcodeScanner)


def _check(device: str, name: str) -> None:
    """Raise ValueError unless `name` is an implementation we have for `device`."""
    if name != SIMULATED and name not in _BUILT.get(device, set()):
        choices = ", ".join(sorted(_BUILT.get(device, set()) | {SIMULATED}))
        raise ValueError(f"unknown {device} driver {name!r}: choose one of {choices}")


def build_devices(config: DeviceConfig | None = None) -> Devices:
    """Instantiate the configured devices; ValueError for a driver name that does not exist."""
    config = config or DeviceConfig()
    for device in _BUILT:
        _check(device, getattr(config, device))
    out = Path(config.output_dir) if config.output_dir is not None else None

    from drivers.card_reader.simulator import SimulatedCardReader
    from drivers.document_printer.simulator import SimulatedDocumentPrinter
    from drivers.scanner.simulator import SimulatedScanner
    from drivers.ticket_printer.simulator import SimulatedTicketPrinter

    return Devices(
        card_reader=_card_reader(config)
        or SimulatedCardReader(read_delay_s=config.card_read_delay_s),
        ticket_printer=_ticket_printer(config)
        or SimulatedTicketPrinter(out / "tickets" if out else None),
        document_printer=_document_printer(config)
        or SimulatedDocumentPrinter(out / "documents" if out else None),
        scanner=_scanner(config) or SimulatedScanner(),
        barcode_scanner=_barcode_scanner(config) or SimulatedBarcodeScanner(),
    )


def _ticket_printer(config: DeviceConfig) -> TicketPrinter | None:
    """The configured real ticket printer, or None for the simulator."""
    if config.ticket_printer != "escpos_serial":
        return None
    from drivers.ticket_printer.escpos_serial import EscposSerialTicketPrinter
    from drivers.ticket_printer.layout import TicketProfile

    profile = TicketProfile(
        model=config.ticket_printer_model,
        native_qr=config.ticket_printer_native_qr,
        code_page=config.ticket_printer_code_page,
    )
    return EscposSerialTicketPrinter(
        config.ticket_printer_port, config.ticket_printer_baudrate, profile
    )


def _card_reader(config: DeviceConfig) -> CardReader | None:
    """The configured PC/SC e-KTP reader, or None for the simulator."""
    if config.card_reader != "pcsc":
        return None
    from drivers.card_reader.pcsc import PcscCardReader, PcscSettings

    return PcscCardReader(
        PcscSettings(
            reader_pattern=config.pcsc_reader_pattern,
            sam_pattern=config.pcsc_sam_pattern,
            profile=config.card_profile,
            extended_length=config.pcsc_extended_length,
            apdu_timeout_s=config.pcsc_apdu_timeout_s,
            read_timeout_s=config.pcsc_read_timeout_s,
            sam_timeout_s=config.pcsc_sam_timeout_s,
        )
    )


def _barcode_scanner(config: DeviceConfig) -> BarcodeScanner | None:
    """The configured real barcode scanner, or None for the simulator."""
    if config.barcode_scanner != "serial":
        return None
    from drivers.barcode_scanner.serial import SerialBarcodeScanner

    return SerialBarcodeScanner(config.barcode_scanner_port, config.barcode_scanner_baudrate)


def _document_printer(config: DeviceConfig) -> DocumentPrinter | None:
    """The configured CUPS A4 printer, or None for the simulator."""
    if config.document_printer != "cups":
        return None
    from drivers.document_printer.cups import CupsDocumentPrinter

    return CupsDocumentPrinter(
        config.cups_queue,
        server=config.cups_server,
        job_timeout_s=config.cups_job_timeout_s,
        fault_grace_s=config.cups_fault_grace_s,
    )


def _scanner(config: DeviceConfig) -> Scanner | None:
    """The configured SANE scanner, or None for the simulator."""
    if config.scanner != "sane":
        return None
    from drivers.scanner.sane import SaneScanner

    return SaneScanner(
        config.sane_device, source=config.sane_source, adf_source=config.sane_adf_source
    )
