"""Screen text turned into what people say aloud, for the speech synthesiser (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable

from kiosk_app.domain.text import Text

MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Letters people say as a word or as Indonesian letter names (longest first where they overlap).
_WORDS_ID: tuple[tuple[str, str], ...] = (
    ("e-KTP", "e ka-te-pe"),
    ("KTP-el", "ka-te-pe elektronik"),
    ("KTP", "ka-te-pe"),
    ("RT/RW", "er-te er-we"),
    ("RT", "er-te"),
    ("RW", "er-we"),
    ("NIK", "nik"),
    ("KK", "ka-ka"),
    ("KIA", "kia"),
    ("IKM", "i-ka-em"),
    ("QR", "kiu-ar"),
    ("WIB", "we-i-be"),
    ("A4", "A empat"),
    ("AKM", "a-ka-em"),
    ("PDH", "pe-de-ha"),
    ("LOK", "lokal"),
    ("AKTA", "akta"),
    ("No.", "nomor"),
    ("Jl.", "jalan"),
    ("Kab.", "kabupaten"),
    ("Kec.", "kecamatan"),
    ("Kel.", "kelurahan"),
    ("Hal.", "halaman"),
    ("Tgl.", "tanggal"),
    ("Rp", "rupiah"),
)
_WORDS_EN: tuple[tuple[str, str], ...] = (
    ("e-KTP", "e K T P"),
    ("KTP-el", "K T P"),
    ("KTP", "K T P"),
    ("RT/RW", "R T, R W"),
    ("NIK", "N I K"),
    ("KK", "K K"),
    ("KIA", "K I A"),
    ("QR", "Q R"),
    ("A4", "A four"),
    ("LOK", "local"),
    ("AKTA", "akta"),
    ("No.", "number"),
    ("P.", "page"),
)
_UNIT = {"id": (" sampai ", " lewat ", " menit"), "en": (" to ", " ", "")}
_SYMBOLS = {
    "›": " ",
    "‹": " ",
    "▲": " ",
    "▼": " ",
    "✔": " ",
    "○": " ",
    "⌫": " ",
    "·": ",",
    "…": ".",
    "...": ".",
    "*": " ",
    "_": " ",
}

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DMY_DATE = re.compile(r"\b(\d{1,2})[/-](\d{1,2})[/-](\d{4})\b")
_TIME_RANGE = re.compile(r"\b(\d{1,2})[.:](\d{2})\s*[-–]\s*(\d{1,2})[.:](\d{2})\b")
_TIME = re.compile(r"(?<![\d.])(\d{1,2})[.:](\d{2})(?![\d.])")
# Registration numbers, local references, queue numbers: letters and digit groups joined by - or .
_REFERENCE = re.compile(r"\b[A-Z][A-Z0-9]*(?:[-.][A-Z0-9]+)+\b")
_MASKED = re.compile(r"\b(\d{4})[*x]{4,}(\d{4})\b")
_LONG_DIGITS = re.compile(r"\b\d{4}(?: ?\d{4}){1,4}\b|\b\d{5,}\b")
_LEADING_ZEROS = re.compile(r"(?<![\d.,])0+(\d+)\b(?![.,]\d)")
_RT_RW = re.compile(r"\bRT\s*/\s*RW\s*:?\s*(\d{1,3})\s*/\s*(\d{1,3})\b")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "id"


def digits_spoken(digits: str) -> str:
    """Digits one by one ("0007" -> "0 0 0 7"), as people read numbers out."""
    return " ".join(d for d in digits if d.isdigit())


def date_spoken(day: int, month: int, year: int, lang: str = "id") -> str:
    """12 Januari 2026 (numbers as numbers, the month as a word)."""
    months = MONTHS_EN if _lang(lang) == "en" else MONTHS_ID
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return f"{day} {month} {year}"
    return f"{day} {months[month - 1]} {year}"


def time_spoken(hour: int, minute: int, lang: str = "id") -> str:
    """08.30 -> "8 lewat 30 menit"; 08.00 -> "8"."""
    if minute == 0:
        return str(hour)
    _to, past, minutes = _UNIT[_lang(lang)]
    return f"{hour}{past}{minute}{minutes}"


def _word_table(lang: str) -> Callable[[str], str]:
    table = _WORDS_EN if _lang(lang) == "en" else _WORDS_ID
    # A word is matched whole: not inside a longer word or a reference like AKTA-35.17...
    pattern = re.compile(
        "|".join(
            rf"(?<![\w-]){re.escape(src)}(?![\w]|-\w)"
            if src[-1].isalnum()
            else rf"(?<![\w-]){re.escape(src)}"
            for src, _ in table
        )
    )
    lookup = dict(table)
    return lambda text: pattern.sub(lambda m: lookup[m.group(0)], text)


_TABLES = {lang: _word_table(lang) for lang in ("id", "en")}


def _reference_spoken(match: re.Match[str], lang: str) -> str:
    """AKTA-35.17.261122.0007 -> "akta, 3 5, 1 7, 2 6 1 1 2 2, 0 0 0 7"; A-007 -> "A 7"."""
    token = match.group(0)
    parts = re.split(r"[-.]", token)
    if sum(len(p) for p in parts if p.isdigit()) < 5 and len(parts) == 2 and parts[1].isdigit():
        return f"{parts[0]} {int(parts[1])}"  # a queue number: letter and its count
    words = _TABLES[_lang(lang)]
    spoken: list[str] = []
    for part in parts:
        if part.isdigit():
            spoken.append(digits_spoken(part))
        elif part.isalpha():
            said = words(part)
            spoken.append(said if said != part or len(part) > 4 else " ".join(part))
        else:  # letters and digits mixed (a kiosk id such as KIOSK01): say each sign
            spoken.append(" ".join(part))
    return ", ".join(spoken) + ","


def speakable(text: str, lang: str = "id") -> str:
    """What a speech synthesiser should say for `text` shown on screen in `lang`."""
    lang = _lang(lang)
    to = _UNIT[lang][0]
    out = _RT_RW.sub(lambda m: f"RT {m[1]}, RW {m[2]}", text)
    out = _ISO_DATE.sub(lambda m: date_spoken(int(m[3]), int(m[2]), int(m[1]), lang), out)
    out = _DMY_DATE.sub(lambda m: date_spoken(int(m[1]), int(m[2]), int(m[3]), lang), out)
    out = _TIME_RANGE.sub(
        lambda m: (
            time_spoken(int(m[1]), int(m[2]), lang) + to + time_spoken(int(m[3]), int(m[4]), lang)
            if int(m[1]) < 24 and int(m[3]) < 24 and int(m[2]) < 60 and int(m[4]) < 60
            else m[0]
        ),
        out,
    )
    out = _TIME.sub(
        lambda m: (
            time_spoken(int(m[1]), int(m[2]), lang) if int(m[1]) < 24 and int(m[2]) < 60 else m[0]
        ),
        out,
    )
    out = _REFERENCE.sub(lambda m: _reference_spoken(m, lang), out)
    ending = "ending in" if lang == "en" else "berakhiran"
    out = _MASKED.sub(lambda m: f"{digits_spoken(m[1])}, {ending} {digits_spoken(m[2])}", out)
    out = _LONG_DIGITS.sub(
        lambda m: ", ".join(digits_spoken(g) for g in _groups(m[0].replace(" ", ""))), out
    )
    out = _LEADING_ZEROS.sub(lambda m: m[1], out)
    out = _TABLES[lang](out)
    for symbol, said in _SYMBOLS.items():
        out = out.replace(symbol, said)
    out = _SPACES.sub(" ", out)
    out = _SPACE_BEFORE_PUNCT.sub(r"\1", out)
    out = re.sub(r",+", ",", out)
    out = re.sub(r",\s*([.!?])", r"\1", out)
    return out.strip().rstrip(",").strip()


def _groups(digits: str) -> list[str]:
    return [digits[i : i + 4] for i in range(0, len(digits), 4)]


def spoken_text(text: Text) -> Text:
    """Both languages of `text` made speakable."""
    return Text(speakable(text.id, "id"), speakable(text.en, "en"))


def join(*parts: Text | None) -> Text:
    """Texts said one after the other (None and empty parts skipped)."""
    kept = [p for p in parts if p is not None and (p.id.strip() or p.en.strip())]
    return Text(" ".join(_sentence(p.id) for p in kept), " ".join(_sentence(p.en) for p in kept))


def _sentence(text: str) -> str:
    """End with a full stop so the voice pauses between parts."""
    text = text.strip()
    return text if not text or text[-1] in ".!?:" else text + "."
