"""Fixed words the widgets show, in Bahasa Indonesia and English."""

from __future__ import annotations

from kiosk_app.domain.text import Text

BACKSPACE = Text("Hapus", "Delete")
SPACE = Text("Spasi", "Space")
# Not "Selesai": on the menu that word ends the visit.
DONE = Text("OK", "OK")

DAY = Text("Tanggal", "Day")
MONTH = Text("Bulan", "Month")
YEAR = Text("Tahun", "Year")
HOUR = Text("Jam", "Hour")
MINUTE = Text("Menit", "Minute")
YEARS = Text("tahun", "years")
NOT_SET = Text("Belum dipilih", "Not chosen yet")

MONTHS: tuple[Text, ...] = (
    Text("Januari", "January"),
    Text("Februari", "February"),
    Text("Maret", "March"),
    Text("April", "April"),
    Text("Mei", "May"),
    Text("Juni", "June"),
    Text("Juli", "July"),
    Text("Agustus", "August"),
    Text("September", "September"),
    Text("Oktober", "October"),
    Text("November", "November"),
    Text("Desember", "December"),
)

STILL_THERE = Text("Apakah Anda masih di sini?", "Are you still there?")
COUNTDOWN = Text(
    "Layanan akan ditutup dalam {seconds} detik.",
    "The service will close in {seconds} seconds.",
)
I_AM_HERE = Text("Saya masih di sini", "I am still here")
