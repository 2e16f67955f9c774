"""A serial 2-D barcode scanner (USB-CDC or RS-232): one code per line, read by pyserial."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

try:
    import serial
except ImportError as exc:  # pragma: no cover - pyserial is a core dependency
    raise ImportError("the serial barcode scanner needs pyserial") from exc

from drivers.barcode_scanner.protocol import ScanEvent, ScannerStateChanged, parse_scan

log = logging.getLogger(__name__)
_LINE_END = re.compile(rb"\r\n|\r|\n")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SerialBarcodeScanner:
    """Reads CR/LF-terminated codes; survives unplugging by reopening the port."""

    is_simulated = False

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        *,
        repeat_window_s: float = 1.0,
        reopen_interval_s: float = 1.0,
        max_length: int = 2048,
        line_gap_s: float = 0.5,
        stop_timeout_s: float = 2.0,
    ) -> None:
        """Remember the port; nothing is opened until start()."""
        self.port = port
        self.baudrate = baudrate
        self.repeat_window_s = repeat_window_s  # scanners in continuous mode repeat a code
        self.reopen_interval_s = reopen_interval_s
        self.max_length = max_length
        # A scanner sends a code in one burst: bytes followed by this much silence without a
        # line end are a whole code from a scanner set up without a suffix, not the start of
        # the next scan (which would otherwise be glued to it, or wait forever).
        self.line_gap_s = line_gap_s
        self.stop_timeout_s = stop_timeout_s
        self._listener: Callable[[ScanEvent], None] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._available = False
        self._detail = "not started"
        self._last: tuple[str, float] = ("", 0.0)

    def start(self, listener: Callable[[ScanEvent], None]) -> None:
        """Start the reading thread (after a stop() that returned False: once it has ended)."""
        if self._thread is not None and self._thread.is_alive():
            if self._stop.is_set():
                raise RuntimeError("barcode scanner still stopping")
            return
        self._listener = listener
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="barcode-scanner", daemon=True)
        self._thread.start()

    def stop(self) -> bool:
        """Stop the thread and close the port; True once the thread has ended (normally ~0.1 s).

        False when it has not within stop_timeout_s: status() then says "stopping", not offline.
        """
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout=self.stop_timeout_s)
        if thread.is_alive():
            log.warning(
                "barcode scanner on %s: reading thread still busy after %.1f s",
                self.port,
                self.stop_timeout_s,
            )
            return False
        self._thread = None
        return True

    def status(self) -> dict[str, str]:
        """Return {"state": online|offline|stopping, "driver": "serial", "detail": ...}."""
        thread = self._thread
        if thread is not None and self._stop.is_set() and thread.is_alive():
            return {"state": "stopping", "driver": "serial", "detail": "reading thread busy"}
        return {
            "state": "online" if self._available else "offline",
            "driver": "serial",
            "detail": self._detail,
        }

    # -- the reading thread ---------------------------------------------------------------------

    def _run(self) -> None:
        """Open, read lines, and reopen after the device goes away, until stopped."""
        while not self._stop.is_set():
            try:
                port = serial.Serial(self.port, self.baudrate, timeout=0.1)
            except (OSError, serial.SerialException) as exc:
                self._set_available(False, f"cannot open {self.port}: {exc.strerror or exc}")
                self._stop.wait(self.reopen_interval_s)
                continue
            self._set_available(True, f"listening on {self.port} at {self.baudrate} baud")
            try:
                self._read_lines(port)
            except (OSError, serial.SerialException) as exc:
                self._set_available(False, f"{self.port} went away: {exc}")
            finally:
                port.close()

    def _read_lines(self, port: serial.Serial) -> None:
        """Deliver every complete line until stopped or the port fails."""
        pending, overflowed = b"", False
        last_byte_at = time.monotonic()
        while not self._stop.is_set():
            data = port.read(256)
            now = time.monotonic()
            if data:
                last_byte_at = now
            elif (pending or overflowed) and now - last_byte_at >= self.line_gap_s:
                if pending and not overflowed:
                    log.warning(
                        "barcode scanner on %s: %d bytes without a line end taken as "
                        "one code after %.1f s of silence (suffix not set?)",
                        self.port,
                        len(pending),
                        self.line_gap_s,
                    )
                    self._deliver(pending)
                pending, overflowed = b"", False
                continue
            pending += data
            *lines, pending = _LINE_END.split(pending)
            if lines and overflowed:  # the tail of an over-long line: drop it too
                lines, overflowed = lines[1:], False
            for line in lines:
                self._deliver(line)
            if len(pending) > self.max_length:
                if not overflowed:
                    log.warning(
                        "barcode scanner on %s: over %d bytes without a line end "
                        "dropped (terminator setting wrong?)",
                        self.port,
                        self.max_length,
                    )
                pending, overflowed = b"", True

    def _deliver(self, line: bytes) -> None:
        """Decode one line and pass it on, skipping empty lines and quick repeats."""
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("latin-1")
        text = _CONTROL.sub("", text).strip()
        if not text:
            return
        now = time.monotonic()
        if text == self._last[0] and now - self._last[1] < self.repeat_window_s:
            self._last = (text, now)
            return
        self._last = (text, now)
        log.info("barcode scanner: %d characters read", len(text))  # content may be personal
        if self._listener is not None:
            self._listener(parse_scan(text))

    def _set_available(self, available: bool, detail: str) -> None:
        """Record availability and report changes."""
        changed = available != self._available or self._detail == "not started"
        self._available, self._detail = available, detail
        if changed:
            (log.info if available else log.warning)("barcode scanner: %s", detail)
            if self._listener is not None:
                self._listener(ScannerStateChanged(available, detail))
