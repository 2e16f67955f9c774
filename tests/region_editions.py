"""Small hand-written region editions for tests (the country-sized one is in ../shared/data)."""

from __future__ import annotations

import csv
from pathlib import Path

FULL_EDITION = Path(__file__).resolve().parents[2] / "shared" / "data" / "wilayah"

# An "old" edition: Papua before the 2022 split, plus Jombang.
OLD: dict[str, dict[str, str]] = {
    "provinces": {"35": "JAWA TIMUR", "91": "PAPUA"},
    "cities": {"3517": "KABUPATEN JOMBANG", "9101": "KABUPATEN MERAUKE"},
    "districts": {"351708": "Diwek", "351709": "Jombang", "910101": "Merauke"},
    "villages": {
        "3517082007": "Cukir",
        "3517092009": "Sengon",
        "3517091002": "Jombatan",
        "9101011001": "Kelapa Lima",
        "9101012002": "Nasem",
    },
}

# The newer edition: Merauke moved to the new province of Papua Selatan (93) with a new code.
NEW: dict[str, dict[str, str]] = {
    "provinces": {"35": "JAWA TIMUR", "91": "PAPUA", "93": "PAPUA SELATAN"},
    "cities": {
        "3517": "KABUPATEN JOMBANG",
        "9301": "KABUPATEN MERAUKE",
        "9103": "KABUPATEN JAYAPURA",
    },
    "districts": {"351708": "Diwek", "351709": "Jombang", "930101": "Merauke", "910301": "Sentani"},
    "villages": {
        "3517082007": "Cukir",
        "3517092009": "Sengon",
        "3517091002": "Jombatan",
        "9301011001": "Kelapa Lima",
        "9301012002": "Nasem",
        "9103012001": "Sentani Kota",
    },
}


def write_edition(directory: Path, edition: dict[str, dict[str, str]]) -> Path:
    """Write an edition as the four CSV files (code,parent,name; provinces: code,name)."""
    directory.mkdir(parents=True, exist_ok=True)
    for kind, rows in edition.items():
        with open(directory / f"{kind}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            for code, name in rows.items():
                if kind == "provinces":
                    writer.writerow([code, name])
                else:
                    parent = code[:6] if len(code) == 10 else code[:-2]
                    writer.writerow([code, parent, name])
    return directory
