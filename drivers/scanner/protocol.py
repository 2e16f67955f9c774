"""What the services need from the document scanner."""

from __future__ import annotations

from typing import Protocol


class Scanner(Protocol):
    """A flatbed/ADF scanner returning pages as PNG bytes."""

    def scan_page(self, dpi: int = 200, mode: str = "Gray") -> bytes:
        """Scan one page; raise drivers.errors.ScannerUnavailable on failure."""

    def status(self) -> dict[str, str]:
        """Return the scanner's state for the health report."""
