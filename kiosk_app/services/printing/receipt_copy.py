"""A lost pre-application receipt printed again from the central server's data.

The kiosk keeps no printed receipt (personal data is wiped after each visit): the card holder's
own application is fetched again, bound to the NIK on the e-KTP in the reader, with a fresh
seal of the server's key (central_server.receipt_copies), then printed as the original was
(thermal ticket and A4 receipt, through PrintingService and its journal) marked "CETAK ULANG"
with the time of the copy. The server limits the copies of one application a day and audits
each one; what fails to print is journalled like any receipt, for an attendant's reprint.

The kiosk reports how each copy printed (kiosk_app.services.printing.copy_outcomes: durable,
sent once by its key). Nothing came out (neither the ticket nor the A4): the server gives the
copy back, it does not count toward the day's limit, and the citizen is told so. One of the two
came out: the citizen holds a sealed receipt (the ticket's QR or the A4), the copy counts, and
the missing part waits in the print journal for the attendant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kiosk_app.central import CentralClient, CentralError, CentralUnavailable, SubmissionReceipt
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.identity import Identity, mask_nik
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import COPY_NOTE
from kiosk_app.services.printing.copy_outcomes import CopyOutcomes
from kiosk_app.services.printing.issued import budget_refusal, unavailable_refusal
from kiosk_app.services.printing.service import (
    STATUS_SUBMITTED,
    CopyMark,
    PrintingService,
    PrintResult,
)

log = logging.getLogger(__name__)

# The statuses whose receipt is printed again (central_server.receipt_copies.COPYABLE).
COPYABLE = frozenset({"submitted", "under_review", "needs_fixing", "approved"})

COPIED = Text(
    "Tanda terima {number} sudah dicetak ulang. Ambil tiket dan kertas A4 di bawah layar.",
    "Receipt {number} has been printed again. Take the ticket and the A4 sheet from below "
    "the screen.",
)
COPIES_LEFT = Text(
    "Tanda terima ini masih dapat dicetak ulang {left} kali hari ini.",
    "This receipt can be printed again {left} more times today.",
)
COPY_LIMIT = Text(
    "Tanda terima ini sudah dicetak ulang {limit} kali hari ini, batas per hari. Silakan coba "
    "lagi besok, atau tanyakan ke petugas di loket. Permohonan Anda tetap tercatat.",
    "This receipt was already printed again {limit} times today, the daily limit. Please try "
    "again tomorrow, or ask an officer at the counter. Your application stays recorded.",
)
NOT_COPYABLE = Text(
    "Tanda terima permohonan ini tidak dicetak ulang: verifikasinya sudah selesai atau "
    "permohonan ditolak. Lihat langkah berikutnya di layar.",
    "This application's receipt is not printed again: its verification is done or it was "
    "rejected. See the next step on the screen.",
)
NOT_FOUND = Text(
    "Permohonan ini tidak ditemukan untuk e-KTP ini.",
    "This application was not found for this e-KTP.",
)
SERVER_DOWN = Text(
    "Server pusat tidak dapat dihubungi, jadi tanda terima belum bisa dicetak ulang. Coba "
    "lagi nanti; permohonan Anda tetap tercatat.",
    "The central server cannot be reached, so the receipt cannot be printed again now. Try "
    "again later; your application stays recorded.",
)
FAILED = Text(
    "Tanda terima tidak dapat dicetak ulang saat ini. Silakan tanyakan ke petugas.",
    "The receipt cannot be printed again right now. Please ask an attendant.",
)
NOT_COUNTED = Text(
    "Tanda terima tidak tercetak karena gangguan printer kios, jadi cetak ulang ini tidak "
    "dihitung dalam batas harian. Silakan coba lagi di kios lain atau minta bantuan petugas.",
    "The receipt did not print because of a kiosk printer fault, so this copy does not count "
    "toward the daily limit. Please try again at another kiosk or ask the attendant.",
)
NOT_COUNTED_LATER = Text(
    "Tanda terima tidak tercetak karena gangguan printer kios. Cetak ulang ini tidak akan "
    "dihitung dalam batas harian begitu kios tersambung lagi ke server pusat. Silakan minta "
    "bantuan petugas.",
    "The receipt did not print because of a kiosk printer fault. This copy will not count "
    "toward the daily limit once the kiosk reaches the central server again. Please ask the "
    "attendant.",
)
PARTLY_COUNTED = Text(
    "Sebagian tanda terima sudah tercetak, jadi cetak ulang ini tetap dihitung. Bagian yang "
    "belum tercetak dapat dicetak petugas tanpa mengurangi jatah Anda.",
    "Part of the receipt did print, so this copy counts. The part that did not print can be "
    "printed by the attendant without using up another copy.",
)
ATTENDANT_CALLED = Text(
    "Petugas sudah dipanggil dan dapat mencetaknya untuk Anda setelah printer diperbaiki.",
    "An attendant has been called and can print it for you once the printer is fixed.",
)
STATUS_WORDS = {
    "approved": Text(
        "Disetujui; datang pada jadwal verifikasi dengan dokumen asli",
        "Approved; come at the verification time with the originals",
    ),
    "needs_fixing": Text(
        "Perlu perbaikan data; lihat pesan dari petugas",
        "Data to be fixed; see the officer's message",
    ),
}


@dataclass(frozen=True)
class CopyResult:
    """How a copy ended: what printed, the citizen's words, and why an attendant is called."""

    ticket_printed: bool
    receipt_printed: bool
    messages: tuple[Text, ...]
    attendant_reason: str = ""  # not "": a printer failed, call an attendant


def copy_stamp(moment: datetime) -> str:
    """The copy's time as printed: "07-12-2026 10.15"."""
    return moment.strftime("%d-%m-%Y %H.%M")


class ReceiptCopyPrint:
    """Fetches the card holder's receipt from the central server and prints it again."""

    def __init__(
        self,
        central: CentralClient,
        printing: PrintingService,
        now: Callable[[], datetime] = datetime.now,
        outcomes: CopyOutcomes | None = None,
    ) -> None:
        """`outcomes`: where each copy's print outcome goes to the server (None: not
        reported, so every copy counts)."""
        self._central = central
        self._printing = printing
        self._now = now
        self._outcomes = outcomes

    def print_copy(self, identity: Identity, registration_number: str, language: str) -> CopyResult:
        """Ask the server for the receipt (bound to the card's NIK) and print ticket and A4."""
        who = mask_nik(identity.nik)
        try:
            data = self._central.receipt_copy(identity.nik, registration_number)
        except CentralError as exc:
            what = f"receipt copy of {registration_number} for nik={who}"
            refusal = budget_refusal(exc, what)
            if refusal is None:
                log.warning("%s refused: %s", what, exc)
            return CopyResult(False, False, (refusal or self._refusal(exc),))
        except Exception:
            log.exception("receipt copy of %s for nik=%s crashed", registration_number, who)
            return CopyResult(False, False, (FAILED,))
        info = SERVICES.get(data.service)
        if info is None:
            log.error("receipt copy of %s: unknown service %r", registration_number, data.service)
            return CopyResult(False, False, (FAILED,))
        stamp = copy_stamp(self._now())
        log.info("printing a receipt copy of %s for nik=%s", registration_number, who)
        result = self._printing.print_pre_application(
            receipt=SubmissionReceipt(
                registration_number=data.registration_number,
                queue_number=data.queue_number,
                status=data.status,
                service=data.service,
                office_code="",
                office_name=data.office_name,
                slot=data.slot,
                created_at="",
            ),
            info=info,
            identity=identity,
            values=data.values,
            language=language,
            qr_payload=data.qr,
            extra_notes=(COPY_NOTE,),
            copied=CopyMark(
                at=stamp,
                status=STATUS_WORDS.get(data.status, STATUS_SUBMITTED),
                journal_tag=f"salinan {data.copied_at}",  # the server's time: one a copy
            ),
        )
        given_back = self._report(data.copy_id, result)
        if result.ticket_printed and result.receipt_printed:
            messages = [COPIED.format(number=data.registration_number)]
            if data.copies_left_today > 0:
                messages.append(COPIES_LEFT.format(left=data.copies_left_today))
            return CopyResult(True, True, tuple(messages))
        failed = [
            kind
            for kind, ok in (
                ("ticket", result.ticket_printed),
                ("A4 receipt", result.receipt_printed),
            )
            if not ok
        ]
        reason = f"receipt copy of {data.registration_number}: {' and '.join(failed)} not printed"
        said: tuple[Text, ...] = result.messages  # what failed, device by device
        if result.ticket_printed or result.receipt_printed:
            said = (*said, PARTLY_COUNTED)
        elif given_back is not None:  # nothing printed: that it does not count says it all
            said = (NOT_COUNTED,) if given_back else (NOT_COUNTED_LATER,)
        log.warning(
            "%s (copy %d, %s; %s; journalled for an attendant's reprint)",
            reason,
            data.copy_id,
            "; ".join(result.failures) or "no detail",
            _counted_words(result, given_back),
        )
        return CopyResult(
            result.ticket_printed,
            result.receipt_printed,
            (*said, ATTENDANT_CALLED),
            attendant_reason=reason,
        )

    def _report(self, copy_id: int, result: PrintResult) -> bool | None:
        """Report the copy's outcome; for a copy that printed nothing, whether the server
        gave it back already (False: queued, it will be), else None."""
        if self._outcomes is None or copy_id <= 0:
            return None
        nothing = not result.ticket_printed and not result.receipt_printed
        try:
            answer = self._outcomes.report(
                copy_id,
                ticket_printed=result.ticket_printed,
                receipt_printed=result.receipt_printed,
                failure="; ".join(result.failures),
                wait=nothing,  # the citizen is told whether it counts
            )
        except Exception:  # a report must never cost the citizen the screen
            log.exception("receipt copy %d: reporting its outcome crashed", copy_id)
            return False if nothing else None
        if not nothing:
            return None
        return answer is not None and not answer.counted

    @staticmethod
    def _refusal(exc: CentralError) -> Text:
        """The server's refusal in the citizen's words."""
        if isinstance(exc, CentralUnavailable):
            return unavailable_refusal(exc, SERVER_DOWN)
        if exc.code == "copy_limit":
            return COPY_LIMIT.format(limit=exc.extra.get("limit", 3))
        return {"not_copyable": NOT_COPYABLE, "not_found": NOT_FOUND}.get(exc.code or "", FAILED)


def _counted_words(result: PrintResult, given_back: bool | None) -> str:
    """The technician's words for what the copy costs the citizen."""
    if result.ticket_printed or result.receipt_printed:
        return "counted: part of it printed"
    if given_back is None:
        return "counted: outcome not reported"
    return "given back by the server" if given_back else "give-back queued for the server"
