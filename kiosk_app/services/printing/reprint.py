"""Ticket reprints through the print journal: offered once the printer is back, never doubled."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from drivers.errors import DeviceError
from drivers.ticket_printer.protocol import TicketPrinter
from kiosk_app.domain.text import Text
from kiosk_app.services.printing.journal import (
    JournalError,
    PrintJob,
    PrintJournal,
    ticket_from_payload,
)

log = logging.getLogger(__name__)

MSG_PRINTER_NOT_READY = {
    "paper_out": Text(
        "Kertas tiket habis. Tombol cetak ulang aktif setelah petugas mengisi kertas.",
        "The ticket paper ran out. The reprint button works once an attendant loads paper.",
    ),
    "cover_open": Text(
        "Tutup printer tiket terbuka. Tombol cetak ulang aktif setelah ditutup.",
        "The ticket printer cover is open. The reprint button works once it is closed.",
    ),
}
MSG_PRINTER_OFFLINE = Text(
    "Printer tiket belum siap. Tombol cetak ulang aktif setelah printer siap kembali.",
    "The ticket printer is not ready. The reprint button works once it is back.",
)
MSG_REPRINTED = Text("Tiket telah dicetak ulang.", "The ticket has been reprinted.")
MSG_REPRINT_FAILED = Text(
    "Cetak ulang belum berhasil. Silakan coba lagi atau panggil petugas.",
    "The reprint did not work. Please try again or call an attendant.",
)


@dataclass(frozen=True)
class ReprintOffer:
    """The result screen's reprint button: shown while a ticket is owed to the citizen."""

    printer_ready: bool
    busy: bool = False
    printed: bool = False
    message: Text | None = None


class TicketReprint:
    """Offers the reprint of one failed ticket; a watcher thread follows the printer's state."""

    def __init__(
        self, journal: PrintJournal, printer: TicketPrinter, *, poll_s: float = 1.0
    ) -> None:
        """`poll_s`: how often the printer's status is asked while a reprint is offered."""
        self._journal = journal
        self._printer = printer
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._reference: str | None = None
        self._offer: ReprintOffer | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._on_change: Callable[[], None] = lambda: None

    def pending_ticket(self, reference: str) -> PrintJob | None:
        """The failed or interrupted ticket job of `reference`, if one waits."""
        jobs = [
            j for j in self._journal.pending() if j.kind == "ticket" and j.reference == reference
        ]
        return jobs[-1] if jobs else None

    def offer(self, reference: str, on_change: Callable[[], None]) -> bool:
        """Offer the reprint of `reference`'s ticket if the journal holds a failed one."""
        if self.pending_ticket(reference) is None:
            return False
        self.withdraw()
        with self._lock:
            self._reference, self._on_change = reference, on_change
            self._offer = ReprintOffer(printer_ready=False)
            self._stop = stop = threading.Event()
            self._watcher = threading.Thread(
                target=self._watch, args=(stop,), name="reprint-watch", daemon=True
            )
            self._watcher.start()
        return True

    def withdraw(self) -> None:
        """The citizen left: stop offering (never blocks; the watcher ends within poll_s)."""
        with self._lock:
            self._stop.set()
            self._reference, self._offer = None, None

    def close(self, timeout: float = 5.0) -> None:
        """The kiosk stops: withdraw any offer and wait for the watcher to end."""
        self.withdraw()
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.join(timeout)

    def view(self) -> ReprintOffer | None:
        """The current offer, or None."""
        with self._lock:
            return self._offer

    def reprint(self, actor: str = "citizen") -> bool:
        """Print the owed ticket again (blocking; call from a worker); True when printed."""
        with self._lock:
            reference, offer = self._reference, self._offer
            if reference is None or offer is None or offer.busy or offer.printed:
                return False
            self._offer = ReprintOffer(printer_ready=offer.printer_ready, busy=True)
        self._on_change()
        printed, message = self._reprint(reference, actor)
        with self._lock:
            if self._reference == reference:
                ready = printed or self._offer is not None and self._offer.printer_ready
                self._offer = ReprintOffer(
                    printer_ready=ready and not printed, printed=printed, message=message
                )
        self._on_change()
        return printed

    def _reprint(self, reference: str, actor: str) -> tuple[bool, Text]:
        old = self.pending_ticket(reference)
        if old is None or not old.payload:
            log.warning("ticket %s: no pending job to reprint", reference)
            return False, MSG_REPRINT_FAILED
        try:
            job = self._journal.reprint(old.id, actor)
        except (JournalError, KeyError) as exc:
            log.warning("ticket %s: reprint of job %d refused: %s", reference, old.id, exc)
            return False, MSG_REPRINT_FAILED
        try:
            self._printer.print_ticket(ticket_from_payload(job.payload or ""))
        except DeviceError as exc:
            self._journal.mark_failed(job.id, type(exc).__name__)
            log.warning(
                "ticket %s: reprint job %d failed: %s: %s",
                reference,
                job.id,
                type(exc).__name__,
                exc,
            )
            return False, exc.citizen_message
        except Exception as exc:
            self._journal.mark_failed(job.id, type(exc).__name__)
            log.exception("ticket %s: reprint job %d crashed", reference, job.id)
            return False, MSG_REPRINT_FAILED
        self._journal.mark_done(job.id)
        log.info(
            "ticket %s reprinted as job %d (of job %d) by %s", reference, job.id, old.id, actor
        )
        return True, MSG_REPRINTED

    def _watch(self, stop: threading.Event) -> None:
        """Ask the printer's state until withdrawn; publish when readiness changes."""
        while not stop.is_set():
            ready, message = self._printer_state()
            new = ReprintOffer(printer_ready=ready, message=None if ready else message)
            with self._lock:
                offer = self._offer
                changed = (
                    not stop.is_set()
                    and offer is not None
                    and not offer.busy
                    and not offer.printed
                    and offer != new
                )
                if changed:
                    self._offer = new
                on_change = self._on_change
            if changed:
                on_change()
            stop.wait(self._poll_s)

    def _printer_state(self) -> tuple[bool, Text]:
        try:
            state = self._printer.status().get("state", "offline")
        except Exception as exc:  # a status query must never kill the watcher
            log.warning("ticket printer status failed: %s: %s", type(exc).__name__, exc)
            state = "offline"
        return state == "online", MSG_PRINTER_NOT_READY.get(state, MSG_PRINTER_OFFLINE)


def report_interrupted(jobs: list[PrintJob]) -> None:
    """At start-up: one log line per print a crash interrupted, for the attendant to resolve."""
    for job in jobs:
        log.warning(
            "print job %d (%s %s, asked by %s at %s) was interrupted by a stop; "
            "an attendant may reprint or dismiss it",
            job.id,
            job.kind,
            job.reference,
            job.actor,
            job.created_at,
        )
