"""What lay behind a failed e-KTP read, asked of pcscd: the card pulled, pcscd gone or hung, or
the card itself silent or refusing; every failure becomes the one DeviceError the citizen and
the technician need. Each question goes through the reader's probe thread with a deadline
(pcsc_link.PcscWorker), so a hung pcscd cannot hold the read or the monitor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smartcard import scard

from drivers.card_reader import tlv
from drivers.card_reader.iso7816 import FileNotFound, MalformedResponse, StatusWordError
from drivers.card_reader.pcsc_link import Cancelled, NoAnswer, PcscGone, PcscWorker, TransportError
from drivers.errors import CardNotResponding, CardUnreadable, DeviceError, NoReader
from drivers.errors import CardRemoved as CardRemovedError

log = logging.getLogger("drivers.card_reader.pcsc")  # the driver's one logger

REMOVAL_GRACE_MS = 1000
PROBE_TIMEOUT_S = 1.0  # pcscd leaves a question unanswered this long beyond its own wait: hung


@dataclass(frozen=True)
class PcscQuestions:
    """Questions to pcscd about the card reader as the monitor holds it now: its context
    (None: none yet), the card reader's name, the probe thread, and the reader's stop event."""

    ctx: int | None
    reader: str | None
    probe: PcscWorker | None
    stop: threading.Event

    def ask(
        self,
        fn: Callable[[], Any],
        wait_s: float,
        what: str,
        dispose: Callable[[Any], None] | None = None,
    ) -> Any:
        """Ask pcscd through the probe thread: PcscGone when it is not answering `wait_s` plus
        PROBE_TIMEOUT_S later (a hung daemon), Cancelled when the reader stops meanwhile."""
        probe = self.probe
        if probe is None:
            raise PcscGone("reader not started")
        try:
            return probe.run(fn, wait_s + PROBE_TIMEOUT_S, what, self.stop, dispose)
        except NoAnswer as exc:
            raise PcscGone(f"pcscd not answering ({exc})") from exc

    def card_left(self) -> Exception | None:
        """While waiting for an answer: CardRemoved when pcscd no longer sees the card,
        NoReader when pcscd itself does not answer."""
        ctx, reader, probe = self.ctx, self.reader, self.probe
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

    def classify(self, exc: Exception) -> DeviceError:
        """Turn any read failure into the DeviceError the citizen and technician need."""
        if isinstance(exc, Cancelled):
            return CardUnreadable("read cancelled: reader stopping")
        if isinstance(exc, NoReader):
            return exc
        if not self.service_alive():  # whatever failed, the root cause is pcscd going away
            return NoReader(f"PC/SC service lost mid-read ({type(exc).__name__}: {exc})")
        if isinstance(exc, NoAnswer):
            left = self.card_left()
            if isinstance(left, DeviceError):
                return left
            return CardNotResponding(f"card stopped answering: {exc}")
        if isinstance(exc, TransportError):
            return self.transport_error(exc)
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

    def service_alive(self) -> bool:
        """True when pcscd still answers on our context (within PROBE_TIMEOUT_S)."""
        ctx, probe = self.ctx, self.probe
        if ctx is None or probe is None:
            return False
        try:
            hr, _ = probe.run(lambda: scard.SCardListReaders(ctx, []), PROBE_TIMEOUT_S, "readers")
        except NoAnswer:
            return False
        return hr in (scard.SCARD_S_SUCCESS, scard.SCARD_E_NO_READERS_AVAILABLE)

    def transport_error(self, exc: TransportError) -> DeviceError:
        """After a failed transmit, ask pcscd whether the card or the service went away."""
        ctx, reader = self.ctx, self.reader
        if ctx is None or reader is None:
            return NoReader(f"reader lost during the read: {exc}")
        try:
            hr, states = self.ask(
                lambda: scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)]),
                0.0, "card presence",
            )  # fmt: skip
            if hr == scard.SCARD_S_SUCCESS and states[0][1] & scard.SCARD_STATE_PRESENT:
                # pcscd notices a torn card on its next poll: give it that long before judging.
                known = [(reader, states[0][1] & ~scard.SCARD_STATE_CHANGED)]
                hr, states = self.ask(
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
