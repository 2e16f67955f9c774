"""The attendant's device check and ticket reprints from the print journal (each journalled)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from drivers.document_printer.protocol import DocumentPrinter
from drivers.errors import DeviceError
from drivers.ticket_printer.protocol import TicketPrinter
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Ticket
from kiosk_app.services.attendant import texts as T
from kiosk_app.services.durable import DAMAGED, STORAGE
from kiosk_app.services.printing.journal import (
    UNRESOLVED,
    JournalError,
    PrintJob,
    PrintJournal,
    calling_from_payload,
    calling_of_day,
    ticket_from_payload,
)
from kiosk_app.services.printing.receipt_vault import ReceiptSealer, SealError

log = logging.getLogger(__name__)

OK_STATES = {"online", "ready", "card_present", "reading"}
LAST_TICKET_WINDOW = timedelta(hours=12)  # "the last ticket" means one printed today
CALLING_SHOWN = 5  # today's printed calling tickets offered for a reprint: the last check-ins


@dataclass(frozen=True)
class DeviceLine:
    """One device as the attendant sees it: fine or not, and what to do about it."""

    name: str
    label: Text
    state: str
    ok: bool
    advice: Text
    detail: str = ""  # the driver's own words (CUPS reasons, DLE EOT detail) for the technician
    resumable: bool = False  # a stopped or job-rejecting print queue the attendant may resume


@dataclass(frozen=True)
class ReprintItem:
    """A ticket the attendant may print again."""

    job_id: int
    reference: str  # the registration number (or LOK-... reference)
    state: str  # failed | interrupted | last | printed (today's calling ticket, reprinted once)
    created_at: str
    reason: str = ""
    kind: str = "ticket"  # ticket | receipt (the A4 receipt, kept sealed) | calling (check-in)


def device_lines(devices: Mapping[str, Any]) -> tuple[DeviceLine, ...]:
    """Ask each device for its state now (DLE EOT for the ticket printer, IPP for CUPS)."""
    lines = []
    for name, device in devices.items():
        try:
            status = {str(k): str(v) for k, v in device.status().items()}
        except Exception as exc:  # a broken driver is itself something to show
            log.warning("attendant device check: %s status() failed: %s", name, exc)
            status = {"state": "error", "detail": f"{type(exc).__name__}: {exc}"}
        state = status.get("state", "unknown")
        resumable = hasattr(device, "resume") and queue_stopped(status)
        ok = state in OK_STATES and not resumable
        advice = T.ADVICE.get(state, T.ADVICE_UNKNOWN.format(state=state)) if not ok else T.READY
        if ok and status.get("paper") == "near_end":
            advice = T.ADVICE_NEAR_END
        if resumable and state in (*OK_STATES, "offline"):  # stopped, and no fault of its own
            advice = T.ADVICE_QUEUE_STOPPED
        detail = "; ".join(
            v for k, v in status.items() if k in ("reasons", "message", "detail") and v
        )
        lines.append(
            DeviceLine(
                name,
                T.DEVICE_LABELS.get(name, Text(name, name)),
                state,
                ok,
                advice,
                detail[:200],
                resumable,
            )
        )
        if not ok:
            log.info("attendant device check: %s is %s (%s)", name, state, detail or "-")
    return tuple(lines)


def queue_stopped(status: Mapping[str, str]) -> bool:
    """A print queue that is stopped or rejects jobs (CUPS does this after a jam or no paper)."""
    return status.get("queue_state") == "stopped" or status.get("accepting") == "no"


class HoldsLastTicket(Protocol):
    """The printing service as far as 'reprint the last ticket' needs it."""

    last_ticket: Ticket | None


class TicketReprinter:
    """Reprints through the journal: a new job per asked-for reprint, never one unasked."""

    def __init__(
        self,
        journal: PrintJournal | None,
        printer: TicketPrinter,
        printing: HoldsLastTicket | None = None,
        on_reprinted: Callable[[str], None] = lambda _ref: None,
        *,
        document_printer: DocumentPrinter | None = None,
        receipts: ReceiptSealer | None = None,
    ) -> None:
        """`printing`: the PrintingService, whose in-memory last ticket allows 'reprint last';
        `receipts` (with `document_printer`): failed A4 receipts kept sealed may be reprinted."""
        self._journal = journal
        self._printer = printer
        self._printing = printing
        self._on_reprinted = on_reprinted
        self._a4 = document_printer
        self._receipts = receipts if document_printer is not None else None

    def items(self) -> tuple[ReprintItem, ...]:
        """Failed and crash-interrupted tickets (and receipts still kept), then the last ticket."""
        if self._journal is None:
            return ()
        pending = [
            j
            for j in self._journal.pending()
            if j.payload
            and (j.kind in ("ticket", "calling") or (j.kind == "receipt" and self._receipt_kept(j)))
        ]
        items = [
            ReprintItem(j.id, j.reference, "printed", j.created_at, kind="calling")
            for j in self._printed_calling()
        ]
        items += [
            ReprintItem(j.id, j.reference, j.state, j.created_at, j.reason, j.kind) for j in pending
        ]
        last = self._last_job()
        if last is not None and last.id not in {j.id for j in pending}:
            items.append(ReprintItem(last.id, last.reference, "last", last.created_at))
        return tuple(items)

    def kind_of(self, job_id: int) -> str:
        """ "ticket", "receipt" or "calling" (for the audit line); "ticket" when unknown."""
        try:
            kind = self._journal.get(job_id).kind if self._journal is not None else "ticket"
        except KeyError:
            return "ticket"
        return kind if kind in ("ticket", "receipt", "calling") else "ticket"

    def expire(self) -> int:
        """Wipe kept receipts past their window and what calling tickets of days before
        kept (blocking: journal writes); how many."""
        if self._journal is None:
            return 0
        wiped = self._journal.drop_kept("calling", _start_of_today())
        if self._receipts is not None:
            wiped += self._receipts.expire(self._journal)
        return wiped

    def reprint(self, job_id: int, actor: str) -> tuple[bool, Text, str]:
        """Print job `job_id`'s ticket (or receipt) again (blocking): (printed, message, ref)."""
        if self._journal is None:
            return False, T.NOTHING_TO_REPRINT, ""
        try:
            old = self._journal.get(job_id)
        except KeyError:
            return False, T.NOTHING_TO_REPRINT, ""
        if old.kind == "receipt":
            return self._reprint_receipt(old, actor)
        send = self._sender_of(old)
        if send is None:
            log.warning(
                "attendant reprint of job %d (%s, %s) refused: nothing to print",
                job_id,
                old.reference,
                old.state,
            )
            return False, T.NOTHING_TO_REPRINT, old.reference
        try:
            job = self._journal.reprint(job_id, actor)
        except JournalError as exc:  # someone reprinted it meanwhile: never twice unasked
            log.warning("attendant reprint of job %d refused: %s", job_id, exc)
            return False, T.ALREADY_REPRINTED, old.reference
        try:
            send()
        except DeviceError as exc:
            self._journal.mark_failed(job.id, type(exc).__name__)
            log.warning(
                "attendant reprint job %d (of %d) failed: %s: %s",
                job.id,
                job_id,
                type(exc).__name__,
                exc,
            )
            return False, exc.citizen_message, old.reference
        except Exception as exc:
            self._journal.mark_failed(job.id, type(exc).__name__)
            log.exception("attendant reprint job %d crashed", job.id)
            return False, T.ACTION_FAILED, old.reference
        self._journal.mark_done(job.id)
        log.info(
            "ticket %s reprinted as job %d (of job %d) by %s", old.reference, job.id, job_id, actor
        )
        self._on_reprinted(old.reference)
        return True, T.REPRINTED.format(reference=old.reference), old.reference

    def _reprint_receipt(self, old: PrintJob, actor: str) -> tuple[bool, Text, str]:
        """Open the sealed receipt of a failed or interrupted job and print it on the A4."""
        assert self._journal is not None
        if (
            self._receipts is None
            or self._a4 is None
            or old.state not in UNRESOLVED
            or not old.payload
            or not self._receipt_kept(old)
        ):
            log.warning(
                "attendant reprint of receipt job %d (%s, %s) refused: not kept",
                old.id,
                old.reference,
                old.state,
            )
            return False, T.RECEIPT_NOT_KEPT, old.reference
        try:
            pdf = self._receipts.open(old.reference, old.payload)
        except SealError as exc:
            log.error("attendant reprint of receipt job %d refused: %s", old.id, exc)
            STORAGE.report(  # the technician's alert: a replaced outbox key, or damaged bytes
                self._journal.path,
                DAMAGED,
                f"kept receipt of job {old.id} does not open with this kiosk's key"
                " (replaced key or damaged bytes): not reprinted, kept until it expires",
            )
            return False, T.RECEIPT_NOT_KEPT, old.reference
        try:
            job = self._journal.reprint(old.id, actor)
        except JournalError as exc:
            log.warning("attendant reprint of receipt job %d refused: %s", old.id, exc)
            return False, T.ALREADY_REPRINTED, old.reference
        try:
            self._a4.print_pdf(pdf, f"receipt-{old.reference}")
        except DeviceError as exc:
            self._journal.mark_failed(job.id, type(exc).__name__)  # still kept: may try again
            log.warning(
                "attendant receipt reprint job %d (of %d) failed: %s: %s",
                job.id,
                old.id,
                type(exc).__name__,
                exc,
            )
            return False, exc.citizen_message, old.reference
        except Exception as exc:
            self._journal.mark_failed(job.id, type(exc).__name__)
            log.exception("attendant receipt reprint job %d crashed", job.id)
            return False, T.ACTION_FAILED, old.reference
        self._journal.mark_done(job.id)  # wipes the sealed copy
        log.info(
            "receipt %s reprinted as job %d (of job %d) by %s", old.reference, job.id, old.id, actor
        )
        return True, T.RECEIPT_REPRINTED.format(reference=old.reference), old.reference

    def _receipt_kept(self, job: PrintJob) -> bool:
        """A receipt job whose sealed copy is still inside its reprint window."""
        return self._receipts is not None and self._receipts.kept(job.created_at)

    def dismiss(self, job_id: int, actor: str) -> str:
        """Give up on a pending ticket; its reference (or "")."""
        if self._journal is None:
            return ""
        try:
            reference = self._journal.get(job_id).reference
        except KeyError:
            return ""
        self._journal.dismiss(job_id, actor)
        return reference

    def _sender_of(self, job: PrintJob) -> Callable[[], None] | None:
        """What prints `job` again on the ticket printer (None: nothing to print): a ticket,
        or a check-in's calling ticket that did not print (its journalled payload)."""
        if job.kind == "calling":
            printed_today = job.state == "done" and calling_of_day(job.reference, date.today())
            if not job.payload or not (job.state in UNRESOLVED or printed_today):
                return None
            try:
                calling = calling_from_payload(job.payload)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("print job %d: unreadable payload: %s", job.id, exc)
                return None
            return lambda: self._printer.print_calling_ticket(calling)
        ticket = self._ticket_of(job)
        if ticket is None:
            return None
        return lambda: self._printer.print_ticket(ticket)

    def _printed_calling(self) -> list[PrintJob]:
        """Today's printed calling tickets that may still be reprinted once, the last few."""
        if self._journal is None:
            return []
        today = date.today()
        jobs = self._journal.kept("calling", _start_of_today())
        return [j for j in jobs if calling_of_day(j.reference, today)][-CALLING_SHOWN:]

    def _ticket_of(self, job: PrintJob) -> Ticket | None:
        """The ticket to print for `job`: its journalled payload, or the in-memory last one."""
        if job.kind != "ticket":
            return None
        if job.state in UNRESOLVED and job.payload:
            try:
                return ticket_from_payload(job.payload)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("print job %d: unreadable payload: %s", job.id, exc)
                return None
        last = self._last_ticket()
        newest = self._last_job()
        if last is not None and newest is not None and newest.id == job.id:
            return last
        return None

    def _last_ticket(self) -> Ticket | None:
        """The last ticket the printing service printed, if it is there and still holds one."""
        return self._printing.last_ticket if self._printing is not None else None

    def _last_job(self) -> PrintJob | None:
        """The newest ticket job of the ticket the printing service still holds in memory."""
        last = self._last_ticket()
        if self._journal is None or last is None:
            return None
        since = datetime.now(UTC) - LAST_TICKET_WINDOW
        jobs = [j for j in self._journal.log(since) if j.kind == "ticket"]
        if not jobs or jobs[-1].reference != last.registration_number:
            return None
        return jobs[-1] if jobs[-1].state in ("done", "failed", "interrupted") else None


def _start_of_today() -> datetime:
    """Local midnight today, aware (the journal compares it with its UTC stamps)."""
    return datetime.combine(date.today(), time()).astimezone()
