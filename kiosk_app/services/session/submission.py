"""Loading verification slots and submitting a pre-application: the session's background work
(a mixin of SessionService; it runs on the session's single worker thread)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kiosk_app.central import CentralError, SlotFull, SubmissionReceipt
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.form_variants import submitted_values
from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.outbox.sender import QUEUED, SENT
from kiosk_app.services.outbox.store import Attachment, Submission

log = logging.getLogger("kiosk_app.services.session.service")

SLOTS_FAILED = Text(
    "Jadwal verifikasi tidak dapat dimuat. Sentuh Kembali lalu Lanjut untuk mencoba lagi.",
    "The verification schedule could not be loaded. Touch Back, then Next to try again.",
)
SLOT_FULL = Text(
    "Jadwal yang dipilih baru saja penuh. Silakan pilih tanggal lain.",
    "The chosen date has just filled up. Please choose another date.",
)


@dataclass(frozen=True)
class Outcome:
    """What the result screen shows."""

    registration_number: str
    queue_number: str
    slot: Slot
    offline: bool
    ticket_printed: bool
    receipt_printed: bool
    messages: tuple[Text, ...] = ()
    local_reference: str = ""  # the outbox's LOK-... reference (the only number when offline)


class SubmissionJourneyMixin:
    """Slots for the schedule screen, then the submission: outbox first, then the prints."""

    _lock: Any
    _machine: Any
    _worker: Any
    _central: Any
    _printing: Any
    _outbox: Any
    _scans: Any
    _send_timeout_s: float
    _generation: int
    _idempotency_key: str | None
    _language: str
    _busy: bool
    _message: Text | None
    _outcome: Outcome | None
    _slots: tuple[Any, ...]
    _slots_loading: bool
    _clock: Callable[[], float]
    _publish: Callable[[], None]
    _assisted_data: Callable[[dict[str, str]], dict[str, str]]
    _upload_scans: Callable[..., None]
    _with_scan_notice: Callable[[Outcome], Outcome]
    last_transaction_at: datetime | None

    def _load_slots(self) -> None:
        with self._lock:
            self._slots_loading = True
            service = self._machine.service or ""
            generation = self._generation
        self._publish()
        self._worker.submit(self._slots_job, service, generation)

    def _slots_job(self, service: str, generation: int) -> None:
        try:
            slots = tuple(self._central.slots(service))
            message = None
        except CentralError as exc:
            log.warning("loading slots failed: %s", exc)
            slots, message = (), exc.citizen_message
        except Exception:  # never let the worker die silently
            log.exception("loading slots crashed")
            slots, message = (), SLOTS_FAILED
        with self._lock:
            if generation != self._generation:
                return
            self._slots, self._slots_loading, self._message = slots, False, message
        self._publish()

    def _submit_job(self, generation: int) -> None:
        with self._lock:
            m = self._machine
            if generation != self._generation or m.identity is None or m.slot is None:
                return
            info = SERVICES[m.service or ""]
            identity, slot = m.identity, m.slot
            values = submitted_values(info.key, m.values)  # not what an abandoned variant held
            request: dict[str, Any] = {
                "service": info.key,
                "applicant_nik": identity.nik,
                "applicant_name": identity.name,
                "data": self._assisted_data(values),  # + assisted_by when assisted
                "slot": slot,
                "idempotency_key": self._idempotency_key,
            }
            language = self._language
        log.info("submitting %s for NIK %s", info.key, mask_nik(request["applicant_nik"]))
        offline, local_reference = False, ""
        try:
            if self._outbox is None:
                receipt = self._central.submit(**request)
            else:
                receipt, local_reference, offline = self._submit_via_outbox(request)
        except SlotFull:
            self._submit_failed(generation, SLOT_FULL, reload_slots=True)
            return
        except CentralError as exc:
            log.warning("submission failed: %s", exc)
            self._submit_failed(generation, exc.citizen_message)
            return
        except Exception:
            log.exception("submission crashed")
            self._submit_failed(generation, CentralError.citizen_message)
            return
        if self._outbox is None:  # with an outbox, the scans travel in its durable row
            self._upload_scans(self._central, receipt.registration_number, generation, offline)
        printed = self._printing.print_pre_application(
            receipt=receipt, info=info, identity=identity, values=values, language=language,
            offline=offline, assisted_by=request["data"].get("assisted_by", ""),
        )
        outcome = Outcome(
            registration_number=receipt.registration_number,
            queue_number=receipt.queue_number,
            slot=receipt.slot,
            offline=offline,
            ticket_printed=printed.ticket_printed,
            receipt_printed=printed.receipt_printed,
            messages=printed.messages,
            local_reference=local_reference,
        )
        with self._lock:
            if generation != self._generation:
                return
            self._outcome = self._with_scan_notice(outcome)
            self.last_transaction_at = datetime.now(UTC)
            self._busy = False
            self._idempotency_key = None
            done = {"registration_number": outcome.registration_number}
            self._machine.submitted(done, self._clock())
        self._publish()

    def _submit_via_outbox(self, request: dict[str, Any]) -> tuple[SubmissionReceipt, str, bool]:
        """Commit to the outbox, then try once; (receipt, local reference, offline). Raises the
        server's refusal (told on screen, row kept as 'returned') only when it answered no."""
        assert self._outbox is not None
        store = self._outbox.outbox
        submitted_at = datetime.now(UTC).isoformat(timespec="seconds")
        submission = Submission(
            service=request["service"], applicant_nik=request["applicant_nik"],
            applicant_name=request["applicant_name"], data=request["data"],
            slot=request["slot"], submitted_at=submitted_at)
        # The scanned documents go into the same durable row: the sender uploads them once the
        # application exists on the server, now or after an outage.
        scans = self._scans.documents() if self._scans is not None else []
        attachments = [Attachment(name, "application/pdf", pdf) for name, pdf in scans]
        entry = store.enqueue(submission, idempotency_key=request["idempotency_key"],
                              attachments=attachments, hold_s=self._send_timeout_s + 30.0)
        # Committed: from here on the submission survives a crash and is sent exactly once.
        result = self._outbox.send(entry, attended=True, timeout=self._send_timeout_s)
        if result.kind == SENT and result.receipt is not None:
            if store.meta("office_name") != result.receipt.office_name:
                store.set_meta("office_name", result.receipt.office_name)
            return result.receipt, entry.local_reference, False
        if result.kind == QUEUED:
            self._outbox.wake()
            log.info("central unreachable; %s queued offline", entry.local_reference)
            office = store.meta("office_name") or f"Disdukcapil {self._central.office_code}"
            receipt = SubmissionReceipt(
                registration_number=entry.local_reference, queue_number="-", status="queued",
                service=entry.service, office_code=self._central.office_code,
                office_name=office, slot=entry.slot, created_at=submitted_at)
            return receipt, entry.local_reference, True
        with self._lock:
            self._idempotency_key = None  # that row is closed: a new attempt is a new row
        raise result.error or CentralError(f"outbox {entry.local_reference}: {result.kind}")

    def _submit_failed(self, generation: int, message: Text, reload_slots: bool = False) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._busy = False
            self._machine.submit_failed(message, self._clock())
            self._message = message
            if reload_slots:
                self._machine.previous_page(self._clock())
                self._idempotency_key = None
        self._publish()
        if reload_slots:
            self._load_slots()
