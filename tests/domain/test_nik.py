"""NIK rules: round trips, corruptions, one message per defect, never raising."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kiosk_app.domain import nik as n
from kiosk_app.domain.regions import PROVINCES
from kiosk_app.domain.text import Text

TODAY = date(2025, 6, 1)
OFFICIAL = (
    [str(c) for c in range(11, 20)]
    + ["21"]
    + [str(c) for c in range(31, 37)]
    + ["51", "52", "53"]
    + [str(c) for c in range(61, 66)]
    + [str(c) for c in range(71, 77)]
    + ["81", "82"]
    + [str(c) for c in range(91, 97)]
)
FAST = settings(max_examples=150, deadline=None)

provinces = st.sampled_from(sorted(PROVINCES))
codes = st.integers(1, 99).map(lambda v: f"{v:02d}")
# Two-digit years only round-trip inside the 100 years up to `TODAY`.
birth_dates = st.dates(
    min_value=date(TODAY.year - 100, TODAY.month, TODAY.day) + timedelta(1), max_value=TODAY
)
sexes = st.sampled_from(["L", "P"])
serials = st.integers(1, 9999)


@st.composite
def valid_niks(draw: st.DrawFn) -> tuple[str, n.NikParts]:
    parts = n.NikParts(
        draw(provinces),
        draw(codes),
        draw(codes),
        draw(birth_dates),
        draw(sexes),
        f"{draw(serials):04d}",
    )
    nik = n.make_nik(
        parts.province, parts.regency, parts.district, parts.birth_date, parts.sex, parts.serial
    )
    return nik, parts


def oracle_valid(nik: str, card_date: date, card_sex: str) -> bool:
    """An independent, spelled-out reading of the rules, for comparison."""
    if len(nik) != 16 or any(c not in "0123456789" for c in nik):
        return False
    if nik[:2] not in OFFICIAL or nik[2:4] == "00" or nik[4:6] == "00" or nik[12:] == "0000":
        return False
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = "P" if day > 40 else "L"
    day = day - 40 if day > 40 else day
    return (day, month, yy, sex) == (card_date.day, card_date.month, card_date.year % 100, card_sex)


def test_official_province_codes_are_the_38_provinces() -> None:
    assert sorted(PROVINCES) == sorted(OFFICIAL)
    assert len(OFFICIAL) == 38


@FAST
@given(valid_niks())
def test_make_nik_round_trips_through_parse_nik(case: tuple[str, n.NikParts]) -> None:
    nik, parts = case
    assert len(nik) == 16 and nik.isdigit()
    assert n.parse_nik(nik, TODAY) == parts
    assert n.validate_nik(nik, birth_date=parts.birth_date, sex=parts.sex, today=TODAY) == []
    day = int(nik[6:8])
    assert (day > 40) == (parts.sex == "P")


@FAST
@given(valid_niks(), st.integers(0, 15), st.characters(codec="utf-8"))
def test_single_character_corruption_is_valid_or_reported_once(
    case: tuple[str, n.NikParts], position: int, replacement: str
) -> None:
    nik, parts = case
    assume(nik[position] != replacement)
    corrupted = nik[:position] + replacement + nik[position + 1 :]
    errors = n.validate_nik(corrupted, birth_date=parts.birth_date, sex=parts.sex, today=TODAY)
    assert len(errors) <= 1
    assert (errors == []) == oracle_valid(corrupted, parts.birth_date, parts.sex)
    if 6 <= position < 12:  # the coded birth date: always caught against the card
        assert errors


@FAST
@given(st.text())
def test_validate_nik_never_raises_on_any_text(value: str) -> None:
    errors = n.validate_nik(value, birth_date=TODAY, sex="P", known_region=lambda c: False)
    assert all(isinstance(e, Text) and e.id and e.en for e in errors)
    if len(value) != 16 or not all(c in "0123456789" for c in value):
        assert len(errors) == 1 and n.parse_nik(value) is None


@FAST
@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_validate_nik_agrees_with_the_oracle_on_any_digits(value: str) -> None:
    parts = n.parse_nik(value, TODAY)
    errors = n.validate_nik(value, today=TODAY)
    if parts is None:
        assert n.MSG_DATE in errors
    else:
        assert (errors == []) == oracle_valid(value, parts.birth_date, parts.sex)


def _with(nik: str, start: int, text: str) -> str:
    return nik[:start] + text + nik[start + len(text) :]


DEFECTS = {
    "letter": (lambda nik, p: (_with(nik, 3, "O"), {}), n.MSG_NOT_DIGITS),
    "short": (lambda nik, p: (nik[:15], {}), n.MSG_LENGTH.format(count=15)),
    "long": (lambda nik, p: (nik + "1", {}), n.MSG_LENGTH.format(count=17)),
    "empty": (lambda nik, p: ("", {}), n.MSG_LENGTH.format(count=0)),
    "province": (lambda nik, p: (_with(nik, 0, "20"), {}), n.MSG_PROVINCE.format(code="20")),
    "regency": (lambda nik, p: (_with(nik, 2, "00"), {}), n.MSG_REGENCY),
    "district": (lambda nik, p: (_with(nik, 4, "00"), {}), n.MSG_DISTRICT),
    "month": (lambda nik, p: (_with(nik, 8, "13"), {}), n.MSG_DATE),
    "day": (lambda nik, p: (_with(nik, 6, "32" if p.sex == "L" else "72"), {}), n.MSG_DATE),
    "serial": (lambda nik, p: (_with(nik, 12, "0000"), {}), n.MSG_SERIAL),
    "birth_date": (
        lambda nik, p: (nik, {"birth_date": p.birth_date - timedelta(days=365 * 3)}),
        n.MSG_BIRTH_DATE,
    ),
    "sex": (lambda nik, p: (nik, {"sex": "L" if p.sex == "P" else "P"}), n.MSG_SEX),
    "region": (lambda nik, p: (nik, {"known_region": lambda code: code != nik[:6]}), None),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
@settings(max_examples=30, deadline=None)
@given(case=valid_niks())
def test_each_single_defect_gives_exactly_one_message(
    defect: str, case: tuple[str, n.NikParts]
) -> None:
    nik, parts = case
    make, expected = DEFECTS[defect]
    bad, extra = make(nik, parts)
    card: dict[str, object] = {"birth_date": parts.birth_date, "sex": parts.sex, **extra}
    errors = n.validate_nik(bad, today=TODAY, **card)  # type: ignore[arg-type]
    if expected is None:
        expected = n.MSG_UNKNOWN_REGION.format(code=f"{nik[:2]}.{nik[2:4]}.{nik[4:6]}")
    assert errors == [expected]


def test_known_region_is_asked_about_the_kecamatan_code() -> None:
    asked: list[str] = []
    nik = n.make_nik("35", "17", "01", date(1990, 1, 2), "L", 7)
    n.validate_nik(nik, known_region=lambda code: asked.append(code) or True)
    assert asked == ["351701"]

    def broken(code: str) -> bool:
        raise RuntimeError("region table not loaded")

    assert n.validate_nik(nik, known_region=broken) == []


def test_birth_date_and_sex_both_wrong_is_one_message() -> None:
    nik = n.make_nik("35", "17", "01", date(1990, 1, 5), "P", 7)  # day 45
    assert n.validate_nik(nik, birth_date=date(1990, 1, 15), sex="L") == [n.MSG_BIRTH_DATE_AND_SEX]


@pytest.mark.parametrize(
    ("yy", "year"), [("90", 1990), ("20", 2020), ("25", 2025), ("26", 1926), ("00", 2000)]
)
def test_two_digit_year_is_never_in_the_future(yy: str, year: int) -> None:
    parts = n.parse_nik(f"3517010101{yy}0001", TODAY)
    assert parts is not None and parts.birth_date == date(year, 1, 1)


def test_leap_day_uses_the_century_that_has_it() -> None:
    assert n.parse_nik("3517012902000001", TODAY).birth_date == date(2000, 2, 29)  # type: ignore[union-attr]
    assert n.parse_nik("3517013002000001", TODAY) is None


@pytest.mark.parametrize("card_sex", ["PEREMPUAN", "perempuan", " P ", "WANITA"])
def test_card_sex_words_are_understood(card_sex: str) -> None:
    nik = n.make_nik("35", "17", "01", date(1990, 1, 5), "P", 7)
    assert n.validate_nik(nik, sex=card_sex) == []
    assert n.validate_nik(nik, sex="LAKI-LAKI") == [n.MSG_SEX]


@pytest.mark.parametrize(
    "args",
    [
        ("3", "17", "01", date(1990, 1, 1), "L", 1),
        ("35", "17", "01", date(1990, 1, 1), "X", 1),
        ("35", "17", "01", date(1990, 1, 1), "L", 10000),
        ("35", "1a", "01", date(1990, 1, 1), "L", 1),
    ],
)
def test_make_nik_refuses_bad_parts(args: tuple[object, ...]) -> None:
    with pytest.raises(ValueError):
        n.make_nik(*args)  # type: ignore[arg-type]


def test_parts_expose_full_region_codes() -> None:
    parts = n.parse_nik(n.make_nik(35, 17, 1, date(1988, 8, 17), "P", 42), TODAY)
    assert parts is not None
    assert (parts.regency_code, parts.district_code, parts.serial) == ("3517", "351701", "0042")
