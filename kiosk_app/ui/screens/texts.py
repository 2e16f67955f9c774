"""Fixed words on the screens, in Bahasa Indonesia with the English translation."""

from __future__ import annotations

from kiosk_app.domain.dates import long_date
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot

T = Text

BACK = T("Kembali", "Back")
BACK_TO_MENU = T("Kembali ke menu", "Back to the menu")
CLEAR_ALL = T("Hapus semua", "Clear all")
NEXT = T("Lanjut", "Next")
FINISH = T("Selesai", "Finish")

# attract
TITLE = T("Anjungan Dukcapil Mandiri", "Civil Registration Self-Service Kiosk")
PLACE_CARD = T("Tempelkan e-KTP Anda pada pembaca", "Place your e-KTP on the reader")
PLACE_CARD_HINT = T(
    "Letakkan kartu di atas pembaca di bawah layar dan biarkan sampai selesai.",
    "Lay the card on the reader below the screen and leave it there until you are done.",
)
READER_UNAVAILABLE = T(
    "Pembaca e-KTP sedang tidak tersedia. Silakan hubungi petugas.",
    "The e-KTP reader is not available. Please ask an attendant.",
)
SIM_TAP = T("Simulasi: tempel e-KTP", "Simulation: place e-KTP")
LANG_ID = "Bahasa Indonesia"
LANG_EN = "English"

# reading card
READING = T("Membaca e-KTP...", "Reading the e-KTP...")
KEEP_CARD = T("Jangan lepaskan kartu.", "Do not remove the card.")

# identity
WELCOME = T("Selamat datang,", "Welcome,")
WELCOME_BY_SEX = {  # the card's sex: Bapak/Ibu, as a counter clerk would greet
    "L": T("Selamat datang, Bapak", "Welcome, Mr"),
    "P": T("Selamat datang, Ibu", "Welcome, Ms"),
}
NIK = T("NIK", "NIK")
IDENTITY_HINT = T(
    "Biarkan e-KTP tetap di pembaca selama Anda menggunakan anjungan.",
    "Keep the e-KTP on the reader while you use the kiosk.",
)

# menu
MENU_TITLE = T("Pilih layanan", "Choose a service")
NOT_AVAILABLE = T("Belum tersedia", "Not available yet")
STATUS_TILE = T("Cek status permohonan", "Check application status")
PRINT_TILE = T("Cetak dokumen", "Print documents")
NOT_BUILT_TILE = T("Belum tersedia di anjungan ini", "Not available on this kiosk yet")

# form
STEP = T("Langkah {n} dari {total}", "Step {n} of {total}")
TAP_FIELD = T(
    "Sentuh salah satu isian di kiri untuk mengisinya.",
    "Touch one of the fields on the left to fill it in.",
)
OPTIONAL = T("(boleh dikosongkan)", "(optional)")
EMPTY = T("Belum diisi", "Not filled in")

# schedule
SCHEDULE_TITLE = T("Pilih tanggal verifikasi", "Choose a verification date")
SCHEDULE_HINT = T(
    "Datang ke kantor Dukcapil pada tanggal yang Anda pilih, membawa dokumen asli.",
    "Come to the Dukcapil office on the date you choose, with the original documents.",
)
SLOTS_LOADING = T("Memuat jadwal...", "Loading the schedule...")
NO_SLOTS = T(
    "Belum ada jadwal yang tersedia. Silakan hubungi petugas.",
    "No dates are available yet. Please ask an attendant.",
)
SLOT_LINE = T("{date} · pukul {window} · sisa {left}", "{date} · {window} · {left} left")

# review
REVIEW_TITLE = T("Periksa kembali data Anda", "Check your details")
CHOSEN_SLOT_LABEL = T("Jadwal verifikasi", "Verification date")
EDIT = T("Ubah", "Change")
EDIT_PAGES = T("Ubah data:", "Change:")
SUBMIT = T("Kirim", "Send")
SCROLL_UP = T("▲ Ke atas", "▲ Up")
SCROLL_DOWN = T("▼ Ke bawah", "▼ Down")

# submitting
SUBMITTING = T("Mengirim dan mencetak...", "Sending and printing...")
PLEASE_WAIT = T("Mohon tunggu, jangan lepaskan e-KTP.", "Please wait, do not remove the e-KTP.")

# result
RESULT_TITLE = T("Pra-permohonan berhasil dikirim", "Your pre-application has been sent")
RESULT_SAVED = T(  # offline: kept on the kiosk, sent later (not "sent")
    "Pra-permohonan tersimpan di anjungan", "Your pre-application is saved on the kiosk"
)
REG_NUMBER = T("Nomor registrasi", "Registration number")
QUEUE_NUMBER = T("Nomor antrean", "Queue number")
VISIT = T("Datang pada", "Come on")
TICKET_PRINTED = T(
    "Tiket telah dicetak. Ambil dari celah di bawah layar.",
    "The ticket has been printed. Take it from the slot below the screen.",
)
RECEIPT_PRINTED = T(
    "Tanda terima A4 telah dicetak. Ambil di bawah layar.",
    "The A4 receipt has been printed. Take it from below the screen.",
)
BOTH_PRINTED = T(
    "Tiket dan tanda terima A4 telah dicetak. Ambil di bawah layar.",
    "The ticket and the A4 receipt have been printed. Take them from below the screen.",
)
BRING = T("Bawa tiket dan dokumen asli ini:", "Bring the ticket and these originals:")
OFFLINE = T(
    "Jaringan sedang terputus: data tersimpan di anjungan dan akan dikirim otomatis.",
    "The network is down: your data is saved on the kiosk and will be sent automatically.",
)

# goodbye
GOODBYE_DEFAULT = T("Terima kasih.", "Thank you.")

# confirmations before work is lost or the visit ends
END_VISIT = T("Akhiri kunjungan", "End my visit")
END_QUESTION = T("Akhiri kunjungan Anda?", "End your visit?")
END_DETAIL = T(
    "Data Anda dihapus dari layar. Jangan lupa ambil e-KTP Anda dari pembaca.",
    "Your data is cleared from the screen. Do not forget to take your e-KTP from the reader.",
)
END_UNSENT = T(
    "Pra-permohonan Anda ({reference}) belum sampai ke kantor Dukcapil karena jaringan "
    "terputus. Data tersimpan aman di anjungan ini dan dikirim otomatis begitu jaringan "
    "kembali. Simpan tiket Anda. Jangan lupa ambil e-KTP Anda dari pembaca.",
    "Your pre-application ({reference}) has not reached the Dukcapil office: the network is "
    "down. It is kept safely on this kiosk and sent automatically once the network is back. "
    "Keep your ticket. Do not forget to take your e-KTP from the reader.",
)
END_YES = T("Ya, akhiri", "Yes, end it")
END_NO = T("Tidak, kembali", "No, go back")
DISCARD_QUESTION = T("Hapus isian formulir ini?", "Discard what you entered?")
DISCARD_DETAIL = T(
    "Bila Anda kembali ke menu, data yang sudah Anda isi di formulir ini dihapus.",
    "Going back to the menu clears what you entered in this form.",
)
DISCARD_YES = T("Ya, hapus", "Yes, discard")
DISCARD_NO = T("Tidak, lanjut mengisi", "No, keep filling in")


def slot_text(slot: Slot, lang: str, remaining: int | None = None) -> str:
    """Senin, 23 November 2026 · pukul 08.00-11.00 (· sisa 12)."""
    day = long_date(slot.date, lang)  # "Senin, 23 November 2026", as on every screen
    window = slot.window
    if remaining is None:
        pukul = "pukul " if lang != "en" else ""
        return f"{day} · {pukul}{window}"
    return SLOT_LINE.format(date=day, window=window, left=remaining)(lang)


# The verification day's check-in (attract screen button, menu tile).
CHECKIN_TILE = T("Saya datang untuk verifikasi hari ini", "I have come for verification today")
