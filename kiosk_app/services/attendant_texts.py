"""What attendant mode says, in Bahasa Indonesia and English."""

from __future__ import annotations

from kiosk_app.domain.text import Text

WELCOME = Text("Mode petugas terbuka untuk {attendant}.", "Attendant mode open for {attendant}.")
WRONG_PIN = Text("PIN salah. Sisa {tries} kali percobaan.", "Wrong PIN. {tries} tries left.")
PIN_LOCKED = Text("Terlalu banyak PIN salah. Coba lagi dalam {seconds} detik.",
                  "Too many wrong PINs. Try again in {seconds} seconds.")
NO_STAFF = Text("Belum ada petugas yang terdaftar di anjungan ini. Hubungi teknisi.",
                "No attendant is set up on this kiosk. Please call a technician.")
LOCKED = Text("Mode petugas terkunci. Masukkan PIN lagi.",
              "Attendant mode is locked. Enter the PIN again.")
ACTION_FAILED = Text("Perintah tidak berhasil. Coba lagi atau hubungi teknisi.",
                     "That did not work. Try again or call a technician.")

NO_CITIZEN = Text("Belum ada warga yang sedang dilayani. Minta warga menempelkan e-KTP dulu.",
                  "No citizen is being served. Ask the citizen to place their e-KTP first.")
ASSISTING = Text("Sesi ini ditandai 'dibantu petugas'. Isi formulir bersama warga.",
                 "This session is marked 'assisted'. Fill in the form with the citizen.")
NAME_NEEDED = Text("Tulis nama lengkap persis seperti di kartu.",
                   "Type the full name exactly as on the card.")
NIK_UNREADABLE = Text("NIK ini tidak memuat tanggal lahir yang benar. Periksa lagi angkanya.",
                      "This NIK does not hold a real birth date. Check the digits again.")
NO_UID_CARD = Text("Belum ada kartu tanpa data e-KTP yang terbaca. Minta warga menempelkan "
                  "kartunya dulu.",
                  "No card without e-KTP data has been read. Ask the citizen to place the card "
                  "first.")
SESSION_BUSY = Text("Sesi warga lain sedang berjalan. Selesaikan dulu sesi itu.",
                    "Another citizen's session is running. Finish it first.")
UID_CONTINUED = Text("Data kartu diterima. Lanjutkan layanan bersama warga.",
                     "Card details accepted. Continue the service with the citizen.")

DEVICES_OK = Text("Semua perangkat siap.", "All devices are ready.")
DEVICES_NOT_OK = Text("{count} perangkat masih bermasalah. Lihat petunjuk di bawah.",
                      "{count} device(s) still have a problem. See the advice below.")
READY = Text("Siap", "Ready")
ADVICE_NEAR_END = Text("Siap, tetapi kertas hampir habis: siapkan gulungan baru.",
                       "Ready, but the paper is running low: have a new roll ready.")
ADVICE = {
    "paper_out": Text("Kertas habis: pasang kertas, tutup rapat, lalu sentuh Periksa ulang.",
                      "Out of paper: load paper, close the cover, then touch Check again."),
    "cover_open": Text("Tutup terbuka: tutup rapat, lalu sentuh Periksa ulang.",
                       "Cover open: close it firmly, then touch Check again."),
    "door_open": Text("Pintu atau tutup terbuka: tutup rapat, lalu sentuh Periksa ulang.",
                      "A door or cover is open: close it, then touch Check again."),
    "jammed": Text("Kertas tersangkut: buka printer, tarik kertas pelan-pelan, tutup, lalu "
                   "sentuh Periksa ulang.",
                   "Paper jam: open the printer, pull the paper out gently, close it, then "
                   "touch Check again."),
    "offline": Text("Tidak merespons: periksa kabel dan daya, lalu sentuh Periksa ulang.",
                    "Not responding: check the cable and power, then touch Check again."),
    "error": Text("Gangguan pada perangkat: matikan lalu nyalakan, lalu sentuh Periksa ulang.",
                  "The device reports a fault: switch it off and on, then touch Check again."),
    "unavailable": Text("Tidak tersedia: periksa sambungan, lalu sentuh Periksa ulang.",
                        "Unavailable: check its connection, then touch Check again."),
    "stopped": Text("Tidak berjalan: mulai ulang aplikasi anjungan.",
                    "Not running: restart the kiosk application."),
}
ADVICE_UNKNOWN = Text("Keadaan tidak dikenal ({state}). Hubungi teknisi.",
                      "Unknown state ({state}). Please call a technician.")
DEVICE_LABELS = {
    "card_reader": Text("Pembaca e-KTP", "e-KTP reader"),
    "ticket_printer": Text("Printer tiket", "Ticket printer"),
    "document_printer": Text("Printer A4", "A4 printer"),
    "scanner": Text("Pemindai dokumen", "Document scanner"),
    "barcode_scanner": Text("Pemindai QR", "QR scanner"),
}

REPRINTED = Text("Tiket {reference} sudah dicetak ulang.", "Ticket {reference} was reprinted.")
NOTHING_TO_REPRINT = Text("Tiket ini tidak dapat dicetak ulang lagi.",
                          "This ticket can no longer be reprinted.")
ALREADY_REPRINTED = Text("Tiket ini baru saja dicetak ulang. Tidak dicetak dua kali.",
                         "This ticket was just reprinted. It is not printed twice.")
DISMISSED = Text("Tiket dihapus dari daftar cetak ulang.",
                 "The ticket was removed from the reprint list.")

ADVICE_QUEUE_STOPPED = Text("Antrean cetak berhenti (setelah kertas habis atau tersangkut). "
                            "Atasi dulu masalahnya, lalu sentuh Lanjutkan printer A4.",
                            "The print queue has stopped (after running out of paper or a jam). "
                            "Fix the problem first, then touch Resume the A4 printer.")
A4_RESUMED = Text("Printer A4 berjalan lagi. Bukti pendaftaran dapat dicetak.",
                  "The A4 printer is running again. Receipts can be printed.")
A4_RESUMED_BUT = Text("Antrean printer A4 dilanjutkan, tetapi printer masih bermasalah.",
                      "The A4 printer's queue was resumed, but the printer still has a problem.")
A4_STILL_STOPPED = Text("Printer A4 masih berhenti. Periksa printer lalu coba lagi, atau hubungi "
                        "teknisi.",
                        "The A4 printer is still stopped. Check the printer and try again, or "
                        "call a technician.")
A4_RESUME_REFUSED = Text("Sistem cetak tidak mengizinkan anjungan melanjutkan printer A4. "
                         "Hubungi teknisi.",
                         "The print system does not allow the kiosk to resume the A4 printer. "
                         "Please call a technician.")
A4_UNREACHABLE = Text("Sistem cetak tidak menjawab. Periksa printer A4 atau hubungi teknisi.",
                      "The print system does not answer. Check the A4 printer or call a "
                      "technician.")
NO_A4_PRINTER = Text("Anjungan ini tidak memakai antrean printer A4 yang dapat dilanjutkan.",
                     "This kiosk has no A4 print queue that can be resumed.")
RECEIPT_REPRINTED = Text("Bukti pendaftaran {reference} sudah dicetak ulang di printer A4.",
                         "Receipt {reference} was reprinted on the A4 printer.")
RECEIPT_NOT_KEPT = Text("Bukti ini tidak disimpan lagi (hanya beberapa jam). Warga dapat memakai "
                        "tiket dan nomor registrasinya.",
                        "This receipt is no longer kept (only for a few hours). The citizen can "
                        "use the ticket and the registration number.")
