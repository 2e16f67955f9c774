"""The emulated printer on a pty: the host opens the link path like a real serial port."""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from pathlib import Path

from drivers.pty_link import PtyLink
from drivers.ticket_printer.emulator.machine import EscposMachine, Faults, PrintedTicket
from drivers.ticket_printer.emulator.paper import WIDTH

log = logging.getLogger(__name__)

FAULTS = ("paper_out", "paper_near_end", "cover_open", "cutter_error", "silent")


class EscposEmulator:
    """An 80 mm ESC/POS printer behind a pty pair, throttled to a baud rate like a real wire."""

    def __init__(
        self,
        link: Path | str,
        png_dir: Path | str | None = None,
        baudrate: int | None = None,
        width: int = WIDTH,
    ) -> None:
        """Prepare a printer at `link`; `baudrate` None means no throttling (fast tests)."""
        self.link = Path(link)
        self.png_dir = Path(png_dir) if png_dir is not None else None
        self.baudrate = baudrate
        self.machine = EscposMachine(width, on_ticket=self._save)
        self.png_paths: list[Path] = []
        self._port = PtyLink(self.link)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wire_free_at = 0.0
        self._read_budget: int | None = None  # bytes left to read before stalling; None: no limit

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> EscposEmulator:
        """Open the pty pair, link it and start answering."""
        self._port.open(blocking=False)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="escpos-emulator", daemon=True)
        self._thread.start()
        log.info("ESC/POS emulator on %s (baud %s)", self.link, self.baudrate or "unthrottled")
        return self

    def stop(self) -> None:
        """Stop answering, remove the link and close the pty."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self._port.close()

    def __enter__(self) -> EscposEmulator:
        """Start on entering a with block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on leaving it."""
        self.stop()

    # -- faults on command ----------------------------------------------------------------------

    def set_fault(self, name: str, on: bool = True) -> None:
        """Switch a fault: paper_out, paper_near_end, cover_open, cutter_error or silent."""
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        with self.machine.lock:
            setattr(self.machine.faults, name, on)
            if name == "paper_out" and not on:
                self.machine.faults.paper_left_bytes = None
        log.info("ESC/POS emulator: %s %s", name, "on" if on else "off")

    def run_out_of_paper_after(self, nbytes: int) -> None:
        """Let the paper end after `nbytes` more bytes (mid-ticket failures)."""
        with self.machine.lock:
            self.machine.faults.paper_left_bytes = nbytes

    def stall(self, on: bool = True) -> None:
        """Stop (or resume) reading the wire, like a printer holding the line off: the host's
        bytes pile up in the pty and its status queries go unanswered."""
        self._read_budget = 0 if on else None
        log.info("ESC/POS emulator: %s", "stalled" if on else "reading again")

    def stall_after(self, nbytes: int) -> None:
        """Read `nbytes` more bytes, then stall (a printer hanging mid-ticket)."""
        self._read_budget = nbytes

    @property
    def faults(self) -> Faults:
        """The current fault switches."""
        return self.machine.faults

    @property
    def tickets(self) -> list[PrintedTicket]:
        """Tickets cut so far, oldest first."""
        return self.machine.tickets

    # -- the wire -------------------------------------------------------------------------------

    def _run(self) -> None:
        """Read the host's bytes, throttled to the baud rate, and answer."""
        chunk = 4096 if not self.baudrate else max(16, self.baudrate // 1000)  # ~10 ms of wire
        while not self._stop.is_set():
            budget = self._read_budget
            if budget == 0:
                self._stop.wait(0.02)
                continue
            try:
                ready, _, _ = select.select([self._port.master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(self._port.master, chunk if budget is None else min(chunk, budget))
            except BlockingIOError:
                continue
            except OSError:  # the host closed its side (EIO): wait for it to reopen
                time.sleep(0.02)
                continue
            if not data:
                continue
            if budget is not None and self._read_budget is not None:
                self._read_budget = max(0, self._read_budget - len(data))
            self._wire(len(data))
            reply = self.machine.feed(data)
            if reply:
                self._wire(len(reply))
                self._write(reply)

    def _wire(self, nbytes: int) -> None:
        """Sleep until `nbytes` would have crossed the wire (10 bits a byte: 8N1)."""
        if not self.baudrate:
            return
        now = time.monotonic()
        self._wire_free_at = max(now, self._wire_free_at) + nbytes * 10 / self.baudrate
        delay = self._wire_free_at - now
        if delay > 0:
            time.sleep(delay)

    def _write(self, data: bytes) -> None:
        """Send bytes back to the host."""
        try:
            os.write(self._port.master, data)
        except OSError as exc:
            log.warning("ESC/POS emulator: reply lost: %s", exc)

    def _save(self, ticket: PrintedTicket) -> None:
        """Write a cut ticket to png_dir as ticket-NNN.png."""
        if self.png_dir is None:
            return
        self.png_dir.mkdir(parents=True, exist_ok=True)
        path = self.png_dir / f"ticket-{len(self.machine.tickets):03d}.png"
        ticket.image.save(path, "PNG")
        self.png_paths.append(path)
        log.info("ESC/POS emulator: ticket written to %s", path)
