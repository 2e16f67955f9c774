"""The e-KTP reader on a real PC/SC stack (pyscard scard layer) with its own recovering monitor."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from smartcard import scard

from drivers.card_reader import tlv
from drivers.card_reader.iso7816 import (
    FileNotFound,
    Iso7816,
    MalformedResponse,
    StatusWordError,
)
from drivers.card_reader.pcsc_link import (
    Abort,
    Cancelled,
    CardLink,
    NoAnswer,
    PcscGone,
    PcscWorker,
    TransportError,
)
from drivers.card_reader.pcsc_settings import COARSE, PcscSettings, ReaderState, card_wants_extended
from drivers.card_reader.profiles import CardData, get_profile
from drivers.card_reader.profiles.sam import PcscSam
from drivers.card_reader.protocol import (
    CardEvent,
    CardInserted,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
    ReaderStateChanged,
    UidOnlyCard,
)
from drivers.errors import (
    CardNotResponding,
    CardUnreadable,
    DeviceError,
    NoReader,
    SamFault,
    SamMissing,
)
from drivers.errors import CardRemoved as CardRemovedError
from kiosk_app.domain.identity import mask_nik

__all__ = ["PcscCardReader", "PcscSettings", "ReaderState"]

log = logging.getLogger(__name__)

PNP = "\\\\?PnP?\\Notification"
REMOVAL_GRACE_MS = 1000
PROBE_TIMEOUT_S = 1.0  # pcscd leaves a question unanswered this long beyond its own wait: hung
_GONE = {
    scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_E_INVALID_HANDLE,
    scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE, scard.SCARD_F_COMM_ERROR,
    scard.SCARD_E_NO_READERS_AVAILABLE, scard.SCARD_F_INTERNAL_ERROR,
}  # fmt: skip


def _release_late_context(result: tuple[int, int]) -> None:
    """A context pcscd granted after we stopped waiting: give it back."""
    hr, ctx = result
    if hr == scard.SCARD_S_SUCCESS:
        scard.SCardReleaseContext(ctx)


class PcscCardReader:
    """CardReader over pcscd: one monitor thread owns the PC/SC context and every card."""

    is_simulated = False

    def __init__(self, settings: PcscSettings | None = None) -> None:
        """Create a stopped reader."""
        self.settings = settings or PcscSettings()
        self.profile = get_profile(self.settings.profile)
        self._card_re = re.compile(self.settings.reader_pattern)
        self._sam_re = re.compile(self.settings.sam_pattern)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: Callable[[CardEvent], None] | None = None
        self._ctx: int | None = None
        self._state = ReaderState.STOPPED
        self._detail = ""
        self._available = True  # what the listener was last told (True is the services' default)
        self._card_reader: str | None = None
        self._sam_reader: str | None = None
        self._card_event = -1  # pcscd's per-reader event counter when we last saw the card
        self._card_in = False
        self._sam_in = False
        self._sam: PcscSam | None = None
        self._sam_link: CardLink | None = None
        self._sam_fault = ""  # why the SAM last failed ("" when it answers); cleared by a probe
        self._sam_probed = 0.0
        # Questions to pcscd asked while a read waits (is the card still there, is pcscd
        # alive) go through this thread with a deadline, so a hung pcscd cannot hold the read.
        self._probe: PcscWorker | None = None
        self._data: CardData | None = None
        self.reads = 0

    # -- protocol -------------------------------------------------------------------------------
    def start(self, listener: Callable[[CardEvent], None]) -> None:
        """Begin watching readers and cards; `listener` runs on the monitor thread."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("card reader already started")
            self._listener = listener
            self._stop.clear()
            self._state = ReaderState.NO_SERVICE
            self._probe = PcscWorker("pcsc-probe")
            self._thread = threading.Thread(target=self._run, name="pcsc-card-reader", daemon=True)
            self._thread.start()

    def stop(self) -> bool:
        """Stop the monitor; True once its thread has ended, False (state "stopping") if not yet.

        Safe to call again: a later call waits again and reports the truth then.
        """
        with self._lock:
            thread = self._thread
            ctx = self._ctx
        if thread is None:
            return True
        self._stop.set()
        if ctx is not None:
            # SCardCancel wakes a blocking SCardGetStatusChange at once, but it is a request to
            # pcscd too: a hung pcscd would hang stop() with it, so it gets its own thread.
            threading.Thread(
                target=scard.SCardCancel, args=(ctx,), name="pcsc-cancel", daemon=True
            ).start()
        thread.join(timeout=self.settings.stop_timeout_s)
        with self._lock:
            if thread.is_alive():
                self._state = ReaderState.STOPPING
                self._detail = "monitor thread still inside a PC/SC call"
                alive = True
            else:
                if self._thread is thread:
                    self._thread = None
                self._state = ReaderState.STOPPED
                self._wipe()
                alive = False
        if alive:
            log.warning(
                "PC/SC monitor still busy %.1f s after stop (blocked in pcscd)",
                self.settings.stop_timeout_s,
            )
        return not alive

    def status(self) -> dict[str, str]:
        """Return the coarse state, the PC/SC state machine's state and why."""
        with self._lock:
            state = COARSE[self._state]
            if state not in ("stopped", "stopping", "unavailable") and self._sam_word() in (
                "missing",
                "fault",
            ):
                state = "unavailable"  # no e-KTP can be read: the fleet raises its reader alert
            return {
                "state": state,
                "pcsc_state": self._state.value,
                "driver": "pcsc",
                "profile": self.profile.name,
                "detail": self._detail,
                "reader": self._card_reader or "",
                "sam": self._sam_word(),
                "card": str(self._card_in).lower(),
            }

    def _sam_word(self) -> str:
        """present | missing | fault | not needed (caller holds the lock)."""
        if not self.profile.needs_sam:
            return "not needed"
        if not self._sam_in:
            return "missing"
        return "fault" if self._sam_fault else "present"

    def match_fingerprint(self, template: bytes) -> bool:
        """True when `template` matches a finger on the card in the reader (minutiae stay here)."""
        with self._lock:
            data = self._data
        return bool(data and data.fingerprints and data.fingerprints.match(template))

    # -- monitor thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        """Watch, read, recover; never let an exception end the thread."""
        while not self._stop.is_set():
            try:
                self._step()
            except Cancelled:
                break
            except PcscGone as exc:
                self._lost(ReaderState.NO_SERVICE, f"PC/SC service lost: {exc}")
                self._stop.wait(self.settings.poll_s)
            except Exception:
                log.exception("PC/SC monitor error; starting over with a fresh context")
                self._lost(ReaderState.NO_SERVICE, "internal error; reconnecting")
                self._stop.wait(self.settings.poll_s)
        self._close_sam()
        self._release_context()
        if self._probe is not None:
            self._probe.end()
        with self._lock:  # a stop() that gave up waiting learns the truth here
            if self._thread is threading.current_thread():
                self._thread = None
                self._state = ReaderState.STOPPED
                self._wipe()

    def _step(self) -> None:
        """One turn: get a context, find readers, wait for a change, act on it."""
        if self._ctx is None:
            try:
                hr, ctx = self._pcsc(
                    lambda: scard.SCardEstablishContext(scard.SCARD_SCOPE_USER), 0.0,
                    "SCardEstablishContext", dispose=_release_late_context,
                )  # fmt: skip
            except PcscGone:
                hr = scard.SCARD_E_NO_SERVICE
            if hr != scard.SCARD_S_SUCCESS:
                self._set_state(ReaderState.NO_SERVICE, "PC/SC service (pcscd) not running")
                self._update_availability()
                self._stop.wait(self.settings.poll_s)
                return
            self._ctx = ctx
            self._card_reader = self._sam_reader = None
        ctx = self._ctx
        hr, readers = self._pcsc(lambda: scard.SCardListReaders(ctx, []), 0.0, "SCardListReaders")
        if hr == scard.SCARD_E_NO_READERS_AVAILABLE:
            readers = []
        elif hr != scard.SCARD_S_SUCCESS:
            raise PcscGone(scard.SCardGetErrorMessage(hr))
        card_reader = next((r for r in readers if self._card_re.search(r)), None)
        sam_reader = next((r for r in readers if self._sam_re.search(r) and r != card_reader), None)
        if card_reader != self._card_reader or sam_reader != self._sam_reader:
            self._readers_changed(card_reader, sam_reader)
        watch = [r for r in (sam_reader, card_reader) if r]  # SAM first: a card read needs it
        if card_reader is None:
            self._set_state(ReaderState.NO_READER, "no contactless reader connected")
        timeout = int(self.settings.poll_s * 1000)
        query = [(r, scard.SCARD_STATE_UNAWARE) for r in watch] or [(PNP, 0)]
        hr, states = self._pcsc(
            lambda: scard.SCardGetStatusChange(ctx, timeout, query), timeout / 1000,
            "SCardGetStatusChange",
        )  # fmt: skip
        if hr in (scard.SCARD_E_TIMEOUT, scard.SCARD_E_CANCELLED):
            return
        if hr != scard.SCARD_S_SUCCESS:
            raise PcscGone(scard.SCardGetErrorMessage(hr))
        for name, flags, _atr in states:
            present = bool(flags & scard.SCARD_STATE_PRESENT)
            if name == sam_reader:
                self._sam_seen(present)
            elif name == card_reader:
                self._card_seen(present, flags >> 16)
        self._probe_sam()
        self._update_availability()
        if not watch:
            self._stop.wait(self.settings.poll_s)  # PnP may be unsupported: poll the list
        elif not self._stop.is_set():
            self._wait_change(watch)

    def _wait_change(self, watch: list[str]) -> None:
        """Block up to poll_s until a watched reader changes (or cancel)."""
        known = []
        for name in watch:
            if name == self._card_reader:
                flags = scard.SCARD_STATE_PRESENT if self._card_in else scard.SCARD_STATE_EMPTY
                known.append((name, flags | (max(self._card_event, 0) << 16)))
            else:
                flags = scard.SCARD_STATE_PRESENT if self._sam_in else scard.SCARD_STATE_EMPTY
                known.append((name, flags))
        if self._sam_fault and self._sam_in:  # come back soon to probe the SAM again
            self._stop.wait(self.settings.poll_s)
            return
        ctx, wait_ms = self._ctx, int(self.settings.poll_s * 1000)
        hr, _ = self._pcsc(
            lambda: scard.SCardGetStatusChange(ctx, wait_ms, known), self.settings.poll_s,
            "SCardGetStatusChange",
        )  # fmt: skip
        if hr not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT, scard.SCARD_E_CANCELLED):
            raise PcscGone(scard.SCardGetErrorMessage(hr))

    def _readers_changed(self, card_reader: str | None, sam_reader: str | None) -> None:
        """A reader appeared or vanished."""
        log.info("PC/SC readers: card=%r sam=%r", card_reader, sam_reader)
        if self._card_reader is not None and card_reader != self._card_reader:
            self._card_gone(NoReader(f"reader {self._card_reader!r} disappeared"))
        self._card_reader, self._sam_reader = card_reader, sam_reader
        self._close_sam()
        if sam_reader is None:
            self._sam_seen(False)
        if card_reader is not None and self._state in (
            ReaderState.NO_SERVICE,
            ReaderState.NO_READER,
        ):
            self._set_state(ReaderState.NO_CARD, f"watching {card_reader}")

    def _sam_seen(self, present: bool) -> None:
        """Track the SAM slot."""
        if present != self._sam_in:
            log.info("SAM %s", "inserted" if present else "missing")
            self._sam_in = present
            self._sam_fault = ""  # a new SAM (or none) gets judged afresh
            if not present:
                self._close_sam()

    def _card_seen(self, present: bool, event_count: int) -> None:
        """React to the card reader's state: insertion (or a swap) reads, removal wipes."""
        if present and (not self._card_in or event_count != self._card_event):
            if self._card_in:  # swapped between two polls
                self._card_gone(None)
            self._card_in, self._card_event = True, event_count
            self._read_card()
        elif not present and self._card_in:
            self._card_gone(None)
            self._card_event = event_count

    def _read_card(self) -> None:
        """Run the profile on the card just inserted and report the outcome."""
        assert self._ctx is not None and self._card_reader is not None
        self._set_state(ReaderState.READING, "reading card")
        self._emit(CardInserted())
        self.reads += 1
        link: CardLink | None = None
        deadline = time.monotonic() + self.settings.read_timeout_s
        try:
            link = CardLink(
                self._card_reader, self._stop, apdu_timeout_s=self.settings.apdu_timeout_s,
                deadline=deadline, abort=self._card_left, label="card",
            ).open()  # fmt: skip
            extended = {"always": True, "never": False}.get(
                self.settings.extended_length, card_wants_extended(link.atr)
            )
            sam = self._open_sam(deadline, self._card_left) if self.profile.needs_sam else None
            data = self.profile.read(Iso7816(link.transmit, extended=extended), sam)
        except Exception as exc:  # every failure becomes one CardReadFailed
            error = self._classify(exc)
            if isinstance(error, SamFault) and self._sam_in and not self._sam_fault:
                self._sam_failed(str(error))  # refused or garbled: reopened and probed later
            self._read_failed(error)
            return
        finally:
            if link is not None:
                link.close()
        if self.profile.needs_sam:
            self._sam_ok()
        with self._lock:
            self._data = data
            self._state = ReaderState.IDENTITY_READ
            self._detail = "identity read" if data.identity else "UID read"
        if data.identity is not None:
            log.info("e-KTP read: NIK %s", mask_nik(data.identity.nik))
            self._emit(IdentityRead(data.identity))
        else:
            log.info("UID-only card read")
            self._emit(UidOnlyCard(data.uid))

    def _pcsc(
        self,
        fn: Callable[[], Any],
        wait_s: float,
        what: str,
        dispose: Callable[[Any], None] | None = None,
    ) -> Any:
        """Ask pcscd through the probe thread: PcscGone when it is not answering `wait_s` plus
        PROBE_TIMEOUT_S later (a hung daemon), Cancelled when the reader stops meanwhile."""
        probe = self._probe
        if probe is None:
            raise PcscGone("reader not started")
        try:
            return probe.run(fn, wait_s + PROBE_TIMEOUT_S, what, self._stop, dispose)
        except NoAnswer as exc:
            raise PcscGone(f"pcscd not answering ({exc})") from exc

    def _card_left(self) -> Exception | None:
        """While waiting for an answer: CardRemoved when pcscd no longer sees the card,
        NoReader when pcscd itself does not answer."""
        ctx, reader, probe = self._ctx, self._card_reader, self._probe
        if ctx is None or reader is None or probe is None:
            return None
        try:
            hr, states = probe.run(
                lambda: scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)]),
                PROBE_TIMEOUT_S, "card presence",
            )  # fmt: skip
        except NoAnswer as exc:
            return NoReader(f"PC/SC service not answering ({exc})")
        if hr == scard.SCARD_S_SUCCESS and not states[0][1] & scard.SCARD_STATE_PRESENT:
            return CardRemovedError("card left while the reader waited for an answer")
        return None

    def _classify(self, exc: Exception) -> DeviceError:
        """Turn any read failure into the DeviceError the citizen and technician need."""
        if isinstance(exc, Cancelled):
            return CardUnreadable("read cancelled: reader stopping")
        if isinstance(exc, NoReader):
            return exc
        if not self._service_alive():  # whatever failed, the root cause is pcscd going away
            return NoReader(f"PC/SC service lost mid-read ({type(exc).__name__}: {exc})")
        if isinstance(exc, NoAnswer):
            left = self._card_left()
            if isinstance(left, DeviceError):
                return left
            return CardNotResponding(f"card stopped answering: {exc}")
        if isinstance(exc, TransportError):
            return self._transport_error(exc)
        if isinstance(exc, PcscGone):
            return NoReader(f"PC/SC service lost mid-read: {exc}")
        if isinstance(exc, DeviceError):
            return exc
        if isinstance(exc, FileNotFound) and exc.command == "SELECT AID":
            error: DeviceError = CardUnreadable("not an e-KTP: application not found")
            error.retriable = False
            return error
        if isinstance(exc, StatusWordError | tlv.TlvError | MalformedResponse):
            return CardUnreadable(f"{type(exc).__name__}: {exc}")
        log.exception("unexpected error while reading a card")
        return CardUnreadable(f"unexpected {type(exc).__name__}")

    def _service_alive(self) -> bool:
        """True when pcscd still answers on our context (within PROBE_TIMEOUT_S)."""
        ctx, probe = self._ctx, self._probe
        if ctx is None or probe is None:
            return False
        try:
            hr, _ = probe.run(lambda: scard.SCardListReaders(ctx, []), PROBE_TIMEOUT_S, "readers")
        except NoAnswer:
            return False
        return hr in (scard.SCARD_S_SUCCESS, scard.SCARD_E_NO_READERS_AVAILABLE)

    def _transport_error(self, exc: TransportError) -> DeviceError:
        """After a failed transmit, ask pcscd whether the card or the service went away."""
        ctx, reader = self._ctx, self._card_reader
        if ctx is None or reader is None:
            return NoReader(f"reader lost during the read: {exc}")
        try:
            hr, states = self._pcsc(
                lambda: scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)]),
                0.0, "card presence",
            )  # fmt: skip
            if hr == scard.SCARD_S_SUCCESS and states[0][1] & scard.SCARD_STATE_PRESENT:
                # pcscd notices a torn card on its next poll: give it that long before judging.
                known = [(reader, states[0][1] & ~scard.SCARD_STATE_CHANGED)]
                hr, states = self._pcsc(
                    lambda: scard.SCardGetStatusChange(ctx, REMOVAL_GRACE_MS, known),
                    REMOVAL_GRACE_MS / 1000, "card presence",
                )  # fmt: skip
        except PcscGone as gone:
            return NoReader(f"reader lost during the read: {exc}; {gone}")
        if hr == scard.SCARD_E_TIMEOUT:  # still there after the grace: it just went silent
            return CardUnreadable(f"card stopped answering: {exc}")
        if hr != scard.SCARD_S_SUCCESS:
            return NoReader(f"reader lost during the read: {exc}")
        if states[0][1] & scard.SCARD_STATE_PRESENT:
            return CardUnreadable(f"card stopped answering: {exc}")
        return CardRemovedError(f"card left during the read ({exc})")

    def _read_failed(self, error: DeviceError) -> None:
        """Report a failed read; the follow-up event depends on what was lost."""
        fatal = not error.retriable
        self._set_state(
            ReaderState.ERROR_FATAL if fatal else ReaderState.ERROR_RETRIABLE,
            f"{type(error).__name__}: {error}",
        )
        log.warning("card read failed: %s: %s", type(error).__name__, error)
        self._emit(CardReadFailed(error))
        if isinstance(error, CardRemovedError):
            self._card_in = False
            self._set_state(ReaderState.NO_CARD, "card removed mid-read")
            self._emit(CardRemoved())
        elif isinstance(error, NoReader):
            self._card_in = False
            raise PcscGone(str(error))

    def _open_sam(self, deadline: float, abort: Abort | None) -> PcscSam:
        """Connect to the SAM once and keep it; SamMissing when the slot is empty, SamFault when
        it fails. Each use gets this read's deadline and `abort` (the card pulled meanwhile)."""
        if self._sam is not None and self._sam_link is not None and not self._sam_link.abandoned:
            self._sam_link.deadline, self._sam_link.abort = deadline, abort
            return self._sam
        self._close_sam()
        if self._ctx is None or self._sam_reader is None or not self._sam_in:
            raise SamMissing("SAM slot empty or no SAM reader")
        try:
            self._sam_link = CardLink(
                self._sam_reader, self._stop, apdu_timeout_s=self.settings.sam_timeout_s,
                deadline=deadline, abort=abort, label="SAM",
            ).open()  # fmt: skip
            sam = PcscSam(Iso7816(self._sam_transmit))
            sam.select()
        except (TransportError, NoAnswer) as exc:
            self._close_sam()
            raise self._sam_failed(f"SAM does not answer: {exc}") from exc
        except SamFault as exc:
            self._close_sam()
            raise self._sam_failed(str(exc), exc) from exc
        except BaseException:
            self._close_sam()
            raise
        self._sam = sam
        return sam

    def _sam_ok(self) -> None:
        """The SAM did its part (a read or a probe): forget an earlier fault."""
        if self._sam_fault:
            log.info("SAM answers again (was: %s)", self._sam_fault)
            self._sam_fault = ""

    def _sam_transmit(self, apdu: bytes) -> bytes:
        """Transmit to the SAM; its silence or a transport failure is a SamFault."""
        link = self._sam_link
        if link is None:
            raise self._sam_failed("SAM link closed")
        try:
            return link.transmit(apdu)
        except NoAnswer as exc:
            if exc.whole_read:  # a slow card used up the read's time: not the SAM's fault
                raise
            raise self._sam_failed(f"SAM transport: {exc}") from exc
        except TransportError as exc:
            raise self._sam_failed(f"SAM transport: {exc}") from exc

    def _sam_failed(self, why: str, error: SamFault | None = None) -> SamFault:
        """Note a SAM fault for status() and availability; the SAM is reopened next time."""
        self._sam_fault = why
        self._sam_probed = time.monotonic()
        link, self._sam_link, self._sam = self._sam_link, None, None
        if link is not None:
            link.close()
        return error if error is not None else SamFault(why)

    def _probe_sam(self) -> None:
        """After a SAM fault, check now and then whether the SAM answers again."""
        if not self._sam_fault or not self._sam_in or self._card_in:
            return
        if time.monotonic() - self._sam_probed < self.settings.sam_probe_s:
            return
        self._sam_probed = time.monotonic()
        try:
            self._open_sam(time.monotonic() + self.settings.sam_timeout_s, None).self_test()
            self._sam_ok()
        except SamFault as exc:
            log.info("SAM still faulty: %s", exc)
        except (Cancelled, CardRemovedError):
            pass

    def _close_sam(self) -> None:
        """Forget the SAM connection (reopened on the next read); never blocks."""
        link, self._sam_link, self._sam = self._sam_link, None, None
        if link is not None:
            link.close()

    def _card_gone(self, error: DeviceError | None) -> None:
        """The card (or its reader) left: tell the listener and wipe what we held."""
        was_in = self._card_in
        self._card_in = False
        with self._lock:
            self._wipe()
        if error is not None:
            self._set_state(ReaderState.NO_READER, str(error))
        else:
            self._set_state(ReaderState.NO_CARD, "card removed")
        if was_in:
            self._emit(CardRemoved())

    def _lost(self, state: ReaderState, detail: str) -> None:
        """The service or context died: drop everything and report unavailability."""
        log.warning("%s", detail)
        self._close_sam()
        self._release_context()
        if self._card_in and self._state is not ReaderState.READING:
            self._card_in = False
            self._emit(CardRemoved())
        self._card_in = False
        with self._lock:
            self._wipe()
        self._card_reader = self._sam_reader = None
        self._sam_in = False
        self._set_state(state, detail)
        self._update_availability()

    def _release_context(self) -> None:
        """Release the PC/SC context; the next turn establishes a fresh one.

        The release is a request to pcscd: on its own thread, so a hung pcscd cannot keep the
        monitor from reporting the loss first.
        """
        with self._lock:
            ctx, self._ctx = self._ctx, None
        if ctx is not None:
            threading.Thread(
                target=scard.SCardReleaseContext, args=(ctx,), name="pcsc-release", daemon=True
            ).start()

    def _update_availability(self) -> None:
        """Emit ReaderStateChanged when what the attract screen should say changes."""
        if self._ctx is None:
            available, detail = False, "PC/SC service unavailable"
        elif self._card_reader is None:
            available, detail = False, "no contactless reader connected"
        elif self.profile.needs_sam and not self._sam_in:
            available, detail = False, "SAM missing from the reader's SAM slot"
        elif self.profile.needs_sam and self._sam_fault:
            available, detail = False, f"SAM not working: {self._sam_fault}"
        else:
            available, detail = True, f"reader {self._card_reader} ready"
        if available != self._available:
            self._available = available
            self._emit(ReaderStateChanged(available=available, detail=detail))

    def _set_state(self, state: ReaderState, detail: str) -> None:
        """Move the state machine."""
        with self._lock:
            if self._stop.is_set() or self._thread is None:
                return  # stop() owns the state from now on
            self._state, self._detail = state, detail

    def _wipe(self) -> None:
        """Forget the last card's data (caller holds the lock); the Identity is the session's."""
        data, self._data = self._data, None
        if data is not None:
            data.signature_png = b""
            if data.fingerprints is not None:
                data.fingerprints.wipe()

    def _emit(self, event: CardEvent) -> None:
        """Hand `event` to the listener; listener bugs must not kill the monitor."""
        listener = self._listener
        if listener is None or self._stop.is_set():
            return
        try:
            listener(event)
        except Exception:
            log.exception("card event listener raised on %s", type(event).__name__)
