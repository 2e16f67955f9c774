"""An application's timeline in plain words: what happened, what comes next, what to bring, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.dates import long_date
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot

T = Text


@dataclass(frozen=True)
class Happened:
    """One recorded step: the officer's action and when (ISO 8601, WIB)."""

    action: str
    at: str


@dataclass(frozen=True)
class IssuedCopy:
    """The issued document as far as the card holder may see it."""

    document_number: str
    print_state: str  # ready | reserved | printed | revoked | not_printable (a card)
    print_code: str | None  # shown only while it can still be used
    printed_at: str | None
    delivery: bool  # the citizen chose delivery by Pos
    tracking: str = ""


@dataclass(frozen=True)
class ApplicationRecord:
    """The card holder's own application as the central server describes it."""

    registration_number: str
    service: str
    status: str
    queue_number: str
    slot: Slot
    created_at: str
    events: tuple[Happened, ...] = ()
    fix_notes: tuple[tuple[str, str], ...] = ()
    reason: str = ""
    document: IssuedCopy | None = None


@dataclass(frozen=True)
class Step:
    """One line of the timeline: what happened, and when (already formatted)."""

    what: Text
    when: Text


@dataclass(frozen=True)
class Timeline:
    """Everything the status screen says about one application."""

    title: Text
    registration_number: str
    steps: tuple[Step, ...]
    next: Text
    bring: tuple[Text, ...]
    when: Text | None  # the verification appointment, while it still matters
    print_code: str | None  # only on the card holder's own screen
    printable: bool  # the document can be printed at the kiosk now
    document_number: str = ""


SENT = T("Pra-permohonan Anda terkirim.", "Your pre-application was sent.")
UPDATED = T("Petugas memperbarui permohonan Anda.", "An officer updated your application.")
HAPPENED: dict[str, Text] = {
    "submitted": SENT,
    "submit": SENT,
    "review": T("Petugas mulai memeriksa data Anda.", "An officer started checking your data."),
    "ask_fix": T(
        "Petugas meminta Anda memperbaiki data.", "An officer asked you to fix your data."
    ),
    "resubmit": T("Perbaikan Anda sudah diterima.", "Your corrections were received."),
    "approve": T(
        "Data Anda disetujui; jadwal verifikasi sudah pasti.",
        "Your data was approved; the verification appointment is confirmed.",
    ),
    "arrive": T(
        "Anda hadir di loket untuk verifikasi.", "You came to the counter for verification."
    ),
    "verify": T("Dokumen asli Anda sudah diperiksa petugas.", "An officer checked your originals."),
    "issue": T("Dokumen Anda sudah terbit.", "Your document has been issued."),
    "collect": T("Dokumen sudah diambil.", "The document was collected."),
    "deliver": T("Dokumen dikirim lewat Pos.", "The document was sent by Pos."),
    "reject": T("Permohonan ditolak.", "The application was rejected."),
}
NEXT: dict[str, Text] = {
    "submitted": T(
        "Petugas akan memeriksa data Anda. Kabar berikutnya dikirim lewat SMS atau WhatsApp.",
        "An officer will check your data. You will hear from us by SMS or WhatsApp.",
    ),
    "under_review": T(
        "Tunggu kabar dari petugas. Tidak perlu datang sebelum jadwal.",
        "Wait to hear from the officer. No need to come before your appointment.",
    ),
    "needs_fixing": T(
        "Perbaiki yang diminta petugas di loket pelayanan, dengan membawa nomor registrasi ini.",
        "Fix what the officer asked for at the service counter; bring this registration number.",
    ),
    "approved": T(
        "Datang ke kantor Disdukcapil pada jadwal verifikasi.",
        "Come to the Disdukcapil office at your verification appointment.",
    ),
    "verified": T(
        "Petugas sedang menerbitkan dokumen Anda. Anda akan dikabari bila sudah terbit.",
        "The officer is issuing your document. You will be told when it is ready.",
    ),
    "collected": T(
        "Selesai. Tidak ada lagi yang perlu Anda lakukan.",
        "Done. There is nothing more you need to do.",
    ),
    "delivered": T(
        "Tunggu kiriman Pos di alamat Anda.", "Wait for the Pos delivery at your address."
    ),
    "rejected": T(
        "Tanyakan alasannya di loket pelayanan. Anda boleh mengajukan lagi.",
        "Ask at the service counter why. You may apply again.",
    ),
}
UNKNOWN_NEXT = T("Tanyakan ke petugas di loket pelayanan.", "Please ask at the service counter.")
PRINT_HERE = T(
    "Cetak dokumen Anda di anjungan ini: menu Cetak Dokumen. Kode cetak hanya berlaku satu kali.",
    "Print your document at this kiosk: the Print documents menu. The print code works only once.",
)
PRINTED = T(
    "Dokumen sudah dicetak pada {when}. Bila hilang atau rusak, tanyakan ke loket pelayanan.",
    "The document was printed on {when}. If it is lost or damaged, ask at the service counter.",
)
AT_OFFICE = T(
    "Ambil dokumen Anda di kantor Disdukcapil dengan membawa e-KTP dan tiket.",
    "Collect your document at the Disdukcapil office; bring your e-KTP and ticket.",
)
BY_POS = T(
    "Dokumen akan dikirim lewat Pos ke alamat Anda.",
    "The document will be sent by Pos to your address.",
)
REVOKED = T(
    "Dokumen ini dibatalkan. Silakan ke loket pelayanan.",
    "This document was cancelled. Please go to the service counter.",
)
ISSUED_AS = T(
    "Dokumen Anda sudah terbit, nomor {number}.", "Your document has been issued, number {number}."
)
SENT_AS = T(
    "Dokumen dikirim lewat Pos, nomor resi {tracking}.",
    "The document was sent by Pos, tracking number {tracking}.",
)
ASKED_FIX = T("Petugas meminta perbaikan: {notes}.", "The officer asked you to fix: {notes}.")
REJECTED_BECAUSE = T("Permohonan ditolak: {reason}.", "The application was rejected: {reason}.")
APPOINTMENT = T("{date}, pukul {window} WIB", "{date}, at {window} WIB")
APPOINTMENT_QUEUE = T(
    "{date}, pukul {window} WIB, nomor antrean {queue}",
    "{date}, at {window} WIB, queue number {queue}",
)
BRING_KTP = T("e-KTP Anda", "Your e-KTP")
BRING_TICKET = T("Tiket atau tanda terima pra-permohonan", "The pre-application ticket or receipt")
BRING_ORIGINALS = T("Dokumen asli: {document}", "Original: {document}")
SLOT_MATTERS = frozenset({"submitted", "under_review", "needs_fixing", "approved"})


AT_TIME = T("{date} pukul {time}", "{date} at {time}")


def when_text(at: str) -> Text:
    """An ISO time as people read it, the date as on every screen: "Senin, 23 November 2026
    pukul 10.15" (the server's WIB clock)."""
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return T(at[:16], at[:16])
    time = moment.strftime("%H.%M")
    day = moment.date()
    return T(
        AT_TIME.id.format(date=long_date(day, "id"), time=time),
        AT_TIME.en.format(date=long_date(day, "en"), time=time),
    )


def _step(record: ApplicationRecord, event: Happened) -> Step:
    """One event as a sentence, with the details that belong to it."""
    what = HAPPENED.get(event.action, UPDATED)
    if event.action == "ask_fix" and record.fix_notes:
        notes = "; ".join(f"{target}: {note}" for target, note in record.fix_notes)
        what = ASKED_FIX.format(notes=notes)
    elif event.action == "reject" and record.reason:
        what = REJECTED_BECAUSE.format(reason=record.reason)
    elif event.action == "issue" and record.document is not None:
        what = ISSUED_AS.format(number=record.document.document_number)
    elif event.action == "deliver" and record.document is not None and record.document.tracking:
        what = SENT_AS.format(tracking=record.document.tracking)
    return Step(what, when_text(event.at))


def _document_next(document: IssuedCopy | None) -> tuple[Text, bool]:
    """What to do with an issued document, and whether the kiosk can print it now."""
    if document is None:
        return UNKNOWN_NEXT, False
    if document.print_state == "revoked":
        return REVOKED, False
    if document.print_state == "printed":
        return PRINTED.format(when=when_text(document.printed_at or "")), False
    if document.delivery:
        return BY_POS, False
    if document.print_state == "not_printable":
        return AT_OFFICE, False
    return PRINT_HERE, True


def _bring(record: ApplicationRecord) -> tuple[Text, ...]:
    """What to bring to the office for the application's next step."""
    info = SERVICES.get(record.service)
    originals = tuple(
        BRING_ORIGINALS.format(document=d) for d in (info.required_documents if info else ())
    )
    if record.status in ("submitted", "under_review", "approved"):
        return (BRING_KTP, BRING_TICKET, *originals)
    if record.status == "needs_fixing":
        return (BRING_KTP, BRING_TICKET)
    if record.status == "document_ready" and record.document is not None:
        return (BRING_KTP,) if not record.document.delivery else ()
    return ()


def timeline(record: ApplicationRecord) -> Timeline:
    """The application's story so far and its next step, in plain words."""
    info = SERVICES.get(record.service)
    title = info.title if info else T(record.service, record.service)
    steps = (
        []
        if any(e.action == "submit" for e in record.events)
        else [Step(SENT, when_text(record.created_at))]
    )  # rows from before the submit event existed
    steps += [_step(record, e) for e in record.events]
    printable = False
    if record.status == "document_ready":
        next_text, printable = _document_next(record.document)
    else:
        next_text = NEXT.get(record.status, UNKNOWN_NEXT)
    when = None
    if record.status in SLOT_MATTERS:
        template = APPOINTMENT_QUEUE if record.status == "approved" else APPOINTMENT
        values = {"window": record.slot.window, "queue": record.queue_number}
        when = T(
            template.id.format(date=long_date(record.slot.date, "id"), **values),
            template.en.format(date=long_date(record.slot.date, "en"), **values),
        )
    code = record.document.print_code if record.document and printable else None
    number = record.document.document_number if record.document else ""
    return Timeline(
        title,
        record.registration_number,
        tuple(steps),
        next_text,
        _bring(record),
        when,
        code,
        printable,
        number,
    )
