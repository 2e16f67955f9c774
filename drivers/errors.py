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
