"""What the check-in says: the citizen's words for the server's refusals, the calling number's
announcement read aloud, and the answer as the screen shows it."""

from __future__ import annotations

from datetime import date
from typing import Any

from drivers.barcode_scanner.protocol import registration_number_in
from kiosk_app.central import CentralError, CentralUnavailable, CheckinAnswer, NotFound
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.dates import long_date
from kiosk_app.domain.terbilang import calling_number_words
from kiosk_app.domain.text import Text
from kiosk_app.services.receipt_seal import SealInvalid, parse_qr
from kiosk_app.services.receipt_seal import read as read_seal
from kiosk_app.services.session.number_entry import MSG_NOT_FOUND
from kiosk_app.services.session.views import CheckinResult

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
MSG_SEAL_PENDING = T(
    "Segel tiket ini dibuat dengan kunci anjungan baru yang masih menunggu persetujuan "
    "teknisi. Petugas sudah dipanggil dan akan mendaftarkan kedatangan Anda; tunggu di sini "
    "sebentar.",
    "This ticket's seal was made with a new kiosk key still awaiting a technician's "
    "approval. An attendant has been called and will check you in; please wait here.",
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
    if code == "seal_pending":  # neither valid nor forged: a person checks it
        return MSG_SEAL_PENDING, True
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
        return ANNOUNCEMENT_REPEAT.then(said)
    return said


def describe(answer: CheckinAnswer) -> CheckinResult:
    """The server's answer as the screen shows and says it."""
    info = SERVICES.get(answer.service)
    service = info.title if info else T(answer.service_name, answer.service_name)
    said = announcement(answer, answer.counter_group or service.id)
    lane = PRIORITY_LANES.get(answer.priority)
    if lane is not None:
        said = lane.then(said)
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
