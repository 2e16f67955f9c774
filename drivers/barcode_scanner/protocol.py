"""What the services need from the barcode scanner."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# docs/registration-numbers.md; the ticket QR may carry a prefix such as "ANJUNGAN:".
REGISTRATION_NUMBER_RE = re.compile(
    r"(?:^|[^A-Z])((?:AKTA|AKM|KK|KTP|KIA|PDH)-\d{2}\.\d{2}\.\d{6}"
    r"\.\d{4})(?![\d.])"
)
# AIM symbology identifiers (]Xm) that scanners can be set to prefix.
AIM_SYMBOLOGIES = {
    "Q": "qr",
    "d": "datamatrix",
    "L": "pdf417",
    "C": "code128",
    "E": "ean",
    "A": "code39",
    "z": "aztec",
}


@dataclass(frozen=True)
class Scanned:
    """One code read: its text and, when the scanner says so, its symbology."""

    text: str
    symbology: str = "unknown"

    @property
    def registration_number(self) -> str | None:
        """The application's registration number in the code, if it holds one."""
        return registration_number_in(self.text)


@dataclass(frozen=True)
class ScannerStateChanged:
    """The scanner was plugged in or went away (for the health report)."""

    available: bool
    detail: str


ScanEvent = Scanned | ScannerStateChanged


class BarcodeScanner(Protocol):
    """A scanner that reports reads from its own thread."""

    def start(self, listener: Callable[[ScanEvent], None]) -> None:
        """Begin listening; `listener` is called from a driver thread."""

    def stop(self) -> bool:
        """Stop listening and release the port; True once the driver's thread has ended."""

    def status(self) -> dict[str, str]:
        """Return the scanner's state for the health report."""


def registration_number_in(text: str) -> str | None:
    """Return the registration number a scanned text holds, or None."""
    found = REGISTRATION_NUMBER_RE.search(text.strip().upper())
    return found.group(1) if found else None


def parse_scan(raw: str) -> Scanned:
    """Split an optional AIM identifier (]Q1...) from the scanned text."""
    if len(raw) >= 3 and raw[0] == "]":
        return Scanned(raw[3:], AIM_SYMBOLOGIES.get(raw[1], "unknown"))
    return Scanned(raw)
