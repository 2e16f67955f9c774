"""Screen text to spoken words: KTP as a word, numbers as numbers, dates and times in words."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk_app.domain.speech import date_spoken, join, speakable, spoken_text, time_spoken
from kiosk_app.domain.text import Text


@pytest.mark.parametrize(
    ("shown", "said"),
    [
        ("Tempelkan e-KTP Anda", "Tempelkan e ka-te-pe Anda"),
        ("Cetak ulang KTP", "Cetak ulang ka-te-pe"),
        ("KTP-el hilang", "ka-te-pe elektronik hilang"),
        ("Kartu Keluarga (KK) baru", "Kartu Keluarga (ka-ka) baru"),
        ("RT/RW 003/005", "er-te 3, er-we 5"),
        ("RT 003 / RW 005", "er-te 3 / er-we 5"),
        ("Jl. Mawar No. 12", "jalan Mawar nomor 12"),
        ("Langkah 2 dari 4", "Langkah 2 dari 4"),
        ("sisa 012", "sisa 12"),
        ("Rp 10.000", "rupiah 10.000"),
        ("Sentuh Lanjut  ›", "Sentuh Lanjut"),
    ],
)
def test_indonesian_words_as_people_say_them(shown: str, said: str) -> None:
    assert speakable(shown, "id") == said


def test_registration_number_in_digit_groups() -> None:
    said = speakable("Nomor registrasi AKTA-35.17.261122.0007", "id")
    assert said == "Nomor registrasi akta, 3 5, 1 7, 2 6 1 1 2 2, 0 0 0 7"
    assert speakable("KTP-35.17.261122.0012", "id").startswith("ka-te-pe, 3 5, 1 7,")
    assert speakable("Nomor antrean A-007", "id") == "Nomor antrean A 7"


def test_nik_read_in_groups_and_masked_nik_says_what_is_hidden() -> None:
    assert speakable("NIK 3517011226000001") == "nik 3 5 1 7, 0 1 1 2, 2 6 0 0, 0 0 0 1"
    assert speakable("NIK: 3517********0001") == "nik: 3 5 1 7, berakhiran 0 0 0 1"
    assert "ending in 0 0 0 1" in speakable("NIK: 3517********0001", "en")


def test_dates_and_times_in_words() -> None:
    assert speakable("2026-01-12") == "12 Januari 2026"
    assert speakable("12/01/2026", "en") == "12 January 2026"
    assert speakable("Senin, 12 Januari 2026 · pukul 08.00-11.00") == (
        "Senin, 12 Januari 2026, pukul 8 sampai 11"
    )
    assert speakable("pukul 08.30") == "pukul 8 lewat 30 menit"
    assert speakable("08.00-11.00", "en") == "8 to 11"
    assert speakable("versi 1.2.3") != ""  # not a time: left alone, never a crash


def test_english_keeps_letters() -> None:
    assert speakable("Place your e-KTP on the reader", "en") == "Place your e K T P on the reader"


@given(st.integers(1, 31), st.integers(1, 12), st.integers(1900, 2100))
def test_every_iso_date_is_spoken_in_words(day: int, month: int, year: int) -> None:
    iso = f"{year:04d}-{month:02d}-{min(day, 28):02d}"
    said = speakable(iso, "id")
    assert said == date_spoken(min(day, 28), month, year, "id")
    assert not re.search(r"\d{4}-\d{2}", said)


@given(st.integers(0, 23), st.integers(0, 59))
def test_every_time_is_said_without_leading_zero(hour: int, minute: int) -> None:
    said = speakable(f"pukul {hour:02d}.{minute:02d}", "id")
    assert said == f"pukul {time_spoken(hour, minute, 'id')}"
    assert not re.search(r"\b0\d", said)


@given(st.text(max_size=80))
def test_any_text_is_speakable_without_crash(text: str) -> None:
    assert isinstance(speakable(text, "id"), str)
    assert isinstance(speakable(text, "en"), str)


def test_join_and_spoken_text_keep_both_languages() -> None:
    joined = join(
        Text("Pilih layanan", "Choose a service"),
        None,
        Text("", ""),
        Text("Sentuh e-KTP", "Touch e-KTP"),
    )
    assert joined == Text("Pilih layanan. Sentuh e-KTP.", "Choose a service. Touch e-KTP.")
    assert spoken_text(joined).id == "Pilih layanan. Sentuh e ka-te-pe."
