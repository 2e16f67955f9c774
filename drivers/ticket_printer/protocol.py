"""What the services need from the thermal ticket printer."""

from __future__ import annotations

from typing import Protocol

from kiosk_app.domain.ticket import CallingTicket, Ticket


class TicketPrinter(Protocol):
    """An 80 mm thermal printer that prints tickets or raises a drivers.errors.DeviceError."""

    def print_ticket(self, ticket: Ticket) -> None:
        """Print and cut one ticket; raise PaperOut, CoverOpen or PrinterOffline on failure."""

    def print_calling_ticket(self, ticket: CallingTicket) -> None:
        """Print and cut a check-in's calling ticket; the same errors as print_ticket."""

    def status(self) -> dict[str, str]:
        """Return the printer's state for the health report (online, paper)."""
