"""What attendant mode says, in Bahasa Indonesia and English."""

from __future__ import annotations

from kiosk_app.domain.text import Text

WELCOME = Text("Mode petugas terbuka untuk {attendant}.", "Attendant mode open for {attendant}.")
WRONG_PIN = Text("PIN salah. Sisa {tries} kali percobaan.", "Wrong PIN. {tries} tries left.")
PIN_LOCKED = Text(
    "Terlalu banyak PIN salah. Coba lagi dalam {seconds} detik.",
    "Too many wrong PINs. Try again in {seconds} seconds.",
)
NO_STAFF = Text(
    "Belum ada petugas yang terdaftar di anjungan ini. Hubungi teknisi.",
    "No attendant is set up on this kiosk. Please call a technician.",
)
LOCKED = Text(
    "Mode petugas terkunci. Masukkan PIN lagi.", "Attendant mode is locked. Enter the PIN again."
)
ACTION_FAILED = Text(
    "Perintah tidak berhasil. Coba lagi atau hubungi teknisi.",
    "That did not work. Try again or call a technician.",
)

NO_CITIZEN = Text(
    "Belum ada warga yang sedang dilayani. Minta warga menempelkan e-KTP dulu.",
    "No citizen is being served. Ask the citizen to place their e-KTP first.",
)
ASSISTING = Text(
    "Sesi ini ditandai 'dibantu petugas'. Isi formulir bersama warga.",
    "This session is marked 'assisted'. Fill in the form with the citizen.",
)
NAME_NEEDED = Text(
    "Tulis nama lengkap persis seperti di kartu.", "Type the full name exactly as on the card."
)
NIK_UNREADABLE = Text(
    "NIK ini tidak memuat tanggal lahir yang benar. Periksa lagi angkanya.",
    "This NIK does not hold a real birth date. Check the digits again.",
)
NO_UID_CARD = Text(
    "Belum ada kartu tanpa data e-KTP yang terbaca. Minta warga menempelkan kartunya dulu.",
    "No card without e-KTP data has been read. Ask the citizen to place the card first.",
)
SESSION_BUSY = Text(
    "Sesi warga lain sedang berjalan. Selesaikan dulu sesi itu.",
    "Another citizen's session is running. Finish it first.",
)
UID_CONTINUED = Text(
    "Data kartu diterima. Lanjutkan layanan bersama warga.",
    "Card details accepted. Continue the service with the citizen.",
)

DEVICES_OK = Text("Semua perangkat siap.", "All devices are ready.")
DEVICES_NOT_OK = Text(
    "{count} perangkat masih bermasalah. Lihat petunjuk di bawah.",
    "{count} device(s) still have a problem. See the advice below.",
)
READY = Text("Siap", "Ready")
ADVICE_NEAR_END = Text(
    "Siap, tetapi kertas hampir habis: siapkan gulungan baru.",
    "Ready, but the paper is running low: have a new roll ready.",
)
ADVICE = {
    "paper_out": Text(
        "Kertas habis: pasang kertas, tutup rapat, lalu sentuh Periksa ulang.",
        "Out of paper: load paper, close the cover, then touch Check again.",
    ),
    "cover_open": Text(
        "Tutup terbuka: tutup rapat, lalu sentuh Periksa ulang.",
        "Cover open: close it firmly, then touch Check again.",
    ),
    "door_open": Text(
        "Pintu atau tutup terbuka: tutup rapat, lalu sentuh Periksa ulang.",
        "A door or cover is open: close it, then touch Check again.",
    ),
    "jammed": Text(
        "Kertas tersangkut: buka printer, tarik kertas pelan-pelan, tutup, lalu "
        "sentuh Periksa ulang.",
        "Paper jam: open the printer, pull the paper out gently, close it, then touch Check again.",
    ),
    "offline": Text(
        "Tidak merespons: periksa kabel dan daya, lalu sentuh Periksa ulang.",
        "Not responding: check the cable and power, then touch Check again.",
    ),
    "error": Text(
        "Gangguan pada perangkat: matikan lalu nyalakan, lalu sentuh Periksa ulang.",
        "The device reports a fault: switch it off and on, then touch Check again.",
    ),
    "unavailable": Text(
        "Tidak tersedia: periksa sambungan, lalu sentuh Periksa ulang.",
        "Unavailable: check its connection, then touch Check again.",
    ),
    "stopped": Text(
        "Tidak berjalan: mulai ulang aplikasi anjungan.",
        "Not running: restart the kiosk application.",
    ),
}
ADVICE_UNKNOWN = Text(
    "Keadaan tidak dikenal ({state}). Hubungi teknisi.",
    "Unknown state ({state}). Please call a technician.",
)
DEVICE_LABELS = {
    "card_reader": Text("Pembaca e-KTP", "e-KTP reader"),
    "ticket_printer": Text("Printer tiket", "Ticket printer"),
    "document_printer": Text("Printer A4", "A4 printer"),
    "scanner": Text("Pemindai dokumen", "Document scanner"),
    "barcode_scanner": Text("Pemindai QR", "QR scanner"),
}

REPRINTED = Text("Tiket {reference} sudah dicetak ulang.", "Ticket {reference} was reprinted.")
NOTHING_TO_REPRINT = Text(
    "Tiket ini tidak dapat dicetak ulang lagi.", "This ticket can no longer be reprinted."
)
ALREADY_REPRINTED = Text(
    "Tiket ini baru saja dicetak ulang. Tidak dicetak dua kali.",
    "This ticket was just reprinted. It is not printed twice.",
)
DISMISSED = Text(
    "Tiket dihapus dari daftar cetak ulang.", "The ticket was removed from the reprint list."
)

ADVICE_QUEUE_STOPPED = Text(
    "Antrean cetak berhenti (setelah kertas habis atau tersangkut). "
    "Atasi dulu masalahnya, lalu sentuh Lanjutkan printer A4.",
    "The print queue has stopped (after running out of paper or a jam). "
    "Fix the problem first, then touch Resume the A4 printer.",
)
A4_RESUMED = Text(
    "Printer A4 berjalan lagi. Bukti pendaftaran dapat dicetak.",
    "The A4 printer is running again. Receipts can be printed.",
)
A4_RESUMED_BUT = Text(
    "Antrean printer A4 dilanjutkan, tetapi printer masih bermasalah.",
    "The A4 printer's queue was resumed, but the printer still has a problem.",
)
A4_STILL_STOPPED = Text(
    "Printer A4 masih berhenti. Periksa printer lalu coba lagi, atau hubungi teknisi.",
    "The A4 printer is still stopped. Check the printer and try again, or call a technician.",
)
A4_RESUME_REFUSED = Text(
    "Sistem cetak tidak mengizinkan anjungan melanjutkan printer A4. Hubungi teknisi.",
    "The print system does not allow the kiosk to resume the A4 printer. Please call a technician.",
)
A4_UNREACHABLE = Text(
    "Sistem cetak tidak menjawab. Periksa printer A4 atau hubungi teknisi.",
    "The print system does not answer. Check the A4 printer or call a technician.",
)
NO_A4_PRINTER = Text(
    "Anjungan ini tidak memakai antrean printer A4 yang dapat dilanjutkan.",
    "This kiosk has no A4 print queue that can be resumed.",
)
RECEIPT_REPRINTED = Text(
    "Bukti pendaftaran {reference} sudah dicetak ulang di printer A4.",
    "Receipt {reference} was reprinted on the A4 printer.",
)
RECEIPT_NOT_KEPT = Text(
    "Bukti ini tidak disimpan lagi (hanya beberapa jam). Warga dapat memakai "
    "tiket dan nomor registrasinya.",
    "This receipt is no longer kept (only for a few hours). The citizen can "
    "use the ticket and the registration number.",
)

HELD_NO_PLACE = Text(
    "Tidak ada jadwal kosong di seluruh masa pemesanan saat dikirim.",
    "No free place in the whole booking period when it was sent.",
)
HELD_REFUSED = Text("Ditolak server pusat: {reason}", "Refused by the central server: {reason}")
HELD_LEASED = Text(
    "Warga memegang tiket bersegel {reference}: jadwal {day} pukul {window} sudah dijanjikan.",
    "The citizen holds sealed ticket {reference}: {day} at {window} was promised.",
)
HELD_UNSENDABLE = Text(
    "Tidak dapat dikirim dari anjungan ini: {reason}", "Cannot be sent from this kiosk: {reason}"
)
HELD_SENT = Text(
    "{reference} terkirim: nomor registrasi {number}, jadwal {day} pukul {window}.",
    "{reference} was sent: registration number {number}, appointment {day} at {window}.",
)
HELD_STILL_NO_PLACE = Text(
    "{reference} masih belum mendapat jadwal: tidak ada tempat kosong. "
    "Minta kantor menambah kuota, lalu coba lagi.",
    "{reference} still has no appointment: no free place. Ask the office "
    "to raise the quota, then try again.",
)
HELD_REFUSED_NOW = Text(
    "{reference} ditolak server pusat. Alasannya ada di daftar.",
    "{reference} was refused by the central server. The reason is in the list.",
)
HELD_QUEUED = Text(
    "Server pusat belum dapat dihubungi. {reference} dikirim otomatis begitu tersambung.",
    "The central server cannot be reached. {reference} is sent automatically once it is.",
)
HELD_HANDLED = Text(
    "{reference} ditandai sudah ditangani. Datanya tetap disimpan.",
    "{reference} was marked as handled. Its data is kept.",
)
HELD_GONE = Text("Kiriman ini tidak tertahan lagi.", "This submission is no longer held.")

PRIORITY_GIVEN = Text(
    "Jalur prioritas diberikan; perkiraan antrean di layar sudah diperbarui.",
    "Priority lane given; the waiting estimate on screen is updated.",
)
