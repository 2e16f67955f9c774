"""One PC/SC card connection with deadlines: its own context and thread, typed transport errors.

Why a thread per connection: pyscard's SCardTransmit blocks until the reader driver answers, and
neither SCardCancel nor a timeout of ours can interrupt it (vpcd waits for a mute card forever;
a real reader waits its own block-waiting time, which a card may stretch with WTX requests).
pyscard releases the GIL inside the call, so the link runs every PC/SC call of its connection on
its own worker thread, on its own PC/SC context, and the caller waits for the answer in short
slices with a deadline. When the deadline passes the call is abandoned: the worker stays blocked
inside pcscd until the card is pulled (or the reader gives up), then disconnects and releases
its context by itself. The monitor's context is never involved, so it keeps watching both
slots meanwhile (pcscd serves each slot and each context independently; checked with a mute
card and a mute SAM on vpcd). A worker process, as for SANE, would add a process start per card
and pickling per APDU, and gain nothing here: nothing is left in a bad state in our process.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from smartcard import scard

log = logging.getLogger(__name__)

T = TypeVar("T")
WAIT_SLICE_S = 0.05  # how often a waiting caller looks at stop() and at the card's presence
SHARING_PATIENCE_S = 0.5  # how long SCardConnect retries while an abandoned link holds the card
Abort = Callable[[], Exception | None]  # returns the exception that ends the wait early, or None


class PcscGone(Exception):
    """The PC/SC context is unusable (pcscd stopped, reader unplugged): start afresh."""


class TransportError(Exception):
    """A PC/SC call about a card failed; `code` is the SCARD_* result."""

    def __init__(self, code: int, what: str) -> None:
        """Keep the code and a readable message."""
        self.code = code
        super().__init__(f"{what}: {scard.SCardGetErrorMessage(code)} (0x{code & 0xFFFFFFFF:08X})")


class Cancelled(Exception):
    """The reader is stopping; the read is abandoned between two APDUs."""


class NoAnswer(Exception):
    """The card or SAM did not answer within its deadline; the connection was abandoned."""

    def __init__(self, what: str, waited_s: float, *, whole_read: bool = False) -> None:
        """Say which command went unanswered and for how long."""
        self.waited_s = waited_s
        self.whole_read = whole_read  # the read's own deadline ran out (not the APDU's)
        limit = " (the read's deadline)" if whole_read else ""
        super().__init__(f"{what}: no answer within {waited_s:.1f} s{limit}")


class PcscWorker:
    """A daemon thread running PC/SC calls in order, so a caller can stop waiting for one."""

    def __init__(self, name: str) -> None:
        """Start the thread."""
        self._calls: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._in_flight = 0  # calls submitted and not yet finished
        self._count_lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        """Run calls until told to end; a call's exception is its caller's business."""
        while True:
            call = self._calls.get()
            if call is None:
                return
            call()

    def submit(self, fn: Callable[[], T]) -> tuple[threading.Event, list[Any]]:
        """Queue `fn`; the event is set once `box` holds ("ok", value) or ("error", exc)."""
        done = threading.Event()
        box: list[Any] = []

        def call() -> None:
            try:
                box.append(("ok", fn()))
            except BaseException as exc:  # handed to the waiting caller
                box.append(("error", exc))
            with self._count_lock:
                self._in_flight -= 1
            done.set()

        with self._count_lock:
            self._in_flight += 1
        self._calls.put(call)
        return done, box

    def run(
        self,
        fn: Callable[[], T],
        timeout: float,
        what: str,
        stop: threading.Event | None = None,
        dispose: Callable[[T], None] | None = None,
    ) -> T:
        """Run `fn` and return its result; NoAnswer when it takes longer than `timeout` or an
        abandoned call still blocks the thread (nothing queues behind it), Cancelled on `stop`.
        A result that comes after the caller gave up goes to `dispose` (e.g. a context)."""
        with self._count_lock:
            blocked = self._in_flight > 0
        if blocked:
            raise NoAnswer(f"{what} (an earlier call is still unanswered)", 0.0)
        done, box = self.submit(fn)
        end = time.monotonic() + timeout
        while not done.wait(min(WAIT_SLICE_S, max(0.0, end - time.monotonic()))):
            given_up: Exception | None = None
            if stop is not None and stop.is_set():
                given_up = Cancelled("reader stopping")
            elif time.monotonic() >= end:
                given_up = NoAnswer(what, timeout)
            if given_up is not None:
                if dispose is not None:  # runs after the late call, on this same thread
                    self.post(lambda: _dispose_late(box, dispose))
                raise given_up
        kind, value = box[0]
        if kind == "error":
            raise value
        result: T = value
        return result

    def post(self, fn: Callable[[], None]) -> None:
        """Queue `fn` without waiting (cleanup after an abandoned call)."""
        self._calls.put(fn)

    def end(self) -> None:
        """Let the thread end once the queued calls are done."""
        self._calls.put(None)


def _dispose_late(box: list[Any], dispose: Callable[[Any], None]) -> None:
    """Hand a result nobody waited for to `dispose`; its errors are only logged."""
    if box and box[0][0] == "ok":
        try:
            dispose(box[0][1])
        except Exception:
            log.exception("disposing of a late PC/SC result failed")


class CardLink:
    """A connected card on a private context; `transmit` has an APDU and a whole-read deadline."""

    def __init__(
        self,
        reader: str,
        stop: threading.Event,
        *,
        apdu_timeout_s: float,
        deadline: float | None = None,
        abort: Abort | None = None,
        label: str = "card",
    ) -> None:
        """Prepare a link to `reader`; open() connects. `deadline` is time.monotonic()-based."""
        self.reader = reader
        self.label = label
        self.atr = b""
        self.apdu_timeout_s = apdu_timeout_s
        self.deadline = deadline
        self._stop = stop
        self.abort = abort
        self._ctx: int | None = None
        self._hcard: int | None = None
        self._protocol = 0
        self.abandoned = False  # a call outlived its deadline: the link is unusable
        self._worker = PcscWorker(f"pcsc-{label}")

    # -- running a call with a deadline --------------------------------------------------------
    def _call(self, fn: Callable[[], T], what: str) -> T:
        """Run `fn` on the worker; raise NoAnswer when it outlives the APDU or read deadline."""
        if self.abandoned:
            raise NoAnswer(f"{self.label} {what} (link already abandoned)", 0.0)
        if self._stop.is_set():
            raise Cancelled("reader stopping")
        started = time.monotonic()
        limit, whole_read = started + self.apdu_timeout_s, False
        if self.deadline is not None and self.deadline < limit:
            limit, whole_read = self.deadline, True
        if limit <= started:
            raise NoAnswer(f"{self.label} {what}", 0.0, whole_read=True)
        done, box = self._worker.submit(fn)
        while not done.wait(min(WAIT_SLICE_S, max(0.0, limit - time.monotonic()))):
            if self._stop.is_set():
                self._abandon(what)
                raise Cancelled("reader stopping")
            reason = self.abort() if self.abort is not None else None
            if reason is not None:
                self._abandon(what)
                raise reason
            if time.monotonic() >= limit:
                self._abandon(what)
                raise NoAnswer(
                    f"{self.label} {what}", time.monotonic() - started, whole_read=whole_read
                )
        kind, value = box[0]
        if kind == "error":
            raise value
        result: T = value
        return result

    def _abandon(self, what: str) -> None:
        """Give up on the call in flight; the worker cleans up whenever pcscd lets it go."""
        self.abandoned = True
        log.warning(
            "%s on %r: %s abandoned (still in flight in pcscd)", self.label, self.reader, what
        )
        self._worker.post(self._release)
        self._worker.end()

    # -- PC/SC calls (run on the worker) -------------------------------------------------------
    def open(self) -> CardLink:
        """Connect (T=0 or T=1, exclusive) on a fresh context, read the ATR; closed on failure."""
        try:
            self._call(self._connect, "SCardConnect")
        except BaseException:
            self.close()
            raise
        return self

    def _connect(self) -> None:
        """Establish the private context, connect, read the ATR."""
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hr != scard.SCARD_S_SUCCESS:
            raise PcscGone(scard.SCardGetErrorMessage(hr))
        self._ctx = ctx
        # A connection abandoned a moment ago may still hold the card until pcscd lets its
        # worker go (right after the card left): allow it a short while.
        patience = time.monotonic() + SHARING_PATIENCE_S
        while True:
            hr, hcard, protocol = scard.SCardConnect(
                ctx, self.reader, scard.SCARD_SHARE_EXCLUSIVE,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
            )  # fmt: skip
            if hr != scard.SCARD_E_SHARING_VIOLATION or time.monotonic() > patience:
                break
            time.sleep(WAIT_SLICE_S)
        if hr != scard.SCARD_S_SUCCESS:
            raise TransportError(hr, f"SCardConnect({self.reader})")
        self._hcard, self._protocol = hcard, protocol
        hr, _name, _state, _proto, atr = scard.SCardStatus(hcard)
        if hr != scard.SCARD_S_SUCCESS:
            raise TransportError(hr, "SCardStatus")
        self.atr = bytes(atr)

    def transmit(self, apdu: bytes) -> bytes:
        """Send one APDU; TransportError, NoAnswer or Cancelled when it does not come back."""
        return self._call(lambda: self._transmit(apdu), f"APDU {apdu[:2].hex().upper()}")

    def _transmit(self, apdu: bytes) -> bytes:
        """SCardTransmit on the worker."""
        if self._hcard is None:
            raise TransportError(scard.SCARD_E_INVALID_HANDLE, "transmit after close")
        hr, response = scard.SCardTransmit(self._hcard, self._protocol, list(apdu))
        if hr != scard.SCARD_S_SUCCESS:
            raise TransportError(hr, "SCardTransmit")
        if len(response) < 2:  # vpcd and some readers report a torn card this way
            raise TransportError(scard.SCARD_E_NOT_TRANSACTED, "SCardTransmit (no status word)")
        return bytes(response)

    def close(self) -> None:
        """Disconnect (leaving the card powered) and release the context; never blocks."""
        if self.abandoned:
            return  # _abandon() already queued the release behind the blocked call
        self.abandoned = True
        self._worker.post(self._release)
        self._worker.end()

    def _release(self) -> None:
        """Disconnect and release the private context; errors ignored (runs on the worker)."""
        hcard, self._hcard = self._hcard, None
        ctx, self._ctx = self._ctx, None
        if hcard is not None:
            scard.SCardDisconnect(hcard, scard.SCARD_LEAVE_CARD)
        if ctx is not None:
            scard.SCardReleaseContext(ctx)

    @property
    def busy(self) -> bool:
        """True while the worker still runs (a call abandoned inside pcscd, or cleanup)."""
        return self._worker.thread.is_alive()
