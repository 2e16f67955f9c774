"""Printing service: turns a stored submission into a thermal ticket and an A4 receipt."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from drivers.document_printer.protocol import DocumentPrinter
from drivers.errors import DeviceError
from drivers.ticket_printer.protocol import TicketPrinter
from kiosk_app.central import CheckinAnswer, SubmissionReceipt
from kiosk_app.domain.catalogue import ServiceInfo
from kiosk_app.domain.dates import long_date
from kiosk_app.domain.identity import Identity, mask_name, mask_nik
from kiosk_app.domain.text import Text, as_language
from kiosk_app.domain.ticket import NOTES, CallingTicket, Letterhead, Receipt, Slot, Ticket
from kiosk_app.services.durable import StorageError
from kiosk_app.services.printing.journal import (
    DuplicatePrint,
    PrintJournal,
    calling_payload,
    calling_reference,
    kept_calling_payload,
    ticket_payload,
)
from kiosk_app.services.printing.receipt_vault import ReceiptSealer

log = logging.getLogger(__name__)

STATUS_SUBMITTED = Text(
    "Pra-permohonan diterima, menunggu verifikasi berkas asli",
    "Pre-application received, awaiting verification of the originals",
)
TICKET_FAILED_HINT = Text(
    "Tiket belum tercetak. Catat nomor registrasi di layar; petugas dapat mencetak ulang.",
    "The ticket was not printed. Note the registration number on screen; "
    "an attendant can reprint it.",
)
ASSISTED_NOTE = Text(
    "Pra-permohonan ini diisi dibantu petugas {attendant}.",
    "This pre-application was filled in with the help of attendant {attendant}.",
)
RECEIPT_FAILED_HINT = Text(
    "Tanda terima A4 belum tercetak. Petugas dapat mencetak ulang dengan nomor registrasi.",
    "The A4 receipt was not printed. An attendant can reprint it with the registration number.",
)
CALLING_TICKET_FAILED = Text(
    "Nomor panggilan belum tercetak. Catat nomor di layar; Anda tetap dipanggil dengan nomor "
    "itu. Petugas sudah diberi tahu.",
    "The calling number was not printed. Note the number on screen; you will still be called "
    "by it. An attendant has been told.",
)
CALLING_TICKET_PRINTED_BEFORE = Text(
    "Nomor antrean ini sudah dicetak tadi dan tidak dicetak lagi; nomornya tetap seperti di layar.",
    "This calling number was printed before and is not printed again; it stays as on screen.",
)
NOT_STORED = "TIDAK TERSIMPAN"  # where a refusal slip's registration number would be
NOT_BOOKED = Text(
    "Jadwal di atas BELUM dipesan dan permohonan ini BELUM tercatat.",
    "The date above is NOT booked and this application is NOT recorded.",
)


@dataclass(frozen=True)
class CopyMark:
    """A receipt printed again: when ("07-12-2026 10.15"), the status it shows, and the tag
    that keeps the copy's journal jobs apart from the original's ("salinan <time>")."""

    at: str
    status: Text
    journal_tag: str


@dataclass(frozen=True)
class PrintResult:
    """What got printed, and what to tell the citizen about what did not."""

    ticket_printed: bool
    receipt_printed: bool
    messages: tuple[Text, ...]
    failures: tuple[str, ...] = ()  # what failed, for the technician: "ticket: PaperOut"


class PrintingService:
    """The only caller of the ticket and A4 printers."""

    def __init__(
        self,
        ticket_printer: TicketPrinter,
        document_printer: DocumentPrinter,
        *,
        kiosk_id: str,
        journal: PrintJournal | None = None,
        now: Callable[[], datetime] = datetime.now,
        receipts: ReceiptSealer | None = None,
        letterhead: Letterhead | None = None,
    ) -> None:
        """`receipts`: seals each rendered receipt into its journal job for an attendant's
        reprint (wiped once printed, reprinted, dismissed or past its window); `letterhead`:
        the office's kop surat on the A4 receipt."""
        self._receipts = receipts
        self._letterhead = letterhead or Letterhead()
        self._journal = journal
        self._ticket_printer = ticket_printer
        self._document_printer = document_printer
        self._kiosk_id = kiosk_id
        self._now = now
        self.last_ticket: Ticket | None = None
        # The calling ticket's heading: the letterhead's office (a check-in has no receipt).
        self._office_name = self._letterhead.office or self._letterhead.government

    def _issued_at(self, language: str) -> str:
        """When it printed, the date as on every screen: "Senin, 7 Desember 2026 10.15"."""
        now = self._now()
        return f"{long_date(now.date(), language)} {now:%H.%M}"

    def print_pre_application(
        self,
        *,
        receipt: SubmissionReceipt,
        info: ServiceInfo,
        identity: Identity,
        values: Mapping[str, str],
        language: str,
        offline: bool = False,
        assisted_by: str = "",
        qr_payload: str | None = None,
        extra_notes: tuple[Text, ...] = (),
        copied: CopyMark | None = None,
    ) -> PrintResult:
        """Print the ticket then the receipt; a failure of one never stops the other.

        `offline`: the receipt carries the kiosk's local reference (the outbox sends it later).
        `assisted_by`: the attendant who filled in for the citizen ("dibantu petugas" is printed).
        `qr_payload`: what the QR carries (the kiosk's seal; None: the registration number);
        `extra_notes`: printed first (e.g. that the number is local and the date certain).
        `copied`: a copy the card holder asked for again ("CETAK ULANG" and its time, the
        application's status now); journalled as its own jobs, so a failed copy is an
        attendant's reprint like any other and a copy never counts as the original printed twice.
        """
        notes = (*extra_notes, *NOTES)
        if assisted_by:
            notes = (*notes, ASSISTED_NOTE.format(attendant=assisted_by))
        qr = receipt.registration_number if qr_payload is None else qr_payload
        issued_at = self._issued_at(language)
        copied_at = copied.at if copied is not None else ""
        ticket = Ticket(
            registration_number=receipt.registration_number,
            queue_number=receipt.queue_number,
            service=info.title,
            masked_name=mask_name(identity.name),
            slot=receipt.slot,
            office_name=receipt.office_name,
            qr_payload=qr,
            issued_at=issued_at,
            offline=offline,
            language=language,
            notes=notes,
            copied_at=copied_at,
        )
        self.last_ticket = ticket  # an attendant may reprint the last ticket (masked name only)
        a4 = Receipt(
            registration_number=receipt.registration_number,
            service=info.title,
            for_whom=info.subject(values),
            applicant_nik_masked=mask_nik(identity.nik),
            applicant_name=identity.name,
            address=_address(identity),
            status=copied.status if copied is not None else STATUS_SUBMITTED,
            slot=receipt.slot,
            purpose=info.purpose,
            office_name=receipt.office_name,
            qr_payload=qr,
            issued_at=issued_at,
            kiosk_id=self._kiosk_id,
            offline=offline,
            notes=notes,
            queue_number=receipt.queue_number,
            originals=info.required_documents,
            letterhead=self._letterhead,
            copied_at=copied_at,
        )
        messages: list[Text] = []
        failures: list[str] = []
        reference = receipt.registration_number
        title = f"receipt-{reference}"
        if copied is not None:
            reference, title = f"{reference} {copied.journal_tag}", f"receipt-copy-{reference}"
        ticket_ok = self._attempt(
            "ticket",
            reference,
            lambda: self._ticket_printer.print_ticket(ticket),
            messages,
            payload=ticket_payload(ticket),
            failures=failures,
        )
        if not ticket_ok:
            messages.append(TICKET_FAILED_HINT)

        def render() -> bytes:
            from kiosk_app.services.printing.receipt_pdf import (
                render_receipt_pdf,  # reportlab: ~0.2 s
            )

            summary = info.summary(values, as_language(language), mask=True)
            return render_receipt_pdf(a4, language, summary=summary)

        sealed: str | None = None
        if self._receipts is not None and self._journal is not None:
            # Rendered before the job is journalled, so the sealed copy goes in with it.
            pdf: bytes | None = None
            failure: Exception | None = None
            try:
                pdf = render()
            except Exception as exc:  # journalled as the receipt job's failure below
                failure = exc
            else:
                sealed = self._receipts.seal(reference, pdf)

            def print_receipt() -> None:
                if pdf is None:
                    assert failure is not None
                    raise failure
                self._document_printer.print_pdf(pdf, title)
        else:

            def print_receipt() -> None:
                pdf = render()
                self._document_printer.print_pdf(pdf, title)

        receipt_ok = self._attempt(
            "receipt", reference, print_receipt, messages, payload=sealed, failures=failures
        )
        if not receipt_ok:
            messages.append(RECEIPT_FAILED_HINT)
        return PrintResult(ticket_ok, receipt_ok, tuple(messages), tuple(failures))

    def print_issued_document(
        self, pdf: bytes, document_number: str, *, actor: str, code_ref: str
    ) -> None:
        """Print an issued document once per print code, journalled (CodeAlreadyUsed,
        DeviceError)."""
        if self._journal is None:
            self._document_printer.print_pdf(pdf, f"document-{document_number}")
            return
        with self._journal.track("document", document_number, actor=actor, code=code_ref):
            self._document_printer.print_pdf(pdf, f"document-{document_number}")

    def print_calling_ticket(
        self, answer: CheckinAnswer, *, service: Text, language: str
    ) -> Text | None:
        """Print a check-in's calling ticket, journalled like every ticket: once per calling
        number (a repeat check-in does not print it again, an attendant may), and one that
        did not print is printed by the next check-in of it or an attendant's reprint; None
        when it printed, else what to tell the citizen (CALLING_TICKET_FAILED: the printer)."""
        now = self._now()
        ticket = CallingTicket(
            calling_number=answer.calling_number,
            registration_number=answer.registration_number,
            service=service,
            counter_group=answer.counter_group,
            people_ahead=answer.people_ahead,
            estimated_wait_minutes=answer.estimated_wait_minutes,
            office_name=self._office_name,
            issued_at=now.strftime("%d-%m-%Y %H.%M"),
            language=language,
        )
        reference = calling_reference(ticket, now.date())
        try:
            if self._journal is None:
                self._ticket_printer.print_calling_ticket(ticket)
            else:
                payload = calling_payload(ticket)
                with self._journal.track("calling", reference, retry=True, payload=payload) as job:
                    self._ticket_printer.print_calling_ticket(ticket)
                self._keep_calling(job.id, ticket)
        except DuplicatePrint as exc:
            log.info("calling ticket %s not printed again: %s", reference, exc)
            return CALLING_TICKET_PRINTED_BEFORE
        except DeviceError as exc:
            log.warning("calling ticket %s not printed: %s: %s", reference, type(exc).__name__, exc)
            return CALLING_TICKET_FAILED
        except Exception:
            log.exception("calling ticket %s printing crashed", reference)
            return CALLING_TICKET_FAILED
        return None

    def _keep_calling(self, job_id: int, ticket: CallingTicket) -> None:
        """A printed calling ticket keeps what one attendant's reprint needs (nothing personal);
        a journal that cannot keep it costs only that reprint."""
        assert self._journal is not None
        try:
            self._journal.keep_for_reprint(job_id, kept_calling_payload(ticket))
        except StorageError as exc:
            log.warning("calling ticket job %d: kept nothing for a reprint: %s", job_id, exc)

    def print_refusal(
        self, *, info: ServiceInfo, identity: Identity, slot: Slot, language: str, why: Text
    ) -> bool:
        """Print a slip saying the application was NOT stored (never journalled: the journal's
        disk may be the one that refused); True when it printed."""
        slip = Ticket(
            registration_number=NOT_STORED,
            queue_number="-",
            service=info.title,
            masked_name=mask_name(identity.name),
            slot=slot,
            office_name="",
            qr_payload="",
            issued_at=self._issued_at(language),
            language=language,
            notes=(why, NOT_BOOKED),
        )
        try:
            self._ticket_printer.print_ticket(slip)
        except DeviceError as exc:
            log.warning("refusal slip not printed: %s: %s", type(exc).__name__, exc)
            return False
        except Exception:
            log.exception("refusal slip printing crashed")
            return False
        return True

    def _attempt(
        self,
        kind: str,
        reference: str,
        job: Callable[[], None],
        messages: list[Text],
        payload: str | None = None,
        failures: list[str] | None = None,
    ) -> bool:
        """Run one print, journalled before it is sent so a crash never loses or doubles it;
        what failed is added to `failures` ("ticket: PaperOut")."""
        try:
            if self._journal is None:
                job()
            else:
                with self._journal.track(kind, reference, payload=payload):
                    job()
        except DuplicatePrint as exc:
            log.warning("%s not printed again: %s", kind, exc)  # a reprint is the attendant's call
            messages.append(exc.citizen_message)
            failure = f"{kind}: {type(exc).__name__}"
        except DeviceError as exc:
            log.warning("%s printing failed: %s: %s", kind, type(exc).__name__, exc)
            messages.append(exc.citizen_message)
            failure = f"{kind}: {type(exc).__name__}"
        except Exception as exc:
            log.exception("%s printing crashed", kind)
            messages.append(DeviceError.citizen_message)
            failure = f"{kind}: crashed ({type(exc).__name__})"
        else:
            return True
        if failures is not None:
            failures.append(failure)
        return False


def _address(identity: Identity) -> str:
    parts = [
        identity.address,
        f"RT/RW {identity.rt_rw}" if identity.rt_rw else "",
        identity.kelurahan_desa,
        identity.kecamatan,
        identity.kabupaten_kota,
        identity.province,
    ]
    return ", ".join(p for p in parts if p)
