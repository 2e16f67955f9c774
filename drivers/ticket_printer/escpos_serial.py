"""The real ticket printer: ESC/POS over a serial line with DLE EOT status around each ticket."""

from __future__ import annotations

import logging
import termios
import threading
import time
from dataclasses import dataclass

from drivers.errors import CoverOpen, DeviceError, PaperOut, PrinterFault, PrinterOffline
from drivers.ticket_printer.layout import TicketProfile, build_calling_ticket, build_ticket
from kiosk_app.domain.ticket import CallingTicket, Ticket

try:
    import serial
    from escpos.constants import RT_STATUS
    from escpos.exceptions import DeviceNotFoundError
    from escpos.printer import Serial
except ImportError as exc:  # pragma: no cover - exercised only without the devices extra
    raise ImportError(
        "the ESC/POS ticket printer needs python-escpos and pyserial: "
        "pip install 'anjungan[devices]'"
    ) from exc

log = logging.getLogger(__name__)
DRAIN_MARGIN_S = 2.0  # beyond a ticket's wire time, how long the OS may take to send it
_PORT_ERRORS = (OSError, serial.SerialException, termios.error)  # a vanished tty raises all three


@dataclass(frozen=True)
class PrinterStatus:
    """What DLE EOT 1-4 said; `answered` is False when the printer stayed silent."""

    answered: bool
    offline: bool = False
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: bool = False
    detail: str = ""

    @property
    def state(self) -> str:
        """online | offline | cover_open | paper_out | error, worst first."""
        if not self.answered:
            return "offline"
        if self.cover_open:
            return "cover_open"
        if self.paper_out:
            return "paper_out"
        if self.error:
            return "error"
        return "offline" if self.offline else "online"

    @property
    def paper(self) -> str:
        """ok | near_end | out | unknown."""
        if not self.answered:
            return "unknown"
        return "out" if self.paper_out else "near_end" if self.paper_near_end else "ok"

    def error_to_raise(self, port: str, when: str) -> DeviceError | None:
        """The DeviceError this status means for printing, or None when printing may go on."""
        where = f"ticket printer on {port} {when}"
        if not self.answered:
            return PrinterOffline(f"{where}: no answer to DLE EOT ({self.detail})")
        if self.cover_open:
            return CoverOpen(f"{where}: cover open")
        if self.paper_out:
            return PaperOut(f"{where}: paper end sensor")
        if self.error:
            return PrinterFault(f"{where}: printer error ({self.detail})")
        if self.offline:
            return PrinterOffline(f"{where}: printer reports offline")
        return None


class _StatusSerial(Serial):  # type: ignore[misc]  # python-escpos is untyped: Serial is Any
    """python-escpos Serial whose status read returns after the one byte a DLE EOT answers."""

    def _read(self) -> bytes:
        """Read one status byte (the base class waits for 16, i.e. always the full timeout)."""
        return bytes(self.device.read(1))


def _valid(byte: int) -> bool:
    """DLE EOT answers have bits 1 and 4 set and bits 0 and 7 clear."""
    return byte & 0x93 == 0x12


class EscposSerialTicketPrinter:
    """An 80 mm ESC/POS printer on a serial port (RS-232 or USB-CDC)."""

    is_simulated = False

    def __init__(
        self,
        port: str,
        baudrate: int = 38400,
        profile: TicketProfile | None = None,
        status_timeout_s: float = 0.5,
        write_timeout_s: float | None = None,
    ) -> None:
        """Remember the port; it is opened on first use and reopened after a failure."""
        self.port = port
        self.baudrate = baudrate
        self.profile = profile or TicketProfile()
        self.status_timeout_s = status_timeout_s
        # A write blocks while the printer holds the line off (its buffer full, or hung): allow
        # the largest ticket's wire time plus 5 s, then call the printer offline.
        self.write_timeout_s = (
            write_timeout_s if write_timeout_s is not None else 5 + 20_000 * 10 / baudrate
        )
        self.last_status = PrinterStatus(answered=False, detail="not asked yet")
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._printer: _StatusSerial | None = None

    # -- TicketPrinter --------------------------------------------------------------------------

    def print_ticket(self, ticket: Ticket) -> None:
        """Check status, send the ticket, check status again; raise a DeviceError on a fault."""
        self._print(build_ticket(ticket, self.profile), f"ticket {ticket.queue_number}")

    def print_calling_ticket(self, ticket: CallingTicket) -> None:
        """Print a check-in's calling ticket the same way (status, bytes, status)."""
        self._print(
            build_calling_ticket(ticket, self.profile), f"calling ticket {ticket.calling_number}"
        )

    def _print(self, data: bytes, what: str) -> None:
        with self._lock:
            before = self._query()
            error = before.error_to_raise(self.port, "before printing")
            if error is not None:
                log.warning("%s", error)
                raise error
            self._send(data)
            # The answer queues behind the ticket on the wire: allow for its transfer time.
            after = self._query(len(data) * 10 / self.baudrate)
        error = after.error_to_raise(self.port, "after printing")
        if error is not None:
            log.warning("%s; the ticket may be incomplete", error)
            raise error
        if after.paper_near_end:
            log.warning("ticket printer on %s: paper near end, refill soon", self.port)
        log.info("%s printed on %s (%d bytes)", what, self.port, len(data))

    def status(self) -> dict[str, str]:
        """Ask the printer (DLE EOT); return {"state", "paper", "driver"} for the health report."""
        with self._lock:
            st = self._query()
        return {"state": st.state, "paper": st.paper, "driver": "escpos_serial"}

    def close(self) -> None:
        """Release the serial port."""
        with self._lock:
            self._close()

    # -- the line -------------------------------------------------------------------------------

    def _open(self) -> _StatusSerial:
        """Open the port (caller holds the lock); PrinterOffline when it is not there."""
        if self._printer is not None:
            return self._printer
        printer = _StatusSerial(
            devfile=self.port,
            baudrate=self.baudrate,
            timeout=self.status_timeout_s,
            dsrdtr=False,
            profile=self.profile.model,
        )
        try:
            printer.open()
        except DeviceNotFoundError as exc:
            raise PrinterOffline(
                f"ticket printer port {self.port} cannot be opened: {str(exc).splitlines()[-1]}"
            ) from exc
        printer.device.write_timeout = self.write_timeout_s  # never block forever
        self._printer = printer
        return printer

    def _close(self) -> None:
        """Drop the port so the next use reopens it (the caller holds the lock)."""
        if self._printer is not None:
            try:
                self._printer.device.close()
            except _PORT_ERRORS:
                pass
            self._printer.device = False  # so python-escpos's __del__ does not flush a dead port
            self._printer = None

    def _send(self, data: bytes) -> None:
        """Write the ticket and wait (bounded) until the OS has passed it on."""
        printer = self._open()
        try:
            printer._raw(data)
            self._drain(printer, len(data))
        except _PORT_ERRORS as exc:
            self._close()
            raise PrinterOffline(f"ticket printer on {self.port}: write failed: {exc}") from exc
        self.bytes_sent += len(data)

    def _drain(self, printer: _StatusSerial, nbytes: int) -> None:
        """Wait until the OS output queue is empty, at most the wire time plus a margin.

        pyserial's flush() is tcdrain(), which waits without any limit while a printer holds
        the line off (CTS low, a USB endpoint that keeps NAKing); polling TIOCOUTQ does not.
        """
        deadline = time.monotonic() + nbytes * 10 / self.baudrate + DRAIN_MARGIN_S
        while printer.device.out_waiting:
            if time.monotonic() > deadline:
                self._close()
                raise PrinterOffline(
                    f"ticket printer on {self.port}: output not taken within "
                    f"{DRAIN_MARGIN_S:.0f} s of its wire time (line held off)"
                )
            time.sleep(0.01)

    def _query(self, extra_wait_s: float = 0.0) -> PrinterStatus:
        """Ask DLE EOT 1, 2, 4 (and 3 on error) and decode the answers."""
        try:
            printer = self._open()
        except PrinterOffline as exc:
            self.last_status = PrinterStatus(answered=False, detail=str(exc))
            return self.last_status
        try:
            printer.device.reset_input_buffer()  # drop late answers to an earlier query
            answers: dict[int, int] = {}
            for n in (1, 2, 4):
                byte = self._ask(printer, n, extra_wait_s if n == 1 else 0.0)
                if byte is None:
                    self.last_status = PrinterStatus(
                        answered=False, detail=f"no answer to DLE EOT {n} at {self.baudrate} baud"
                    )
                    return self.last_status
                answers[n] = byte
            if answers[2] & 0x40:
                answers[3] = self._ask(printer, 3) or 0x12
        except _PORT_ERRORS as exc:
            self._close()
            self.last_status = PrinterStatus(answered=False, detail=f"port error: {exc}")
            return self.last_status
        self.last_status = _decode(answers)
        return self.last_status

    def _ask(self, printer: _StatusSerial, n: int, extra_wait_s: float = 0.0) -> int | None:
        """Send DLE EOT n and return the answer byte, or None when silent or garbled."""
        printer.device.timeout = self.status_timeout_s + extra_wait_s
        started = time.monotonic()
        reply = printer.query_status(RT_STATUS + bytes([n]))
        if not reply:
            log.debug("DLE EOT %d: silent after %.2f s", n, time.monotonic() - started)
            return None
        if not _valid(reply[0]):
            log.warning(
                "ticket printer on %s: garbled status 0x%02x (baud rate mismatch?)",
                self.port,
                reply[0],
            )
            return None
        return int(reply[0])


def _decode(answers: dict[int, int]) -> PrinterStatus:
    """Turn the DLE EOT answer bytes into a PrinterStatus."""
    offline_cause, paper = answers[2], answers[4]
    error_cause = answers.get(3, 0x12)
    details = [
        name
        for bit, name in (
            (0x08, "autocutter error"),
            (0x20, "unrecoverable error"),
            (0x40, "auto-recoverable error"),
        )
        if error_cause & bit
    ]
    return PrinterStatus(
        answered=True,
        offline=bool(answers[1] & 0x08),
        cover_open=bool(offline_cause & 0x04),
        paper_out=bool(offline_cause & 0x20 or paper & 0x60),
        paper_near_end=bool(paper & 0x0C),
        error=bool(offline_cause & 0x40),
        detail=", ".join(details),
    )
