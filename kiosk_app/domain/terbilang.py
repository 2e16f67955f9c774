"""Numbers as Indonesian words ("terbilang") for spoken calls: 12 -> "dua belas" (pure)."""

from __future__ import annotations

import re

_UNITS = (
    "nol",
    "satu",
    "dua",
    "tiga",
    "empat",
    "lima",
    "enam",
    "tujuh",
    "delapan",
    "sembilan",
    "sepuluh",
    "sebelas",
)
_CALLING_NUMBER = re.compile(r"^(?P<letter>[A-Z])-?(?P<number>\d{1,4})$")


def number_words(n: int) -> str:
    """0 <= n < 1,000,000 in words: 12 "dua belas", 100 "seratus", 1012 "seribu dua belas"."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"{n} is out of range for spoken numbers")
    if n < 12:
        return _UNITS[n]
    if n < 20:
        return f"{_UNITS[n - 10]} belas"
    if n < 100:
        return _join(f"{_UNITS[n // 10]} puluh", n % 10)
    if n < 200:
        return _join("seratus", n - 100)
    if n < 1000:
        return _join(f"{_UNITS[n // 100]} ratus", n % 100)
    if n < 2000:
        return _join("seribu", n - 1000)
    return _join(f"{number_words(n // 1000)} ribu", n % 1000)


def _join(head: str, rest: int) -> str:
    return head if rest == 0 else f"{head} {number_words(rest)}"


def calling_number_words(calling_number: str) -> str:
    """A calling number said aloud: "A-012" -> "A dua belas" (the letter, then the count)."""
    match = _CALLING_NUMBER.match(calling_number.strip().upper())
    if match is None:
        raise ValueError(f"not a calling number: {calling_number!r}")
    return f"{match['letter']} {number_words(int(match['number']))}"


def call_sentence(calling_number: str, counter: int) -> str:
    """The waiting room's call: "Nomor antrean A dua belas, silakan ke loket tiga"."""
    return (
        f"Nomor antrean {calling_number_words(calling_number)}, "
        f"silakan ke loket {number_words(counter)}"
    )
