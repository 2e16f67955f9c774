"""The check-in journey: on the verification day the citizen exchanges the ticket (its QR, the
e-KTP, or the typed registration number) for a calling number, printed and said aloud."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from typing import Any

from drivers.barcode_scanner.protocol import Scanned, registration_number_in
from drivers.card_reader.protocol import (
    CardEvent,
    CardInserted,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
)
from kiosk_app.central import (
    CentralClient,
    CentralError,
    CentralUnavailable,
    CheckinAnswer,
    NotFound,
)
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.dates import long_date
from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.session import SessionState
from kiosk_app.domain.terbilang import calling_number_words
from kiosk_app.domain.text import Text
from kiosk_app.services.background import watched
from kiosk_app.services.printing.service import CALLING_TICKET_FAILED, PrintingService
from kiosk_app.services.receipt_seal import SealInvalid, parse_qr
from kiosk_app.services.receipt_seal import read as read_seal
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.number_entry import (
    MSG_INCOMPLETE,
    MSG_NOT_FOUND,
    MSG_NOT_OUR_CODE,
    NumberEntry,
)
from kiosk_app.services.session.ports import AttendantCall
from kiosk_app.services.session.views import CheckinResult, CheckinView

log = logging.getLogger(__name__)

T = Text
MSG_READING_CARD = T(
    "Membaca e-KTP... jangan angkat kartu dulu.", "Reading the e-KTP... keep the card in place."
)
MSG_CARD_FAILED = T(
    "e-KTP tidak terbaca. Tempelkan kembali, atau pindai QR pada tiket Anda.",
    "The e-KTP could not be read. Place it again, or scan the QR on your ticket.",
)
MSG_TOO_EARLY = T(
    "Anda datang lebih awal. Jadwal verifikasi Anda hari ini pukul {window} WIB; "
    "pengambilan nomor antrean dibuka pukul {come_back_at} WIB. Silakan kembali pukul "
    "{come_back_at} WIB.",
    "You are early. Your verification is today at {window} WIB; calling numbers for it are "
    "given from {come_back_at} WIB. Please come back at {come_back_at} WIB.",
)
MSG_TOO_LATE = T(
    "Waktu verifikasi Anda hari ini (pukul {window} WIB) sudah lewat. Jangan khawatir, data "
    "permohonan Anda tidak hilang: petugas dapat menjadwalkan ulang. Silakan ke meja petugas.",
    "Your verification time today ({window} WIB) is over. Do not worry, your application is "
    "not lost: an attendant can book a new date. Please go to the attendant's desk.",
)
MSG_NOT_FOUND_CARD = T(
    "Tidak ada jadwal verifikasi hari ini untuk e-KTP ini. Bila permohonannya atas nama orang "
    "lain (misalnya anak Anda), pindai QR pada tiketnya atau ketik nomor registrasinya.",
    "There is no verification booked today for this e-KTP. If the application is in someone "
    "else's name (your child's, say), scan the QR on its ticket or type its registration "
    "number.",
)
MSG_NOT_READY = T(
    "Permohonan ini belum siap diverifikasi (masih diperiksa atau perlu diperbaiki). Cek "
    "statusnya di menu 'Cek status permohonan' atau tanyakan ke petugas.",
    "This application is not ready for verification yet (still being checked, or it needs "
    "fixing). See its status under 'Check application status' or ask an attendant.",
)
MSG_REJECTED = T(
    "Permohonan ini ditolak, jadi tidak ada verifikasi. Silakan tanyakan ke petugas.",
    "This application was rejected, so there is no verification. Please ask an attendant.",
)
MSG_ALREADY_SERVED = T(
    "Verifikasi permohonan ini sudah selesai. Cek statusnya untuk langkah berikutnya.",
    "This application has already been verified. Check its status for the next step.",
)
MSG_OTHER_OFFICE = T(
    "Jadwal verifikasi Anda di kantor lain (kode {office}). Silakan datang ke kantor tersebut "
    "pada jadwal Anda, atau tanyakan ke petugas.",
    "Your verification is booked at another office (code {office}). Please go there at your "
    "appointment, or ask an attendant.",
)
MSG_BAD_SEAL = T(
    "Kode QR pada tiket ini tidak dapat dipastikan keasliannya. Silakan ketik nomor "
    "registrasinya atau tanyakan ke petugas.",
    "The QR code on this ticket could not be verified. Please type its registration number "
    "or ask an attendant.",
)
MSG_SERVER_DOWN = T(
    "Pengambilan nomor antrean memerlukan server pusat, yang sedang tidak dapat dihubungi. "
    "Petugas sudah dipanggil; silakan tunggu di sini sebentar.",
    "Getting a calling number needs the central server, which cannot be reached right now. "
    "An attendant has been called; please wait here a moment.",
)
MSG_FAILED = T(
    "Nomor antrean tidak dapat diambil saat ini. Silakan tanyakan ke petugas.",
    "A calling number cannot be given right now. Please ask an attendant.",
)
ANNOUNCEMENT = T(
    "Nomor antrean Anda {words}. Ada {people} orang di depan Anda, perkiraan menunggu "
    "{minutes} menit. Silakan duduk dan tunggu panggilan ke loket {group}.",
    "Your calling number is {number}. {people} people are ahead of you, an estimated wait of "
    "{minutes} minutes. Please take a seat and wait to be called to the {group} counter.",
)
ANNOUNCEMENT_NEXT = T(
    "Nomor antrean Anda {words}. Tidak ada antrean di depan Anda: silakan duduk, sebentar lagi "
    "Anda dipanggil ke loket {group}.",
    "Your calling number is {number}. Nobody is ahead of you: please take a seat, you will be "
    "called to the {group} counter shortly.",
)
PRIORITY_LANES = {
    "lansia": T("Anda di jalur prioritas lansia.", "You are in the priority lane (elderly)."),
    "disabilitas": T(
        "Anda di jalur prioritas disabilitas.", "You are in the priority lane (disability)."
    ),
    "ibu_hamil": T(
        "Anda di jalur prioritas ibu hamil.", "You are in the priority lane (pregnancy)."
    ),
}
MSG_NO_NUMBER_SHOWN = T(
    "Belum ada nomor antrean di layar: warga perlu mengambil nomor dahulu.",
    "No calling number is on screen: the citizen must get one first.",
)
# The refusals that still mean the verification is today: the check-in screen says them.
DUE_TODAY = frozenset({"too_early", "too_late"})
ANNOUNCEMENT_REPEAT = T(
    "Anda sudah mengambil nomor antrean tadi; nomornya tetap sama.",
    "You already have a calling number; it stays the same.",
)


def other_day(detail: dict[str, Any]) -> Text:
    """The booking is on another day: say the date, politely, and what to do (the seed's note:
    come on the date shown; an attendant can rebook; nothing is lost)."""
    window = str(detail.get("window") or "")
    try:
        day: date | None = date.fromisoformat(str(detail.get("date")))
    except ValueError:
        day = None
    at = (
        {"id": f" pukul {window} WIB", "en": f" at {window} WIB"}
        if window
        else {"id": "", "en": ""}
    )
    when_id = f"{long_date(day, 'id')}{at['id']}" if day else "tanggal yang tertera di tiket"
    when_en = f"{long_date(day, 'en')}{at['en']}" if day else "the date on your ticket"
    return T(
        f"Jadwal verifikasi Anda bukan hari ini, melainkan {when_id}. Silakan datang pada "
        "tanggal tersebut dengan membawa tiket dan dokumen asli. Bila tanggal itu sudah lewat "
        "atau Anda berhalangan, petugas dapat menjadwalkan ulang; data permohonan Anda tidak "
        "hilang.",
        f"Your verification is not today but on {when_en}. Please come on that date with "
        "your ticket and the original documents. If that date has passed or you cannot come, "
        "an attendant can book a new date; your application is not lost.",
    )


def qr_reference(text: str) -> str | None:
    """The registration number a ticket's or receipt's QR names: a signed seal's reference
    (read, not verified: the server checks), or a bare number; None when it names none."""
    sealed = parse_qr(text)
    if sealed is None:
        return registration_number_in(text)
    try:
        return registration_number_in(read_seal(sealed).reference)
    except SealInvalid:
        return None


def refusal_message(error: CentralError, field: str, value: str) -> tuple[Text, bool]:
    """The citizen's words for a refused check-in, and whether to call an attendant."""
    if isinstance(error, CentralUnavailable):
        return MSG_SERVER_DOWN, True
    if isinstance(error, NotFound):
        if field == "nik":
            return MSG_NOT_FOUND_CARD, False
        number = value if field == "registration_number" else qr_reference(value)
        return MSG_NOT_FOUND.format(number=number or "-"), False
    detail = error.extra
    code = error.code or ""
    if code == "too_early":
        return MSG_TOO_EARLY.format(
            window=detail.get("window", "-"), come_back_at=detail.get("come_back_at", "-")
        ), False
    if code == "too_late":
        return MSG_TOO_LATE.format(window=detail.get("window", "-")), False
    if code == "other_day":
        return other_day(detail), False
    if code == "not_ready":
        return MSG_NOT_READY, False
    if code == "rejected":
        return MSG_REJECTED, False
    if code == "already_served":
        return MSG_ALREADY_SERVED, False
    if code == "bad_seal":
        return MSG_BAD_SEAL, False
    if code == "other_office":
        return MSG_OTHER_OFFICE.format(office=detail.get("office_code", "-")), False
    if error.status == 404 or error.status == 405:  # a server without check-in (older)
        return MSG_SERVER_DOWN, True
    return MSG_FAILED, False


def announcement(answer: CheckinAnswer, group: str) -> Text:
    """What the kiosk says aloud: the number as Indonesian words ("A dua belas")."""
    try:
        words = calling_number_words(answer.calling_number)
    except ValueError:
        words = answer.calling_number
    said = (ANNOUNCEMENT if answer.people_ahead else ANNOUNCEMENT_NEXT).format(
        words=words,
        number=answer.calling_number,
        people=answer.people_ahead,
        minutes=answer.estimated_wait_minutes,
        group=group,
    )
    if answer.repeat:
        return T(f"{ANNOUNCEMENT_REPEAT.id} {said.id}", f"{ANNOUNCEMENT_REPEAT.en} {said.en}")
    return said


def describe(answer: CheckinAnswer) -> CheckinResult:
    """The server's answer as the screen shows and says it."""
    info = SERVICES.get(answer.service)
    service = info.title if info else T(answer.service_name, answer.service_name)
    said = announcement(answer, answer.counter_group or service.id)
    lane = PRIORITY_LANES.get(answer.priority)
    if lane is not None:
        said = T(f"{lane.id} {said.id}", f"{lane.en} {said.en}")
    return CheckinResult(
        calling_number=answer.calling_number,
        registration_number=answer.registration_number,
        service=service,
        counter_group=answer.counter_group,
        people_ahead=answer.people_ahead,
        estimated_wait_minutes=answer.estimated_wait_minutes,
        repeat=answer.repeat,
        announcement=said,
        priority=lane,
    )


class CheckinJourney:
    """Citizen actions of the CHECKIN state; QR reads and card taps there check in."""

    def __init__(
        self,
        core: SessionCore,
        *,
        central: CentralClient,
        printing: PrintingService,
        attendant: AttendantCall,
    ) -> None:
        """The office's PP.KK digits come pre-typed on the keypad."""
        self._core = core
        self._central = central
        self._printing = printing
        self._attendant = attendant
        self._entry = NumberEntry(central.office_code)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkin")
        self._generation = 0
        self._loading = False
        self._result: CheckinResult | None = None
        self._message: Text | None = None
        self._called = False
        self._closed = threading.Event()
        self._not_today: Callable[[str | None], None] | None = None
        core.on_visit_end(self._wipe)

    # -- opening and leaving -------------------------------------------------------------------
    def open_checkin(self) -> None:
        """Open the check-in; with a card holder (from the menu), check their booking at once."""
        core = self._core
        nik = ""
        with core.lock:
            if core.state() is not SessionState.CHECKIN and core.machine.open_checkin(core.now()):
                self._wipe()
                core.message = None
                identity = core.machine.identity
                nik = identity.nik if identity is not None else ""
        if nik:
            self._start("nik", nik)
        core.publish()

    def close_checkin(self) -> None:
        """Back to the menu (card holder) or the attract screen."""
        core = self._core
        with core.lock:
            if core.machine.close_checkin(core.now()):
                core.end_visit()
                core.message = None
        core.publish()

    # -- the keypad ----------------------------------------------------------------------------
    def prefix(self, prefix: str) -> None:
        """Choose the service prefix of the number being typed."""
        with self._core.lock:
            if not self._activity() or not self._entry.set_prefix(prefix):
                return
            self._message = None
        self._core.publish()

    def key(self, key: str) -> None:
        """A keypad key: a digit, backspace, clear, or done (check in by the typed number)."""
        core = self._core
        with core.lock:
            if not self._activity():
                return
            if key == "done":
                number = self._entry.number
                if number is None:
                    self._message = MSG_INCOMPLETE.format(missing=self._entry.missing)
            elif not self._entry.key(key):
                return
            else:
                self._message, number = None, None
        if key == "done" and number is not None:
            self._start("registration_number", number)
        core.publish()

    # -- the barcode scanner and the card reader ---------------------------------------------
    def scanned(self, event: Scanned) -> bool:
        """Scanner thread: in the check-in, a ticket's or receipt's QR checks in (True)."""
        core = self._core
        with core.lock:
            if core.state() is not SessionState.CHECKIN:
                return False
            core.touch()
            text = event.text.strip()
            reference = qr_reference(text)
            ours = reference is not None or parse_qr(text) is not None
            if not ours:
                log.info("QR read at check-in is not a ticket's (%d characters)", len(text))
                self._generation += 1
                self._loading, self._result, self._message = False, None, MSG_NOT_OUR_CODE
            else:
                self._entry.fill(reference)
        if ours:
            self._start("seal", text)
        core.publish()
        return True

    def arrived(self, event: Scanned, not_today: Callable[[str | None], None]) -> bool:
        """Scanner thread, the attract or goodbye screen: a ticket's or receipt's QR is first
        a check-in, since the server knows whether its verification is today. A calling
        number, or "too early" or "too late" today, is the check-in's answer; any other (a
        booking on another day, not approved yet, verified, unknown, no server) hands the
        QR's number to `not_today` (the status check). True when taken."""
        core = self._core
        text = event.text.strip()
        reference = qr_reference(text)
        if reference is None and parse_qr(text) is None:
            return False  # not one of ours: the status check says so
        with core.lock:
            if core.state() not in (SessionState.ATTRACT, SessionState.GOODBYE):
                return False
            core.end_visit()
            if not core.machine.open_checkin(core.now()):
                return False
            self._wipe()
            core.message = None
            self._entry.fill(reference)
            self._not_today = not_today
        log.info("QR read on the attract screen: check-in first (%s)", reference or "sealed")
        self._start("seal", text, arrival=reference or "")
        core.publish()
        return True

    def card_event(self, event: CardEvent) -> bool:
        """A card on the reader during an anonymous check-in: a tap that checks in the holder's
        booking for today, without opening a visit (True when consumed; lock held)."""
        core = self._core
        if core.state() is not SessionState.CHECKIN or core.machine.identity is not None:
            return False
        if isinstance(event, CardInserted):
            core.touch()
            self._message = MSG_READING_CARD
        elif isinstance(event, IdentityRead):
            nik = event.identity.nik
            event.identity.wipe()  # only the NIK travels, nothing of the card stays
            log.info("card tapped at check-in: NIK %s", mask_nik(nik))
            self._message = None
            self._start("nik", nik)
        elif isinstance(event, CardReadFailed):
            log.info("card at check-in not read: %s", type(event.error).__name__)
            self._message = MSG_CARD_FAILED
        elif not isinstance(event, CardRemoved):
            return False
        return True

    # -- the check-in itself -----------------------------------------------------------------
    def _start(self, field: str, value: str, arrival: str | None = None) -> None:
        """Ask the server on the worker (one check-in at a time), then print and show;
        `arrival`: a QR read on the attract screen (its number), shown as a status unless
        the check-in is due today."""
        with self._core.lock:
            if self._loading or self._closed.is_set():
                return
            self._generation += 1
            generation, visit = self._generation, self._core.generation
            language = self._core.language
            self._loading, self._result, self._message, self._called = True, None, None, False
        try:
            watched(
                self._worker.submit(self._job, field, value, generation, visit, language, arrival)
            )
        except RuntimeError:  # closed while the kiosk stops
            with self._core.lock:
                self._loading = False

    def _job(
        self,
        field: str,
        value: str,
        generation: int,
        visit: int,
        language: str,
        arrival: str | None = None,
    ) -> None:
        shown = mask_nik(value) if field == "nik" else value[:40]
        result: CheckinResult | None = None
        message: Text | None = None
        call = False
        answer: CheckinAnswer | None = None
        try:
            answer = self._central.checkin(field=field, value=value)
        except CentralError as exc:
            message, call = refusal_message(exc, field, value)
            log.info("check-in %s=%s refused: %s (%s)", field, shown, exc.code or exc.status, exc)
            if arrival is not None and exc.code not in DUE_TODAY:
                self._hand_to_status(generation, visit, arrival)
                return
        except Exception:
            log.exception("check-in %s=%s crashed", field, shown)
            message = MSG_FAILED
        if answer is not None:
            result = describe(answer)
        if not self._show(generation, visit, result, message, call):
            return
        if call:
            self._attendant.call_attendant("check-in: central server unreachable")
        if answer is None or result is None:
            return
        failed = self._printing.print_calling_ticket(
            answer, service=result.service, language=language
        )
        broken = failed is CALLING_TICKET_FAILED  # the printer, not a repeat's refusal
        if broken:
            self._attendant.call_attendant(f"calling ticket {answer.calling_number} not printed")
        printed = replace(result, printed=failed is None)
        self._show(generation, visit, printed, failed, broken)

    def _hand_to_status(self, generation: int, visit: int, number: str) -> None:
        """An attract screen's QR that is not due today: its status instead (unless the
        citizen left meanwhile)."""
        core = self._core
        with core.lock:
            if generation != self._generation or not core.is_current(visit):
                return
            self._loading = False
            not_today, self._not_today = self._not_today, None
        if not_today is not None:
            not_today(number or None)

    def _show(
        self,
        generation: int,
        visit: int,
        result: CheckinResult | None,
        message: Text | None,
        called: bool,
    ) -> bool:
        """Show a worker's outcome unless the citizen left or started again (False then)."""
        core = self._core
        with core.lock:
            if generation != self._generation or not core.is_current(visit):
                return False
            self._loading, self._result, self._message = False, result, message
            self._called = self._called or called
        core.publish()
        return True

    # -- the attendant's priority lane --------------------------------------------------------
    def grant_priority(self, reason: str, attendant_id: str) -> Text | None:
        """Put the citizen whose calling number is on screen in the priority lane (blocking:
        the attendant's worker calls it); None when done, else why not, for the attendant."""
        core = self._core
        with core.lock:
            result = self._result if core.state() is SessionState.CHECKIN else None
            generation, visit = self._generation, core.generation
        if result is None:
            return MSG_NO_NUMBER_SHOWN
        if reason not in PRIORITY_LANES:
            raise ValueError(f"no priority lane {reason!r}")
        try:
            answer = self._central.queue_priority(result.registration_number, reason, attendant_id)
        except CentralError as exc:
            log.warning("priority %s for %s refused: %s", reason, result.calling_number, exc)
            return MSG_NO_NUMBER_SHOWN if exc.code == "not_checked_in" else exc.citizen_message
        granted = replace(describe(answer), printed=result.printed)
        log.info("priority %s for %s by %s", reason, answer.calling_number, attendant_id)
        self._show(generation, visit, granted, None, False)
        return None

    # -- reading -------------------------------------------------------------------------------
    def view(self) -> CheckinView | None:
        """The check-in's snapshot in the CHECKIN state (lock held)."""
        if self._core.state() is not SessionState.CHECKIN:
            return None
        return CheckinView(
            prefix=self._entry.prefix,
            digits=self._entry.digits,
            entry=self._entry.shown,
            loading=self._loading,
            result=self._result,
            message=self._message,
            attendant_called=self._called,
        )

    def close(self) -> None:
        """Stop the worker and wait for it (a running check-in's answer is dropped)."""
        with self._core.lock:
            self._generation += 1
        self._closed.set()
        self._worker.shutdown(wait=True, cancel_futures=True)

    def _activity(self) -> bool:
        if self._core.state() is not SessionState.CHECKIN:
            return False
        self._core.touch()
        return True

    def _wipe(self) -> None:
        """A new visit or the end of one: nothing of the check-in stays (lock held)."""
        self._generation += 1
        self._entry.reset()
        self._loading, self._result, self._message, self._called = False, None, None, False
        self._not_today = None
