"""A registration number typed on the kiosk's keypad: a service prefix and its digits."""

from __future__ import annotations

from kiosk_app.domain.registration import (
    DIGITS,
    PREFIXES,
    format_entry,
    number_from,
    office_digits,
    split_number,
)
from kiosk_app.domain.text import Text

# What the keypad and the QR reads say, in the status check and the check-in alike.
MSG_INCOMPLETE = Text(
    "Nomor registrasi belum lengkap: ketik {missing} angka lagi.",
    "The registration number is not complete: type {missing} more digit(s).",
)

MSG_NOT_FOUND = Text(
    "Nomor registrasi {number} tidak ditemukan. Periksa kembali nomor pada tiket Anda; "
    "bila sudah benar, tanyakan ke petugas.",
    "Registration number {number} was not found. Check the number on your ticket; "
    "if it is right, please ask an attendant.",
)

MSG_NOT_OUR_CODE = Text(
    "Kode QR ini bukan tiket atau tanda terima Dukcapil. Pindai QR pada tiket Anda, "
    "atau ketik nomor registrasinya.",
    "This QR code is not a Dukcapil ticket or receipt. Scan the QR on your ticket, "
    "or type its registration number.",
)


class NumberEntry:
    """The prefix and digits typed so far (not thread-safe: its owner holds a lock)."""

    def __init__(self, office_code: str = "") -> None:
        """Start with the default prefix and the office's PP.KK digits pre-typed."""
        self._start_digits = office_digits(office_code)
        self.prefix = PREFIXES[0][0]
        self.digits = self._start_digits

    def reset(self) -> None:
        """A fresh entry: the default prefix and the office's digits."""
        self.prefix, self.digits = PREFIXES[0][0], self._start_digits

    def set_prefix(self, prefix: str) -> bool:
        """Choose the service prefix (AKTA, AKM, ...); False for an unknown one."""
        if prefix not in dict(PREFIXES):
            return False
        self.prefix = prefix
        return True

    def key(self, key: str) -> bool:
        """A digit, "backspace" or "clear"; False when the key changed nothing it knows."""
        if key == "backspace":
            self.digits = self.digits[:-1]
        elif key == "clear":
            self.digits = ""
        elif len(key) == 1 and key.isdigit() and len(self.digits) < DIGITS:
            self.digits += key
        else:
            return False
        return True

    def fill(self, number: str | None) -> bool:
        """Show a whole registration number (read from a QR); False when it is not one."""
        parts = split_number(number) if number else None
        if parts is None:
            return False
        self.prefix, self.digits = parts
        return True

    @property
    def number(self) -> str | None:
        """The complete registration number, or None while digits are missing."""
        return number_from(self.prefix, self.digits)

    @property
    def missing(self) -> int:
        """How many digits are still to be typed."""
        return DIGITS - len(self.digits)

    @property
    def shown(self) -> str:
        """The number as typed so far, with blanks ("AKTA-35.17.______.____")."""
        return format_entry(self.prefix, self.digits)
