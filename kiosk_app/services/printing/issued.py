"""Printing an issued document at the kiosk: reserve on the server, print, then confirm once."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from drivers.errors import DeviceError
from kiosk_app.central import CentralClient, CentralError, CentralUnavailable
from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.text import Text
from kiosk_app.domain.timeline import when_text
from kiosk_app.services.printing.journal import CodeAlreadyUsed
from kiosk_app.services.printing.service import PrintingService

log = logging.getLogger(__name__)
CODE_LETTERS = "ACEFHJKMNPRTWXY34679"  # central_server.print_codes.ALPHABET
CODE_LENGTH = 8
CONFIRM_TRIES = 3

PRINTED = Text(
    "Dokumen {number} sudah dicetak. Ambil kertasnya di bawah layar.",
    "Document {number} has been printed. Take the paper from below the screen.",
)
BAD_CODE = Text(
    "Kode cetak terdiri dari 8 huruf dan angka, misalnya ACEF-HJ34. Periksa lagi "
    "kode pada SMS atau WhatsApp Anda.",
    "A print code has 8 letters and digits, like ACEF-HJ34. Check the code in "
    "your SMS or WhatsApp again.",
)
UNKNOWN_CODE = Text(
    "Kode cetak ini tidak dikenal. Periksa lagi kode pada SMS atau WhatsApp Anda.",
    "This print code is not known. Check the code in your SMS or WhatsApp again.",
)
ALREADY_PRINTED = Text(
    "Dokumen ini sudah dicetak pada {when}; kode cetak hanya berlaku satu kali. Bila hilang "
    "atau rusak, tanyakan ke loket pelayanan {office}.",
    "This document was already printed on {when}; a print code works only once. If it is "
    "lost or damaged, ask at the service counter of {office}.",
)
ALREADY_HERE = Text(
    "Dokumen ini sudah dicetak di anjungan ini. Silakan tanyakan ke petugas.",
    "This document was already printed at this kiosk. Please ask an attendant.",
)
BUSY = Text(
    "Dokumen ini sedang dicetak di anjungan lain. Coba lagi 10 menit lagi, atau tanyakan "
    "ke petugas.",
    "This document is being printed at another kiosk. Try again in 10 minutes, or ask "
    "an attendant.",
)
REVOKED = Text(
    "Dokumen ini sudah dibatalkan dan tidak dapat dicetak. Silakan ke loket pelayanan.",
    "This document was cancelled and cannot be printed. Please go to the counter.",
)
TYPE_CODE = Text(
    "Ketik dulu kode cetak dari SMS, WhatsApp atau email Anda, lalu tekan tombol dokumen Anda.",
    "First type the print code from your SMS, WhatsApp or email, then press your "
    "document's button.",
)
NOT_YOURS = Text(
    "Dokumen tidak ditemukan untuk e-KTP ini. Ketik kode cetak dari SMS Anda.",
    "No document was found for this e-KTP. Type the print code from your SMS.",
)
NOT_PRINTABLE = Text(
    "Dokumen ini berupa kartu dan dibuat di kantor Disdukcapil, tidak dicetak di anjungan.",
    "This document is a card made at the Disdukcapil office, not printed at the kiosk.",
)
STILL_VALID = Text(
    "Dokumen belum tercetak, dan kode cetak Anda tetap berlaku: coba lagi nanti.",
    "The document was not printed, and your print code still works: try later.",
)
RATE_LIMITED = Text(
    "Terlalu banyak percobaan. Silakan coba lagi dalam {seconds} detik.",
    "Too many tries. Please try again in {seconds} seconds.",
)
KIOSK_BUDGET = Text(
    "Demi perlindungan data pribadi, anjungan ini sementara tidak dapat membuka data "
    "permohonan atau mencetak dokumen. Silakan coba lagi dalam {wait}, atau tanyakan ke "
    "petugas. Permohonan dan kode cetak Anda tetap aman.",
    "To protect personal data, this kiosk cannot open application data or print documents "
    "for a while. Please try again in {wait}, or ask an attendant. Your applications and "
    "print code are safe.",
)
BUDGET_CODE = "kiosk_lookup_budget"  # central_server.card_holder_gate: the kiosk's, in citizens
SERVER_DOWN = Text(
    "Server pusat tidak dapat dihubungi, jadi dokumen belum bisa dicetak. Kode "
    "cetak Anda tetap berlaku; coba lagi nanti.",
    "The central server cannot be reached, so the document cannot be printed "
    "now. Your print code still works; try again later.",
)
FAILED = Text(
    "Dokumen tidak dapat dicetak saat ini. Silakan tanyakan ke petugas.",
    "The document cannot be printed right now. Please ask an attendant.",
)


def wait_words(seconds: float | None) -> Text:
    """ "45 detik" / "45 seconds", or whole minutes from two minutes on (rounded up)."""
    wait = max(1, math.ceil(seconds if seconds is not None else 60))
    if wait < 120:
        return Text(f"{wait} detik", f"{wait} seconds")
    minutes = math.ceil(wait / 60)
    return Text(f"{minutes} menit", f"{minutes} minutes")


def unavailable_refusal(exc: CentralUnavailable, server_down: Text) -> Text:
    """What to tell the citizen when the server did not act: its 429 (this card's own limit;
    `budget_refusal` tells the kiosk's) with the wait, else `server_down`."""
    if exc.status == 429:
        return RATE_LIMITED.format(seconds=max(1, math.ceil(exc.retry_after or 30)))
    return server_down


def budget_refusal(exc: CentralError, what: str) -> Text | None:
    """The citizen's words when the server refused `what` because this kiosk's card-holder
    look-ups are used up (429 kiosk_lookup_budget; None for any other error), after the
    technician's log line: the kiosk, not the citizen, asked too often."""
    if exc.status != 429 or exc.code != BUDGET_CODE:
        return None
    seconds = exc.retry_after if isinstance(exc, CentralUnavailable) else None
    wait = wait_words(seconds)
    log.error(
        "%s refused: this kiosk's card-holder look-up budget on the central server is used "
        "up (429 %s, retry after %s); the fleet dashboard shows alert lookup_budget. Many "
        "look-ups in a short time: check who used the kiosk (or its token)",
        what,
        BUDGET_CODE,
        wait.en,
    )
    return KIOSK_BUDGET.format(wait=wait)


@dataclass(frozen=True)
class IssuedPrintResult:
    """How one print attempt ended, in the citizen's words."""

    printed: bool
    document_number: str
    messages: tuple[Text, ...]


def normalize_code(typed: str) -> str | None:
    """ACEFHJ34 from what was typed (case, spaces and dashes ignored); None if it cannot be one."""
    code = "".join(c for c in typed.upper() if c not in " -")
    if len(code) != CODE_LENGTH or any(c not in CODE_LETTERS for c in code):
        return None
    return code


def short_office(name: str) -> str:
    """ "Disdukcapil Kabupaten Jombang" for the office's long official name."""
    long_form = "Dinas Kependudukan dan Pencatatan Sipil"
    return name.replace(long_form, "Disdukcapil") if name else "Disdukcapil"


class IssuedDocumentPrint:
    """Prints issued documents exactly once per code; every step is logged without names."""

    def __init__(
        self, central: CentralClient, printing: PrintingService, retry_pause_s: float = 0.5
    ) -> None:
        self._central = central
        self._printing = printing
        self._retry_pause_s = retry_pause_s

    def print_document(
        self, nik: str, *, code: str | None = None, registration_number: str | None = None
    ) -> IssuedPrintResult:
        """Reserve, print and confirm; a failed print gives the code back."""
        who = mask_nik(nik)
        if code is not None and not code.strip():
            return IssuedPrintResult(False, "", (TYPE_CODE,))  # the server never tells a code
        if code is not None:
            code = normalize_code(code)
            if code is None:
                return IssuedPrintResult(False, "", (BAD_CODE,))
        try:
            held = self._central.reserve_print(
                nik, code=code, registration_number=registration_number
            )
        except CentralError as exc:
            refusal = budget_refusal(exc, f"reserving a document print for nik={who}")
            return IssuedPrintResult(False, "", (refusal or self._refusal(exc),))
        except Exception:
            log.exception("reserving a document print for nik=%s crashed", who)
            return IssuedPrintResult(False, "", (FAILED,))
        number = held.document_number
        log.info("printing document %s for nik=%s", number, who)
        try:
            self._printing.print_issued_document(
                held.pdf, number, actor=who, code_ref=held.print_ref
            )
        except CodeAlreadyUsed as exc:
            log.warning("document %s not printed again: %s", number, exc)
            self._release(held.token, nik, "already in this kiosk's journal")
            return IssuedPrintResult(False, number, (ALREADY_HERE,))
        except DeviceError as exc:
            log.warning("document %s printing failed: %s: %s", number, type(exc).__name__, exc)
            self._release(held.token, nik, type(exc).__name__)
            return IssuedPrintResult(False, number, (exc.citizen_message, STILL_VALID))
        except Exception as exc:
            log.exception("document %s printing crashed", number)
            self._release(held.token, nik, type(exc).__name__)
            return IssuedPrintResult(False, number, (DeviceError.citizen_message, STILL_VALID))
        self._confirm(held.token, nik, number)
        return IssuedPrintResult(True, number, (PRINTED.format(number=number),))

    def _confirm(self, token: str, nik: str, number: str) -> None:
        """Tell the server the code is used; retried, since the paper is already out."""
        for attempt in range(1, CONFIRM_TRIES + 1):
            try:
                self._central.confirm_print(token, nik)
                log.info("document %s printed and confirmed for nik=%s", number, mask_nik(nik))
                return
            except CentralError as exc:
                if not exc.retriable or attempt == CONFIRM_TRIES:
                    log.error(
                        "document %s printed but not confirmed: %s (the reservation lapses;"
                        " this kiosk's journal refuses a second print)",
                        number,
                        exc,
                    )
                    return
            time.sleep(self._retry_pause_s * attempt)

    def _release(self, token: str, nik: str, reason: str) -> None:
        """Give the code back; if that fails the reservation lapses on the server by itself."""
        try:
            self._central.release_print(token, nik, reason)
        except CentralError as exc:
            log.warning("print reservation not released (it lapses by itself): %s", exc)

    @staticmethod
    def _refusal(exc: CentralError) -> Text:
        """The server's refusal in the citizen's words."""
        if isinstance(exc, CentralUnavailable):
            return unavailable_refusal(exc, SERVER_DOWN)
        if exc.code == "already_printed":
            when = when_text(str(exc.extra.get("printed_at", "")))
            office = short_office(str(exc.extra.get("office_name") or ""))
            return ALREADY_PRINTED.format(when=when, office=office)
        return {
            "unknown_code": UNKNOWN_CODE,
            "busy": BUSY,
            "revoked": REVOKED,
            "not_found": NOT_YOURS,
            "not_issued": NOT_YOURS,
            "not_printable": NOT_PRINTABLE,
        }.get(exc.code or "", FAILED)
