"""Built-in region codes (Kemendagri kode wilayah): all 38 provinces and a small sample below.

Only the provinces are complete here. The kabupaten/kota and kecamatan below are the few our
fictional citizens and tests use; the full region tree is imported later from an official CSV
edition given by the operator, and is not part of this module.
"""

from __future__ import annotations

PROVINCES: dict[str, str] = {
    "11": "Aceh",
    "12": "Sumatera Utara",
    "13": "Sumatera Barat",
    "14": "Riau",
    "15": "Jambi",
    "16": "Sumatera Selatan",
    "17": "Bengkulu",
    "18": "Lampung",
    "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau",
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "34": "Daerah Istimewa Yogyakarta",
    "35": "Jawa Timur",
    "36": "Banten",
    "51": "Bali",
    "52": "Nusa Tenggara Barat",
    "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah",
    "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur",
    "65": "Kalimantan Utara",
    "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan",
    "74": "Sulawesi Tenggara",
    "75": "Gorontalo",
    "76": "Sulawesi Barat",
    "81": "Maluku",
    "82": "Maluku Utara",
    "91": "Papua",
    "92": "Papua Barat",
    "93": "Papua Selatan",  # formed 2022
    "94": "Papua Tengah",  # formed 2022
    "95": "Papua Pegunungan",  # formed 2022
    "96": "Papua Barat Daya",  # formed 2022
}

# A sample of kabupaten/kota (four-digit codes) used by the demo citizens.
REGENCIES: dict[str, str] = {
    "3174": "Kota Adm. Jakarta Selatan",
    "3273": "Kota Bandung",
    "3517": "Kabupaten Jombang",
}

# A sample of kecamatan (six-digit codes) in those kabupaten/kota.
DISTRICTS: dict[str, str] = {
    "317401": "Tebet",
    "317402": "Setiabudi",
    "317403": "Mampang Prapatan",
    "317404": "Pasar Minggu",
    "317405": "Kebayoran Lama",
    "317406": "Cilandak",
    "317407": "Kebayoran Baru",
    "327302": "Coblong",
    "327313": "Lengkong",
    "327319": "Sumur Bandung",
    "351701": "Perak",
    "351702": "Gudo",
    "351703": "Ngoro",
    "351706": "Mojoagung",
    "351708": "Diwek",
    "351709": "Jombang",
    "351710": "Peterongan",
    "351718": "Bandar Kedung Mulyo",
}


def _clean(code: object) -> str:
    """Accept "35.17.01" as well as "351701"; anything not a str matches nothing."""
    return code.strip().replace(".", "") if isinstance(code, str) else ""


def province_name(code: str) -> str | None:
    """Name of the province with two-digit `code` ("35" -> "Jawa Timur"), None if unknown."""
    return PROVINCES.get(code.strip()) if isinstance(code, str) else None


def is_known_province(code: str) -> bool:
    """True when `code` is one of the 38 official two-digit province codes."""
    return isinstance(code, str) and code.strip() in PROVINCES


def regency_name(code: str) -> str | None:
    """Name of a kabupaten/kota from the built-in sample ("35.17" or "3517"), None if absent."""
    return REGENCIES.get(_clean(code))


def district_name(code: str) -> str | None:
    """Name of a kecamatan from the built-in sample ("35.17.01" or "351701"), None if absent."""
    return DISTRICTS.get(_clean(code))


# A sample of kelurahan/desa (ten-digit codes; the 7th digit is 1 for a kelurahan, 2 for a desa).
VILLAGES: dict[str, str] = {
    "3174071001": "Melawai",
    "3174071002": "Gunung",
    "3174071003": "Kramat Pela",
    "3174071005": "Rawa Barat",
    "3174071006": "Senayan",
    "3174071009": "Gandaria Utara",
    "3174071010": "Cipete Utara",
    "3174011001": "Tebet Timur",
    "3174011002": "Tebet Barat",
    "3273021004": "Dago",
    "3273021005": "Sekeloa",
    "3517082001": "Kayangan",
    "3517082003": "Bendet",
    "3517082007": "Cukir",
    "3517082011": "Diwek",
    "3517082012": "Bandung",
    "3517091002": "Jombatan",
    "3517091004": "Kaliwungu",
    "3517091005": "Jelakombo",
    "3517091006": "Kepanjen",
    "3517092009": "Sengon",
    "3517092011": "Denanyar",
    "3517092012": "Jombang",
    "3517092013": "Candimulyo",
}


def sample_regions() -> dict[str, str]:
    """The built-in sample as {code: name} over all four levels (the kiosk's fallback list)."""
    return {**PROVINCES, **REGENCIES, **DISTRICTS, **VILLAGES}
