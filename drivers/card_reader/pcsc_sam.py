"""The SAM in the PC/SC reader's second slot, as the e-KTP reader's monitor thread keeps it: is one
there, is it working, and its connection, opened once and kept across reads.

A SAM that refuses, garbles or does not answer is a fault of the reader (SamFault), noted for
status() and availability: the connection is dropped, reopened on the next read, and probed now
and then until the SAM answers again. Only the monitor thread changes it; status() reads it.
"""

from __future__ import annotations

import logging
import threading
import time

from drivers.card_reader.iso7816 import Iso7816
from drivers.card_reader.pcsc_link import Abort, Cancelled, CardLink, NoAnswer, TransportError
from drivers.card_reader.pcsc_settings import PcscSettings
from drivers.card_reader.profiles.sam import PcscSam
from drivers.errors import CardRemoved, SamFault, SamMissing

log = logging.getLogger("drivers.card_reader.pcsc")  # the driver's one logger


class SamSlot:
    """The SAM slot's state (`reader`, `present`, `fault`) and the open SAM connection."""

    def __init__(self, settings: PcscSettings, stop: threading.Event) -> None:
        self.settings = settings
        self._stop = stop
        self.reader: str | None = None  # the SAM reader's PC/SC name, None when there is none
        self.present = False  # pcscd sees a card in the SAM slot
        self.fault = ""  # why the SAM last failed ("" when it answers); cleared by a probe
        self._probed = 0.0
        self._sam: PcscSam | None = None
        self._link: CardLink | None = None

    def word(self, needed: bool) -> str:
        """present | missing | fault | not needed (status()["sam"])."""
        if not needed:
            return "not needed"
        if not self.present:
            return "missing"
        return "fault" if self.fault else "present"

    def seen(self, present: bool) -> None:
        """Track the slot: a new SAM (or none) gets judged afresh."""
        if present != self.present:
            log.info("SAM %s", "inserted" if present else "missing")
            self.present = present
            self.fault = ""
            if not present:
                self.close()

    def open(self, deadline: float, abort: Abort | None) -> PcscSam:
        """Connect to the SAM once and keep it; SamMissing when the slot is empty, SamFault when
        it fails. Each use gets this read's deadline and `abort` (the card pulled meanwhile)."""
        if self._sam is not None and self._link is not None and not self._link.abandoned:
            self._link.deadline, self._link.abort = deadline, abort
            return self._sam
        self.close()
        if self.reader is None or not self.present:
            raise SamMissing("SAM slot empty or no SAM reader")
        try:
            self._link = CardLink(
                self.reader, self._stop, apdu_timeout_s=self.settings.sam_timeout_s,
                deadline=deadline, abort=abort, label="SAM",
            ).open()  # fmt: skip
            sam = PcscSam(Iso7816(self._transmit))
            sam.select()
        except (TransportError, NoAnswer) as exc:
            self.close()
            raise self.failed(f"SAM does not answer: {exc}") from exc
        except SamFault as exc:
            self.close()
            raise self.failed(str(exc), exc) from exc
        except BaseException:
            self.close()
            raise
        self._sam = sam
        return sam

    def ok(self) -> None:
        """The SAM did its part (a read or a probe): forget an earlier fault."""
        if self.fault:
            log.info("SAM answers again (was: %s)", self.fault)
            self.fault = ""

    def _transmit(self, apdu: bytes) -> bytes:
        """Transmit to the SAM; its silence or a transport failure is a SamFault."""
        link = self._link
        if link is None:
            raise self.failed("SAM link closed")
        try:
            return link.transmit(apdu)
        except NoAnswer as exc:
            if exc.whole_read:  # a slow card used up the read's time: not the SAM's fault
                raise
            raise self.failed(f"SAM transport: {exc}") from exc
        except TransportError as exc:
            raise self.failed(f"SAM transport: {exc}") from exc

    def failed(self, why: str, error: SamFault | None = None) -> SamFault:
        """Note a SAM fault for status() and availability; the SAM is reopened next time."""
        self.fault = why
        self._probed = time.monotonic()
        self.close()
        return error if error is not None else SamFault(why)

    def probe(self, card_in: bool) -> None:
        """After a SAM fault, check now and then whether the SAM answers again (not while a
        card is in the reader: its read will tell)."""
        if not self.fault or not self.present or card_in:
            return
        if time.monotonic() - self._probed < self.settings.sam_probe_s:
            return
        self._probed = time.monotonic()
        try:
            self.open(time.monotonic() + self.settings.sam_timeout_s, None).self_test()
            self.ok()
        except SamFault as exc:
            log.info("SAM still faulty: %s", exc)
        except (Cancelled, CardRemoved):
            pass

    def close(self) -> None:
        """Forget the SAM connection (reopened on the next read); never blocks."""
        link, self._link, self._sam = self._link, None, None
        if link is not None:
            link.close()
