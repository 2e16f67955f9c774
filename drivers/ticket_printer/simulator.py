"""A simulated 80 mm thermal printer: the real ESC/POS bytes, rendered by the emulator."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from drivers.errors import CoverOpen, PaperOut, PrinterOffline
from kiosk_app.domain.ticket import CallingTicket, Ticket

log = logging.getLogger(__name__)


class SimulatedTicketPrinter:
    """Ticket printer stand-in: keeps what it printed and writes PNGs to `out_dir` if given."""

    is_simulated = True

    def __init__(self, out_dir: Path | None = None) -> None:
        """Create an online printer with paper."""
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.printed: list[Image.Image] = []
        self.tickets: list[Ticket] = []
        self.calling_tickets: list[CallingTicket] = []
        self.printed_bytes: list[bytes] = []  # the ESC/POS bytes of each print, in order
        self.last_png_path: Path | None = None
        self._lock = threading.Lock()
        self._paper = True
        self._paper_near_end = False
        self._cover_open = False
        self._offline = False

    def print_ticket(self, ticket: Ticket) -> None:
        """Render and "print" `ticket`; raise PaperOut, CoverOpen or PrinterOffline on a fault."""
        from drivers.ticket_printer.layout import build_ticket  # imports escpos: lazily

        self._print(lambda: build_ticket(ticket), lambda: self.tickets.append(ticket))

    def print_calling_ticket(self, ticket: CallingTicket) -> None:
        """Render and "print" a check-in's calling ticket (the same faults)."""
        from drivers.ticket_printer.layout import build_calling_ticket

        self._print(
            lambda: build_calling_ticket(ticket), lambda: self.calling_tickets.append(ticket)
        )

    def _print(self, build: Callable[[], bytes], keep: Callable[[], None]) -> None:
        with self._lock:
            self._raise_fault()
            from drivers.ticket_printer.emulator.machine import render_bytes

            # The same bytes the serial driver sends, drawn as an 80 mm printer would print them.
            data = build()
            image = render_bytes(data)[0]
            self.printed.append(image)
            self.printed_bytes.append(data)
            keep()
            number = len(self.printed)
            if self.out_dir is not None:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                path = self.out_dir / f"ticket-{number:03d}.png"
                image.save(path, "PNG")
                self.last_png_path = path
        log.info("simulated ticket #%d printed (%dx%d)", number, *image.size)

    def status(self) -> dict[str, str]:
        """Return {"state": online|offline|cover_open|paper_out, "paper": ok|near_end|out}."""
        with self._lock:
            if self._offline:
                state = "offline"
            elif self._cover_open:
                state = "cover_open"
            elif not self._paper:
                state = "paper_out"
            else:
                state = "online"
            paper = "out" if not self._paper else "near_end" if self._paper_near_end else "ok"
            return {"state": state, "paper": paper, "driver": "simulated"}

    # -- faults on command ----------------------------------------------------------------------

    def set_paper(self, present: bool) -> None:
        """Load or run out of paper."""
        with self._lock:
            self._paper = present
            if present:
                self._paper_near_end = False

    def set_paper_near_end(self, near_end: bool) -> None:
        """Signal the paper-near-end sensor (printing still works)."""
        with self._lock:
            self._paper_near_end = near_end

    def set_cover_open(self, open_: bool) -> None:
        """Open or close the cover."""
        with self._lock:
            self._cover_open = open_

    def set_offline(self, offline: bool) -> None:
        """Make the printer stop answering (or come back)."""
        with self._lock:
            self._offline = offline

    def _raise_fault(self) -> None:
        """Raise the error a real printer would report first (caller holds the lock)."""
        if self._offline:
            raise PrinterOffline("simulated ticket printer offline")
        if self._cover_open:
            raise CoverOpen("simulated ticket printer cover open")
        if not self._paper:
            raise PaperOut("simulated ticket printer out of paper")
