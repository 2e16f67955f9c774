"""The fictional citizens behind the simulated card reader."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

from drivers.card_reader.citizens import citizen, citizen_count, fictional_citizens
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.nik import validate_nik
from kiosk_app.domain.regions import district_name


def test_citizens_are_complete_and_varied() -> None:
    people = fictional_citizens()
    assert len(people) == citizen_count() >= 6
    assert {p.sex for p in people} == {"L", "P"}
    assert len({p.nik for p in people}) == len(people)
    assert len({p.nik[:4] for p in people}) >= 3  # several regencies/cities
    for person in people:
        assert isinstance(person, Identity)
        for name in person.__dataclass_fields__:
            assert getattr(person, name), f"{name} is empty"
        assert len(person.rt_rw) == 7 and person.rt_rw[3] == "/"
        assert person.valid_until == "SEUMUR HIDUP" and person.citizenship == "WNI"


def test_nik_structure_matches_birth_date_and_sex() -> None:
    for person in fictional_citizens():
        nik = person.nik
        assert len(nik) == 16 and nik.isdigit()
        day = int(nik[6:8])
        assert (day > 40) == (person.sex == "P")
        encoded = date(person.birth_date.year, int(nik[8:10]), day - 40 * (day > 40))
        assert encoded == person.birth_date
        assert nik[12:] != "0000"


def test_photos_are_deterministic_portraits() -> None:
    first, second = fictional_citizens(), fictional_citizens()
    for a, b in zip(first, second, strict=True):
        assert a.photo_jpeg == b.photo_jpeg
        assert 8_000 < len(a.photo_jpeg) < 30_000
        with Image.open(io.BytesIO(a.photo_jpeg)) as img:
            assert img.format == "JPEG" and img.size == (300, 400)
            red, _, blue = img.convert("RGB").getpixel((5, 5))
            assert red > 120 or blue > 120  # e-KTP red or blue background
    assert len({p.photo_jpeg for p in first}) == len(first)


def test_each_call_returns_fresh_objects() -> None:
    one = citizen(0)
    one.wipe()
    assert citizen(0).name and citizen(0).nik
    assert citizen(0) is not citizen(0)


@pytest.mark.parametrize("bad", [-1, 1000, "0"])
def test_bad_index_is_a_clear_error(bad: object) -> None:
    with pytest.raises(ValueError, match="citizen index"):
        citizen(bad)  # type: ignore[arg-type]


def test_nik_and_kecamatan_agree_with_domain_rules() -> None:
    for person in fictional_citizens():
        errors = validate_nik(
            person.nik,
            birth_date=person.birth_date,
            sex=person.sex,
            known_region=lambda code: district_name(code) is not None,
        )
        assert errors == [], [e("en") for e in errors]
        assert (district_name(person.nik[:6]) or "").upper() == person.kecamatan
