"""What the services need from the A4 printer."""

from __future__ import annotations

from typing import Protocol

from drivers.errors import DeviceError


class ResumeRefused(DeviceError):
    """The print system would not restart the queue (this user may not enable or accept)."""


class DocumentPrinter(Protocol):
    """An A4 printer that prints PDF documents or raises a drivers.errors.DeviceError."""

    def print_pdf(self, pdf: bytes, title: str) -> str:
        """Print `pdf` and wait until done; return the job id."""

    def status(self) -> dict[str, str]:
        """Return the printer's state for the health report.

        Besides "state", a queue-based printer reports "queue_state" ("idle", "processing" or
        "stopped") and "accepting" ("yes" or "no"): an attendant can resume a stopped queue.
        """

    def resume(self) -> dict[str, str]:
        """Restart a stopped queue and accept jobs again; return status() read afterwards.

        Raises PrinterOffline when the print system cannot be reached and ResumeRefused when it
        does not allow this. Resuming loads no paper: a fault still reported stays in "state".
        """
