"""Device errors the services understand, each with a message for the citizen."""

from __future__ import annotations

from kiosk_app.domain.text import Text


class DeviceError(Exception):
    """A device failed; `citizen_message` is safe to show, `str(self)` is for the log."""

    citizen_message = Text(
        "Perangkat sedang bermasalah. Silakan hubungi petugas.",
        "A device is not working. Please ask an attendant.",
    )
    retriable = True
    attendant_alert = False  # True: the fault is the kiosk's, an attendant and the fleet are told


class NoReader(DeviceError):
    """No card reader is connected or the PC/SC service is down."""

    citizen_message = Text(
        "Pembaca e-KTP tidak tersedia. Silakan hubungi petugas.",
        "The e-KTP reader is unavailable. Please ask an attendant.",
    )


class CardRemoved(DeviceError):
    """The card left the reader before the read finished."""

    citizen_message = Text(
        "e-KTP terlepas sebelum selesai dibaca. Tempelkan kembali dan tahan sampai selesai.",
        "The e-KTP was removed before reading finished. Place it again and hold it still.",
    )


class CardUnreadable(DeviceError):
    """The card is not an e-KTP or answered something we cannot use."""

    citizen_message = Text(
        "Kartu tidak dapat dibaca. Pastikan yang ditempel adalah e-KTP.",
        "The card cannot be read. Make sure it is an e-KTP.",
    )


class CardNotResponding(CardUnreadable):
    """The card stopped answering (mute or far too slow) before the read finished."""

    citizen_message = Text(
        "e-KTP tidak merespons. Angkat e-KTP, tempelkan kembali, dan tahan sampai selesai.",
        "The e-KTP stopped responding. Lift it, place it again and hold it still until done.",
    )


class SamFault(DeviceError):
    """The reader's security module (SAM) is mute or failing: the kiosk's fault, not the card's."""

    citizen_message = Text(
        "Pembaca e-KTP belum siap. Petugas sedang dipanggil untuk membantu.",
        "The e-KTP reader is not ready. An attendant is being called to help.",
    )
    retriable = False
    attendant_alert = True


class SamMissing(SamFault):
    """The reader's SAM slot is empty or holds no SAM of ours: no e-KTP can be read."""

    citizen_message = Text(
        "Pembaca e-KTP belum siap (modul keamanan tidak terpasang). Silakan hubungi petugas.",
        "The e-KTP reader is not ready (security module missing). Please ask an attendant.",
    )


class CardNotAuthentic(DeviceError):
    """Mutual authentication between the chip and the SAM failed."""

    citizen_message = Text(
        "e-KTP tidak dapat diverifikasi. Silakan ke loket pelayanan.",
        "The e-KTP could not be verified. Please go to the service counter.",
    )
    retriable = False


class CardExpired(DeviceError):
    """The chip says the card's validity has ended."""

    citizen_message = Text(
        "Masa berlaku e-KTP ini sudah habis. Silakan ke loket pelayanan untuk pembaruan.",
        "This e-KTP has expired. Please go to the service counter to renew it.",
    )
    retriable = False


class PaperOut(DeviceError):
    """The printer has no paper."""

    citizen_message = Text(
        "Kertas printer habis. Petugas akan membantu mencetak ulang.",
        "The printer is out of paper. An attendant will help you reprint.",
    )


class CoverOpen(DeviceError):
    """The printer cover is open."""

    citizen_message = Text(
        "Tutup printer terbuka. Silakan hubungi petugas.",
        "The printer cover is open. Please ask an attendant.",
    )


class PrinterOffline(DeviceError):
    """The printer does not answer."""

    citizen_message = Text(
        "Printer tidak merespons. Silakan hubungi petugas.",
        "The printer is not responding. Please ask an attendant.",
    )


class ScannerUnavailable(DeviceError):
    """No scanner, a jam or an open cover."""

    citizen_message = Text(
        "Pemindai dokumen tidak tersedia. Silakan hubungi petugas.",
        "The document scanner is unavailable. Please ask an attendant.",
    )


class PaperNearEnd(DeviceError):
    """The paper roll is nearly used up: printing still works, an attendant should refill."""

    citizen_message = Text(
        "Kertas printer hampir habis. Petugas telah diberi tahu.",
        "The printer paper is running low. An attendant has been told.",
    )


class PrinterFault(DeviceError):
    """The printer reports an error of its own (cutter jam, head overheated)."""

    citizen_message = Text(
        "Printer mengalami gangguan. Silakan hubungi petugas untuk mencetak ulang.",
        "The printer has a fault. Please ask an attendant to reprint.",
    )


class PaperJam(DeviceError):
    """Paper is stuck in the printer."""

    citizen_message = Text(
        "Kertas tersangkut di printer. Petugas akan membantu mencetak ulang.",
        "Paper is jammed in the printer. An attendant will help you reprint.",
    )


class DoorOpen(CoverOpen):
    """A printer door or cover is open."""

    citizen_message = Text(
        "Pintu atau tutup printer terbuka. Silakan hubungi petugas.",
        "A printer door or cover is open. Please ask an attendant.",
    )


class PrintTimeout(PrinterOffline):
    """A print job did not finish within its time bound and was cancelled."""

    citizen_message = Text(
        "Pencetakan terlalu lama dan dibatalkan. Petugas akan membantu mencetak ulang.",
        "Printing took too long and was cancelled. An attendant will help you reprint.",
    )


class PrintFailed(DeviceError):
    """The print system rejected or aborted the job."""

    citizen_message = Text(
        "Dokumen gagal dicetak. Petugas akan membantu mencetak ulang.",
        "The document could not be printed. An attendant will help you reprint.",
    )


class ScannerJam(ScannerUnavailable):
    """Paper is stuck in the scanner's document feeder."""

    citizen_message = Text(
        "Kertas tersangkut di pemindai. Silakan hubungi petugas.",
        "Paper is jammed in the scanner. Please ask an attendant.",
    )


class ScannerCoverOpen(ScannerUnavailable):
    """The scanner's cover is open."""

    citizen_message = Text(
        "Tutup pemindai terbuka. Tutup kembali lalu coba lagi.",
        "The scanner cover is open. Close it and try again.",
    )


class FeederEmpty(ScannerUnavailable):
    """The automatic document feeder has no paper in it."""

    citizen_message = Text(
        "Tidak ada dokumen di pengumpan. Letakkan dokumen lalu coba lagi.",
        "There is no document in the feeder. Insert the document and try again.",
    )


class DocumentTooLarge(DeviceError):
    """Scanned pages do not fit the size limit even at the lowest quality."""

    citizen_message = Text(
        "Dokumen terlalu besar. Kurangi jumlah halaman atau hubungi petugas.",
        "The document is too large. Scan fewer pages or ask an attendant.",
    )
    retriable = False
