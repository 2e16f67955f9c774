"""The e-KTP reader on a real PC/SC stack (pyscard scard layer) with its own recovering monitor.

The monitor thread here watches readers and cards, runs the profile on each card inserted and
starts over after pcscd is lost. Beside it: pcsc_link (each card connection on its own worker
thread, with deadlines), pcsc_sam (the SAM slot and its kept connection), pcsc_faults (what lay
behind a failed read, asked of pcscd) and pcsc_settings (settings and states).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

from smartcard import scard

from drivers.card_reader.iso7816 import Iso7816
from drivers.card_reader.pcsc_faults import PcscQuestions
from drivers.card_reader.pcsc_link import Cancelled, CardLink, PcscGone, PcscWorker
from drivers.card_reader.pcsc_sam import SamSlot
from drivers.card_reader.pcsc_settings import COARSE, PcscSettings, ReaderState, card_wants_extended
from drivers.card_reader.profiles import CardData, get_profile
from drivers.card_reader.protocol import (
    CardEvent,
    CardInserted,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
    ReaderStateChanged,
    UidOnlyCard,
)
from drivers.errors import CardRemoved as CardRemovedError
from drivers.errors import DeviceError, NoReader, SamFault
from kiosk_app.domain.identity import mask_nik

__all__ = ["PcscCardReader", "PcscSettings", "ReaderState"]

log = logging.getLogger(__name__)

PNP = "\\\\?PnP?\\Notification"


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
        self._card_event = -1  # pcscd's per-reader event counter when we last saw the card
        self._card_in = False
        self._sam = SamSlot(self.settings, self._stop)
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
            state, sam = COARSE[self._state], self._sam.word(self.profile.needs_sam)
            if state not in ("stopped", "stopping", "unavailable") and sam in ("missing", "fault"):
                state = "unavailable"  # no e-KTP can be read: the fleet raises its reader alert
            return {
                "state": state,
                "pcsc_state": self._state.value,
                "driver": "pcsc",
                "profile": self.profile.name,
                "detail": self._detail,
                "reader": self._card_reader or "",
                "sam": sam,
                "card": str(self._card_in).lower(),
            }

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
        self._sam.close()
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
                hr, ctx = self._questions().ask(
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
            self._card_reader = self._sam.reader = None
        ctx = self._ctx
        hr, readers = self._questions().ask(
            lambda: scard.SCardListReaders(ctx, []), 0.0, "SCardListReaders"
        )
        if hr == scard.SCARD_E_NO_READERS_AVAILABLE:
            readers = []
        elif hr != scard.SCARD_S_SUCCESS:
            raise PcscGone(scard.SCardGetErrorMessage(hr))
        card_reader = next((r for r in readers if self._card_re.search(r)), None)
        sam_reader = next((r for r in readers if self._sam_re.search(r) and r != card_reader), None)
        if card_reader != self._card_reader or sam_reader != self._sam.reader:
            self._readers_changed(card_reader, sam_reader)
        watch = [r for r in (sam_reader, card_reader) if r]  # SAM first: a card read needs it
        if card_reader is None:
            self._set_state(ReaderState.NO_READER, "no contactless reader connected")
        timeout = int(self.settings.poll_s * 1000)
        query = [(r, scard.SCARD_STATE_UNAWARE) for r in watch] or [(PNP, 0)]
        hr, states = self._questions().ask(
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
                self._sam.seen(present)
            elif name == card_reader:
                self._card_seen(present, flags >> 16)
        self._sam.probe(self._card_in)
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
                flags = scard.SCARD_STATE_PRESENT if self._sam.present else scard.SCARD_STATE_EMPTY
                known.append((name, flags))
        if self._sam.fault and self._sam.present:  # come back soon to probe the SAM again
            self._stop.wait(self.settings.poll_s)
            return
        ctx, wait_ms = self._ctx, int(self.settings.poll_s * 1000)
        hr, _ = self._questions().ask(
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
        self._card_reader, self._sam.reader = card_reader, sam_reader
        self._sam.close()
        if sam_reader is None:
            self._sam.seen(False)
        if card_reader is not None and self._state in (
            ReaderState.NO_SERVICE,
            ReaderState.NO_READER,
        ):
            self._set_state(ReaderState.NO_CARD, f"watching {card_reader}")

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
            sam = self._sam.open(deadline, self._card_left) if self.profile.needs_sam else None
            data = self.profile.read(Iso7816(link.transmit, extended=extended), sam)
        except Exception as exc:  # every failure becomes one CardReadFailed
            error = self._questions().classify(exc)
            if isinstance(error, SamFault) and self._sam.present and not self._sam.fault:
                self._sam.failed(str(error))  # refused or garbled: reopened and probed later
            self._read_failed(error)
            return
        finally:
            if link is not None:
                link.close()
        if self.profile.needs_sam:
            self._sam.ok()
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

    def _questions(self) -> PcscQuestions:
        """Questions to pcscd about the card reader now (through the probe thread)."""
        return PcscQuestions(self._ctx, self._card_reader, self._probe, self._stop)

    def _card_left(self) -> Exception | None:
        """While waiting for an answer: why to stop waiting (PcscQuestions.card_left)."""
        return self._questions().card_left()

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
        self._sam.close()
        self._release_context()
        if self._card_in and self._state is not ReaderState.READING:
            self._card_in = False
            self._emit(CardRemoved())
        self._card_in = False
        with self._lock:
            self._wipe()
        self._card_reader = self._sam.reader = None
        self._sam.present = False
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
        elif self.profile.needs_sam and not self._sam.present:
            available, detail = False, "SAM missing from the reader's SAM slot"
        elif self.profile.needs_sam and self._sam.fault:
            available, detail = False, f"SAM not working: {self._sam.fault}"
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
