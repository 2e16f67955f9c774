"""The submission journey: the pre-application goes to the outbox (or the server), then prints."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from kiosk_app.central import CentralClient, CentralError, SlotFull, SubmissionReceipt
from kiosk_app.central_transport import MSG_REJECTED
from kiosk_app.domain.catalogue import SERVICES, ServiceInfo
from kiosk_app.domain.form_variants import submitted_values
from kiosk_app.domain.identity import Identity, mask_nik
from kiosk_app.domain.text import Language, Text
from kiosk_app.domain.ticket import LEASE_NOTE, Slot
from kiosk_app.services.durable import StorageError
from kiosk_app.services.leases import LeaseExhausted, LeaseStore, ReceiptSigner
from kiosk_app.services.outbox.records import HELD, PENDING, Attachment, Entry, Submission
from kiosk_app.services.outbox.sender import QUEUED, SENT, OutboxSender
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.receipt_seal import SealInvalid
from kiosk_app.services.sealing import OutboxError
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.ports import Assistance, LeasedSlots, ResultSink, ScannedDocuments
from kiosk_app.services.session.views import Outcome

log = logging.getLogger("kiosk_app.services.session.service")

SLOT_FULL = Text(
    "Jadwal yang dipilih baru saja penuh. Silakan pilih tanggal lain.",
    "The chosen date has just filled up. Please choose another date.",
)
STORAGE_REFUSED = Text(
    "Permohonan Anda TIDAK dapat disimpan karena penyimpanan anjungan bermasalah, jadi belum "
    "terkirim. Teknisi sudah diberi tahu. Silakan ke loket pelayanan atau coba lagi nanti.",
    "Your application could NOT be stored because the kiosk's storage has a fault, so it was "
    "not submitted. The technician has been told. Please go to the service counter or try "
    "again later.",
)
REFUSAL_PRINTED = Text(
    "Keterangan ini juga tercetak pada struk.",
    "This explanation is also printed on a slip.",
)


@dataclass(frozen=True)
class Application:
    """What one submission sends, taken from the session under its lock."""

    info: ServiceInfo
    identity: Identity
    values: dict[str, str]  # the form's, without what an abandoned variant held
    data: dict[str, str]  # the values sent: plus who assisted, when assisted
    slot: Slot
    idempotency_key: str
    language: Language
    lease_id: str | None = None  # the slot was offered from this kiosk's lease
    offline: bool = False  # the slots came while the server could not be reached


@dataclass(frozen=True)
class Booked:
    """What the outbox path gives back: the receipt, the LOK reference, offline, the seal."""

    receipt: SubmissionReceipt
    local_reference: str
    offline: bool
    seal: str | None = None  # the kiosk's seal of a place booked from its lease


class SubmissionJourney:
    """Sends the pre-application once (idempotency key), prints, hands the outcome on."""

    def __init__(
        self,
        core: SessionCore,
        *,
        central: CentralClient,
        printing: PrintingService,
        outbox: OutboxSender | None,
        send_timeout_s: float,
        schedule: LeasedSlots,
        documents: ScannedDocuments | None,
        assistance: Assistance,
        result: ResultSink,
        leases: LeaseStore | None = None,
        signer: ReceiptSigner | None = None,
    ) -> None:
        """`outbox` None: no offline queue; `send_timeout_s`: the try before queueing;
        `leases`: books the places offered from a lease; `signer`: seals the ticket's QR."""
        self._core = core
        self._leases = leases
        self._signer = signer
        self._central = central
        self._printing = printing
        self._outbox = outbox
        self._send_timeout_s = send_timeout_s
        self._schedule = schedule
        self._documents = documents
        self._assistance = assistance
        self._result = result
        self._key: str | None = None  # kept across a failed try, so a retry replays
        self._busy = False
        self.last_transaction_at: datetime | None = None  # for the health report
        self._queued: set[str] = set()  # this visit's submissions queued offline (LOK-...)
        core.on_visit_end(self.new_application)
        core.on_visit_end(self._queued.clear)

    def busy(self) -> bool:
        """True while the submission runs (lock held)."""
        return self._busy

    def idempotency_key(self) -> str | None:
        """The key of the application being submitted (a retry sends the same one)."""
        with self._core.lock:
            return self._key

    def unsent(self) -> str:
        """The local reference of this visit's submission still waiting in the outbox, or ""."""
        with self._core.lock:
            queued = set(self._queued)
        if not queued or self._outbox is None:
            return ""
        try:
            waiting = [
                entry.local_reference
                for entry in self._outbox.outbox.entries()
                if entry.status in (PENDING, *HELD) and entry.local_reference in queued
            ]
        except (StorageError, OutboxError) as exc:  # unreadable: say it may not be sent yet
            log.warning("outbox not readable while ending a visit: %s", exc)
            return sorted(queued)[0]
        return waiting[0] if waiting else ""

    def new_application(self) -> None:
        """A new form was started, or the visit ended: the next submission is a new one."""
        with self._core.lock:
            self._key, self._busy = None, False

    def submit(self) -> None:
        """Send the pre-application and print the ticket and receipt, in the background."""
        core = self._core
        with core.lock:
            if not core.machine.submit(core.now()):
                return
            if self._key is None:
                self._key = uuid.uuid4().hex
            self._busy = True
            core.message = None
            generation = core.generation
        core.publish()
        core.run(self._job, generation)

    # -- the worker --------------------------------------------------------------------------
    def _application(self, generation: int) -> Application | None:
        with self._core.lock:
            m = self._core.machine
            key = self._key
            if (
                not self._core.is_current(generation)
                or m.identity is None
                or m.slot is None
                or key is None
            ):
                return None
            info = SERVICES[m.service or ""]
            values = submitted_values(info.key, m.values)
            return Application(
                info,
                m.identity,
                values,
                self._assistance.stamp(values),
                m.slot,
                key,
                self._core.language,
                self._schedule.leased(m.slot),
                self._schedule.offline(),
            )

    def _job(self, generation: int) -> None:
        app = self._application(generation)
        if app is None:
            return
        log.info("submitting %s for NIK %s", app.info.key, mask_nik(app.identity.nik))
        offline, local_reference, sealed = False, "", None
        try:
            if self._outbox is None:
                receipt = self._central.submit(
                    service=app.info.key,
                    applicant_nik=app.identity.nik,
                    applicant_name=app.identity.name,
                    data=app.data,
                    slot=app.slot,
                    idempotency_key=app.idempotency_key,
                )
            else:
                booked = self._via_outbox(self._outbox, app)
                receipt, local_reference = booked.receipt, booked.local_reference
                offline, sealed = booked.offline, booked.seal
        except (SlotFull, LeaseExhausted):
            self._failed(generation, SLOT_FULL, reload_slots=True)
            return
        except (StorageError, OutboxError) as exc:
            # Never acknowledged: the row is not on disk (full, read-only, no key).
            log.error("submission refused, it cannot be stored: %s", exc)
            self._refused(generation, app)
            return
        except CentralError as exc:
            log.warning("submission failed: %s", exc)
            self._failed(generation, exc.citizen_message)
            return
        except Exception:
            log.exception("submission crashed")
            self._failed(generation, MSG_REJECTED)
            return
        if self._outbox is None and self._documents is not None:
            # With an outbox, the scans travel in its durable row instead.
            self._documents.upload(
                receipt.registration_number, lambda: self._result.documents_not_sent(generation)
            )
        if sealed is None and not offline:
            sealed = self._seal_online(receipt)
        notes = (LEASE_NOTE,) if offline and sealed else ()  # a certain date, a local number
        printed = self._printing.print_pre_application(
            receipt=receipt,
            info=app.info,
            identity=app.identity,
            values=app.values,
            language=app.language,
            offline=offline,
            assisted_by=app.data.get("assisted_by", ""),
            qr_payload=self._signer.qr(sealed) if sealed and self._signer else None,
            extra_notes=notes,
        )
        outcome = Outcome(
            registration_number=receipt.registration_number,
            queue_number=receipt.queue_number,
            slot=receipt.slot,
            offline=offline,
            ticket_printed=printed.ticket_printed,
            receipt_printed=printed.receipt_printed,
            messages=(*notes, *printed.messages),
            local_reference=local_reference,
        )
        core = self._core
        with core.lock:
            if not core.is_current(generation):
                return
            self.last_transaction_at = datetime.now(UTC)
            self._busy, self._key = False, None
            if offline:
                self._queued.add(local_reference)
            core.machine.submitted({"registration_number": outcome.registration_number}, core.now())
            self._result.show(outcome)
        core.publish()

    def _seal_online(self, receipt: SubmissionReceipt) -> str | None:
        """The seal of a booking the server answered (its registration number), or None."""
        if self._signer is None:
            return None
        try:
            return self._signer.seal(receipt.registration_number, receipt.service, receipt.slot)
        except SealInvalid as exc:  # a number the seal cannot carry: the bare number instead
            log.warning("receipt %s not sealed: %s", receipt.registration_number, exc)
            return None

    def _via_outbox(self, outbox: OutboxSender, app: Application) -> Booked:
        """Commit to the outbox, then try once (or book from the lease)."""
        # Raises only when the server answered no: told on screen, the row kept as 'returned'.
        submitted_at = datetime.now(UTC).isoformat(timespec="seconds")
        submission = Submission(
            service=app.info.key,
            applicant_nik=app.identity.nik,
            applicant_name=app.identity.name,
            data=app.data,
            slot=app.slot,
            submitted_at=submitted_at,
        )
        # The scanned documents go into the same durable row: the sender uploads them once the
        # application exists on the server, now or after an outage.
        scans = self._documents.documents() if self._documents is not None else []
        attachments = [Attachment(name, "application/pdf", pdf) for name, pdf in scans]
        if app.lease_id is not None and self._leases is not None and self._signer is not None:
            return self._from_lease(outbox, app, submission, attachments)
        entry = outbox.outbox.enqueue(
            submission,
            idempotency_key=app.idempotency_key,
            attachments=attachments,
            hold_s=self._send_timeout_s + 30.0,
        )
        # Committed: from here on the submission survives a crash and is sent exactly once.
        sent = self._try_once(outbox, entry)
        if sent is not None:
            return sent
        # The server went away since the schedule loaded: a lease holding this very slot
        # makes the date certain all the same.
        sealed = self._lease_after_all(outbox, app, entry)
        outbox.wake()
        log.info("central unreachable; %s queued offline", entry.local_reference)
        return Booked(self._local_receipt(outbox, entry), entry.local_reference, True, sealed)

    def _try_once(self, outbox: OutboxSender, entry: Entry) -> Booked | None:
        """Send the committed row now: the booking when sent, None when queued; raises the
        server's refusal (told on screen, the row kept as 'returned')."""
        result = outbox.send(entry, attended=True, timeout=self._send_timeout_s)
        if result.kind == SENT and result.receipt is not None:
            store = outbox.outbox
            if store.meta("office_name") != result.receipt.office_name:
                store.set_meta("office_name", result.receipt.office_name)
            return Booked(result.receipt, entry.local_reference, False)
        if result.kind == QUEUED:
            return None
        with self._core.lock:
            self._key = None  # that row is closed: a new attempt is a new row
        raise result.error or CentralError(f"outbox {entry.local_reference}: {result.kind}")

    def _booker(self, app: Application, lease_id: str) -> Callable[[str], dict[str, str]]:
        """Books `app` from lease `lease_id` under a LOK reference: {"lease_id", "seal"}."""
        leases, signer = self._leases, self._signer
        assert leases is not None and signer is not None

        def book(reference: str) -> dict[str, str]:
            return leases.book(
                lease_id,
                app.idempotency_key,
                reference,
                lambda lease: signer.seal(reference, app.info.key, lease.slot),
            )

        return book

    def _from_lease(
        self,
        outbox: OutboxSender,
        app: Application,
        submission: Submission,
        attachments: list[Attachment],
    ) -> Booked:
        """The place comes from the kiosk's lease: booked and sealed in the lease file, then the
        row committed to the outbox carrying the seal, before anything prints. Tried at once
        only when the server answered a moment ago (the schedule came from it): offline, the
        citizen need not wait for a server that is not there."""
        assert app.lease_id is not None
        book = self._booker(app, app.lease_id)
        entry = outbox.outbox.enqueue(
            submission,
            idempotency_key=app.idempotency_key,
            attachments=attachments,
            hold_s=0.0 if app.offline else self._send_timeout_s + 30.0,
            book=book,
        )
        # Committed in both files: the booking is found again by its key (the sender may
        # already have sent and wiped the row).
        sealed = book(entry.local_reference)["seal"]
        if not app.offline:
            sent = self._try_once(outbox, entry)
            if sent is not None:
                return sent
        outbox.wake()
        log.info("%s booked offline from lease %s", entry.local_reference, app.lease_id)
        return Booked(self._local_receipt(outbox, entry), entry.local_reference, True, sealed)

    def _lease_after_all(self, outbox: OutboxSender, app: Application, entry: Entry) -> str | None:
        """Book a queued row's slot from this kiosk's lease for it, if one holds a place on
        it: the row carries the lease from now on; the seal, or None."""
        if self._leases is None or self._signer is None:
            return None
        try:
            lease_id = next(
                (o.lease_id for o in self._leases.offer(app.info.key) if o.slot == app.slot),
                None,
            )
            if lease_id is None:
                return None
            lease = outbox.attach_lease(entry, self._booker(app, lease_id))
        except (LeaseExhausted, StorageError, OutboxError) as exc:
            log.warning("%s not booked from a lease: %s", entry.local_reference, exc)
            return None
        if lease is None:
            return None
        log.info("%s booked from lease %s after all", entry.local_reference, lease["lease_id"])
        return lease["seal"]

    def _local_receipt(self, outbox: OutboxSender, entry: Entry) -> SubmissionReceipt:
        """What the citizen's offline ticket says: the LOK reference is the only number."""
        office = outbox.outbox.meta("office_name") or f"Disdukcapil {self._central.office_code}"
        return SubmissionReceipt(
            registration_number=entry.local_reference,
            queue_number="-",
            status="queued",
            service=entry.service,
            office_code=self._central.office_code,
            office_name=office,
            slot=entry.slot,
            created_at=entry.created_at,
        )

    def _refused(self, generation: int, app: Application) -> None:
        """Tell the citizen the application was not stored: on screen, spoken, and printed."""
        with self._core.lock:
            self._key = None  # nothing was stored under it: a retry is a new attempt
        printed = self._printing.print_refusal(
            info=app.info,
            identity=app.identity,
            slot=app.slot,
            language=app.language,
            why=STORAGE_REFUSED,
        )
        message = STORAGE_REFUSED
        if printed:
            message = STORAGE_REFUSED.then(REFUSAL_PRINTED)
        self._failed(generation, message)

    def _failed(self, generation: int, message: Text, reload_slots: bool = False) -> None:
        core = self._core
        with core.lock:
            if not core.is_current(generation):
                return
            self._busy = False
            core.machine.submit_failed(message, core.now())
            core.message = message
            if reload_slots:
                core.machine.previous_page(core.now())
                self._key = None
        core.publish()
        if reload_slots:
            self._schedule.load()
