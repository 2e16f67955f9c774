"""A simulated barcode scanner: scans on command, can be unplugged."""

from __future__ import annotations

import threading
from collections.abc import Callable

from drivers.barcode_scanner.protocol import ScanEvent, ScannerStateChanged, parse_scan


class SimulatedBarcodeScanner:
    """Scanner stand-in: `scan(text)` delivers a read as the serial driver would."""

    is_simulated = True

    def __init__(self) -> None:
        """Create a connected scanner that is not listening yet."""
        self._listener: Callable[[ScanEvent], None] | None = None
        self._available = True
        self._lock = threading.Lock()

    def start(self, listener: Callable[[ScanEvent], None]) -> None:
        """Begin delivering scans to `listener`."""
        with self._lock:
            self._listener = listener

    def stop(self) -> bool:
        """Stop delivering scans (no thread of its own: always done at once)."""
        with self._lock:
            self._listener = None
        return True

    def status(self) -> dict[str, str]:
        """Return {"state": online|offline, "driver": "simulated"}."""
        return {"state": "online" if self._available else "offline", "driver": "simulated"}

    def scan(self, raw: str) -> bool:
        """Read a code (an AIM prefix such as ]Q1 is honoured); False when nobody listens."""
        with self._lock:
            listener = self._listener if self._available else None
        if listener is None:
            return False
        listener(parse_scan(raw))
        return True

    def set_available(self, available: bool) -> None:
        """Plug the scanner in or pull it out."""
        with self._lock:
            changed = available != self._available
            self._available = available
            listener = self._listener
        if changed and listener is not None:
            listener(
                ScannerStateChanged(
                    available, "simulated " + ("plugged in" if available else "unplugged")
                )
            )
