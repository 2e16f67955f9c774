"""What the services need from the A4 printer."""

from __future__ import annotations

from typing import Protocol


class DocumentPrinter(Protocol):
    """An A4 printer that prints PDF documents or raises a drivers.errors.DeviceError."""

    def print_pdf(self, pdf: bytes, title: str) -> str:
        """Print `pdf` and wait until done; return the job id."""

    def status(self) -> dict[str, str]:
        """Return the printer's state for the health report."""
