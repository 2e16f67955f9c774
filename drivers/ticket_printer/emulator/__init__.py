"""An ESC/POS 80 mm printer emulator: parser, paper renderer and a pty-backed device."""

from drivers.ticket_printer.emulator.device import FAULTS, EscposEmulator
from drivers.ticket_printer.emulator.machine import (
    EscposMachine,
    Faults,
    PrintedTicket,
    render_bytes,
)

__all__ = ["FAULTS", "EscposEmulator", "EscposMachine", "Faults", "PrintedTicket", "render_bytes"]
