"""A simulated e-KTP reader: fictional citizens, card insert/remove and faults on command."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from drivers.card_reader.citizens import citizen, citizen_count
from drivers.card_reader.protocol import (
    CardEvent,
    CardInserted,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
    ReaderStateChanged,
)
from drivers.errors import CardRemoved as CardRemovedError
from drivers.errors import CardUnreadable, DeviceError, NoReader

log = logging.getLogger(__name__)

_STOP = object()


class SimulatedCardReader:
    """Card reader stand-in; every event reaches the listener from one driver thread, in order."""

    is_simulated = True

    def __init__(self, read_delay_s: float = 0.3) -> None:
        """Create a stopped reader whose reads take `read_delay_s` seconds."""
        self.read_delay_s = max(0.0, float(read_delay_s))
        self._lock = threading.Lock()
        self._commands: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._listener: Callable[[CardEvent], None] | None = None
        self._available = True
        self._card_present = False
        self._reading = False
        self._fail_next: DeviceError | None = None
        self._stopping = False  # stop() called; the thread may not have ended yet
        self.stop_timeout_s = 5.0

    # -- protocol -------------------------------------------------------------------------------

    def start(self, listener: Callable[[CardEvent], None]) -> None:
        """Begin watching for cards; `listener` is called from the simulator's thread."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("card reader already started")
            self._listener = listener
            self._commands = queue.Queue()
            self._thread = threading.Thread(target=self._run, name="sim-card-reader", daemon=True)
            self._thread.start()

    def stop(self) -> bool:
        """Stop the event thread; True once it has ended, False (state "stopping") if not yet."""
        with self._lock:
            thread = self._thread
            self._card_present = False
            self._reading = False
            if thread is None:
                return True
            self._stopping = True
        self._commands.put(_STOP)
        thread.join(timeout=self.stop_timeout_s)
        if thread.is_alive():  # a listener is stuck; do not hang the caller forever
            log.warning(
                "simulated card reader thread did not stop within %.1f s", self.stop_timeout_s
            )
            return False
        with self._lock:
            if self._thread is thread:
                self._thread, self._stopping = None, False
        return True

    def status(self) -> dict[str, str]:
        """Return the reader's state for the health report."""
        with self._lock:
            if self._thread is None:
                state = "stopped"
            elif self._stopping:
                state = "stopping"
            elif not self._available:
                state = "unavailable"
            elif self._reading:
                state = "reading"
            elif self._card_present:
                state = "card_present"
            else:
                state = "ready"
            return {"state": state, "driver": "simulated", "card": str(self._card_present).lower()}

    # -- test and demo controls -----------------------------------------------------------------

    def insert_card(self, citizen_index: int = 0) -> bool:
        """Place citizen `citizen_index`'s card; False when refused (no reader, card in)."""
        if not isinstance(citizen_index, int) or not 0 <= citizen_index < citizen_count():
            raise ValueError(f"citizen index must be 0..{citizen_count() - 1}")
        with self._lock:
            if self._thread is None or self._stopping or not self._available or self._card_present:
                return False
            self._card_present = True
            self._reading = True
            self._commands.put(("insert", citizen_index))
        return True

    def remove_card(self) -> bool:
        """Take the card away (cancelling a read in progress); False when no card was in."""
        with self._lock:
            if self._thread is None or self._stopping or not self._card_present:
                return False
            was_reading = self._reading
            self._card_present = False
            self._reading = False
            self._commands.put(("remove", was_reading))
        return True

    def fail_next_read(self, error: DeviceError | None = None) -> None:
        """Make the next card read fail with `error` (default CardUnreadable)."""
        with self._lock:
            self._fail_next = error if error is not None else CardUnreadable("simulated fault")

    def set_available(self, available: bool, detail: str = "") -> None:
        """Plug or unplug the simulated reader; unplugging aborts a read with NoReader."""
        with self._lock:
            if available == self._available:
                return
            self._available = available
            was_present, was_reading = self._card_present, self._reading
            if not available:
                self._card_present = False
                self._reading = False
            if self._thread is not None:
                text = detail or ("reader connected" if available else "reader disconnected")
                self._commands.put(("available", available, text, was_present, was_reading))

    # -- event thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        """Serve commands; a pending read completes when its deadline passes."""
        commands = self._commands
        pending: tuple[float, int] | None = None  # (deadline, citizen index)
        while True:
            timeout = None if pending is None else max(0.0, pending[0] - time.monotonic())
            try:
                command = commands.get(timeout=timeout)
            except queue.Empty:
                assert pending is not None
                self._finish_read(pending[1])
                pending = None
                continue
            if command is _STOP:
                with self._lock:  # a stop() that gave up waiting learns the truth here
                    if self._thread is threading.current_thread():
                        self._thread, self._stopping = None, False
                return
            assert isinstance(command, tuple)
            kind = command[0]
            if kind == "insert":
                self._emit(CardInserted())
                pending = (time.monotonic() + self.read_delay_s, command[1])
            elif kind == "remove":
                if command[1] and pending is not None:  # pulled mid-read, as the PC/SC reader says
                    self._emit(CardReadFailed(CardRemovedError("card removed during the read")))
                pending = None
                self._emit(CardRemoved())
            elif kind == "available":
                _, available, text, was_present, was_reading = command
                if not available and was_reading and pending is not None:
                    self._emit(CardReadFailed(NoReader("simulated reader unplugged mid-read")))
                elif not available and was_present:
                    self._emit(CardRemoved())
                if not available:
                    pending = None
                self._emit(ReaderStateChanged(available=available, detail=text))

    def _finish_read(self, index: int) -> None:
        """Complete a read unless the card left meanwhile."""
        with self._lock:
            if not self._reading:
                return
            self._reading = False
            error, self._fail_next = self._fail_next, None
        if error is not None:
            self._emit(CardReadFailed(error))
        else:
            identity = citizen(index)
            log.info("simulated read of citizen #%d done", index)
            self._emit(IdentityRead(identity))

    def _emit(self, event: CardEvent) -> None:
        """Hand `event` to the listener; a failing listener must not kill the reader."""
        listener = self._listener
        if listener is None or self._stopping:
            return
        try:
            listener(event)
        except Exception:  # the driver thread must survive listener bugs
            log.exception("card event listener raised on %s", type(event).__name__)
