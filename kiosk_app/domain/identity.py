"""The card holder's identity as read from the e-KTP chip."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Identity:
    """Demographic data and photo of an e-KTP holder (personal data: wipe when done)."""

    nik: str
    name: str
    birth_place: str
    birth_date: date
    sex: str  # "L" (laki-laki) or "P" (perempuan)
    blood_type: str
    address: str
    rt_rw: str
    kelurahan_desa: str
    kecamatan: str
    kabupaten_kota: str
    province: str
    religion: str
    marital_status: str
    occupation: str
    citizenship: str
    valid_until: str  # "SEUMUR HIDUP" or a date
    photo_jpeg: bytes = field(default=b"", repr=False)

    def __repr__(self) -> str:
        """Never print personal data by accident."""
        return f"Identity(nik={mask_nik(self.nik)})"

    def wipe(self) -> None:
        """Overwrite every personal field so nothing lingers after the session."""
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, "")
            elif isinstance(value, bytes):
                setattr(self, name, b"")
        self.birth_date = date(1900, 1, 1)


def mask_nik(nik: str) -> str:
    """Show the region prefix and the last four digits only: 3517xxxxxxxx0001."""
    if len(nik) < 8:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 8) + nik[-4:]


def mask_name(name: str) -> str:
    """Keep the first letter of each word: SITI AMINAH -> S*** A*****."""
    return " ".join(w[0] + "*" * (len(w) - 1) if w else w for w in name.split(" "))
