"""Words of the accessibility bar and of the spoken prompts (Bahasa Indonesia and English)."""

from __future__ import annotations

from kiosk_app.domain.text import Text

T = Text

REPEAT = T("Ulangi suara", "Repeat")
LARGE_TEXT = T("Teks besar", "Large text")
LARGE_ON = T("Teks besar dan warna kontras aktif.", "Large text and high contrast on.")
LARGE_OFF = T("Teks besar dimatikan.", "Large text off.")
# The badge of an assisted visit, in the title bar beside these buttons.
ASSISTED = T("Dibantu petugas {attendant}", "Assisted by {attendant}")
CHOSEN = T("{value} dipilih.", "{value} chosen.")
STILL_HERE_HINT = T(
    "Sentuh tombol Saya masih di sini untuk melanjutkan.",
    "Touch the button I am still here to continue.",
)

# Prompts spoken when a screen shows (screens without one of their own say their title).
ATTRACT = T(
    "Untuk teks besar, sentuh tombol Teks besar di bagian atas layar.",
    "For large text, touch the Large text button at the top of the screen.",
)
IDENTITY = T(
    "Selamat datang. Periksa nama dan foto Anda di layar, lalu sentuh Lanjut.",
    "Welcome. Check your name and photo on the screen, then touch Next.",
)
MENU = T(
    "Pilih layanan yang Anda perlukan dengan menyentuh tombolnya. "
    "Sentuh Akhiri kunjungan untuk mengakhiri.",
    "Choose the service you need by touching its button. Touch End my visit to end.",
)
FORM = T(
    "Sentuh setiap isian di kiri, lalu isi di sebelah kanan. Sentuh Lanjut bila sudah selesai.",
    "Touch each field on the left, then fill it in on the right. Touch Next when you are done.",
)
SCHEDULE = T("Sentuh tanggal yang Anda pilih.", "Touch the date you choose.")
FIRST_SLOT = T("Tanggal terdekat: {slot}.", "Earliest date: {slot}.")
REVIEW = T(
    "Sentuh Kirim bila data sudah benar, atau Ubah untuk memperbaikinya.",
    "Touch Send when everything is right, or Change to correct it.",
)
RESULT_NUMBERS = T(
    "Nomor registrasi {reg}. Nomor antrean {queue}.",
    "Registration number {reg}. Queue number {queue}.",
)
RESULT_OFFLINE = T("Nomor rujukan {reg}.", "Reference number {reg}.")
RESULT_END = T("Ambil tiket Anda, lalu sentuh Selesai.", "Take your ticket, then touch Finish.")
