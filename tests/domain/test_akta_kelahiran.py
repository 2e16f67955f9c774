"""Akta kelahiran form: its shape, every validation rule, prefill and the review summary."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk_app.domain import akta_kelahiran as ak
from kiosk_app.domain.forms import FieldKind
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.nik import MSG_LENGTH, MSG_PROVINCE, make_nik
from kiosk_app.domain.text import Text

TODAY = date(2025, 6, 1)
MOTHER_NIK = make_nik("35", "17", "01", date(1995, 3, 10), "P", 2)
FATHER_NIK = make_nik("35", "17", "08", date(1992, 7, 4), "L", 3)
WITNESS1_NIK = make_nik("35", "17", "09", date(1980, 6, 5), "L", 5)
WITNESS2_NIK = make_nik("31", "74", "01", date(1985, 12, 24), "P", 6)
FIELD_NAMES = sorted(ak.FIELDS)


def valid_values() -> dict[str, str]:
    return {
        "kk_head_name": "Budi Santoso",
        "kk_number": "3517012003250004",
        "child_name": "Ayu Lestari",
        "child_sex": "P",
        "birth_place_type": "rs_rb",
        "birth_place_town": "Jombang",
        "child_birth_date": "2025-05-20",
        "child_birth_time": "14:30",
        "birth_type": "tunggal",
        "birth_order": "1",
        "birth_attendant": "bidan_perawat",
        "child_weight_kg": "3,2",
        "child_length_cm": "49",
        "mother_nik": MOTHER_NIK,
        "mother_name": "Siti Aminah",
        "mother_birth_date": "1995-03-10",
        "mother_occupation": "Mengurus Rumah Tangga",
        "mother_address": "Jl. Merdeka 1 RT/RW 001/002, Perak",
        "mother_citizenship": "wni",
        "father_nik": FATHER_NIK,
        "father_name": "Budi Santoso",
        "father_birth_date": "1992-07-04",
        "father_occupation": "Wiraswasta",
        "father_address": "Jl. Merdeka 1 RT/RW 001/002, Perak",
        "father_citizenship": "wni",
        "marriage_date": "2020-02-14",
        "witness1_nik": WITNESS1_NIK,
        "witness1_name": "Ahmad Fauzi",
        "witness2_nik": WITNESS2_NIK,
        "witness2_name": "Dewi Sartika",
    }


def errors_with(today: date = TODAY, **changes: str) -> dict[str, Text]:
    values = valid_values() | changes
    return dict(ak.validate(values, today=today).errors)


# -- shape ---------------------------------------------------------------------------------


def test_form_spec_shape() -> None:
    form = ak.AKTA_KELAHIRAN
    assert form.service == "akta_kelahiran"
    assert form.title == Text("Akta Kelahiran", "Birth certificate")
    names = [f.name for p in form.pages for f in p.fields]
    assert len(names) == len(set(names)) == len(valid_values())
    assert set(names) == set(valid_values())
    assert len({p.key for p in form.pages}) == len(form.pages)
    for page in form.pages:
        assert 1 <= len(page.fields) <= 5, page.key
        assert page.title.id and page.title.en
        for spec in page.fields:
            assert spec.name and spec.label.id.strip() and spec.label.en.strip()
            if spec.kind in (FieldKind.CHOICE, FieldKind.LIST):
                assert spec.choices and all(
                    c.key and c.label.id and c.label.en for c in spec.choices
                )
            else:
                assert not spec.choices


def test_choice_keys_follow_the_f201_form() -> None:
    keys = {name: {c.key for c in ak.FIELDS[name].choices} for name in ak.FIELDS}
    assert keys["child_sex"] == {"L", "P"}
    assert keys["birth_place_type"] == {"rs_rb", "puskesmas", "polindes", "rumah", "lainnya"}
    assert keys["birth_type"] == {"tunggal", "kembar_2", "kembar_3", "kembar_4", "lainnya"}
    assert keys["birth_attendant"] == {"dokter", "bidan_perawat", "dukun", "lainnya"}
    assert keys["mother_citizenship"] == keys["father_citizenship"] == {"wni", "wna"}


def test_valid_example_passes() -> None:
    result = ak.validate(valid_values(), today=TODAY)
    assert result.ok, result.errors


def test_form_spec_validate_takes_values_only_and_pages_filter() -> None:
    values = valid_values() | {"child_name": "4y", "mother_name": ""}
    form = ak.AKTA_KELAHIRAN
    assert set(form.validate(values).errors) >= {"child_name", "mother_name"}
    anak_1 = [p.key for p in form.pages].index("anak_1")
    assert set(form.validate_page(anak_1, values).errors) == {"child_name"}


# -- one rule at a time --------------------------------------------------------------------

REQUIRED = [name for name in FIELD_NAMES if ak.FIELDS[name].required]


@pytest.mark.parametrize("name", REQUIRED)
def test_required_fields(name: str) -> None:
    assert errors_with(**{name: "  "}) == {name: ak.MSG["required"]}
    values = valid_values()
    del values[name]
    assert ak.validate(values, today=TODAY).errors == {name: ak.MSG["required"]}


def test_marriage_date_is_optional() -> None:
    assert errors_with(marriage_date="") == {}


@pytest.mark.parametrize("name", ak.NAME_FIELDS)
@pytest.mark.parametrize("bad", ["Ayu2", "A", "x" * 61, "@@", "- .", "Siti_Aminah", "Dewi\nSari"])
def test_names_letters_and_some_punctuation(name: str, bad: str) -> None:
    errors = errors_with(**{name: bad})
    assert name in errors and errors[name] in (ak.MSG["name"], ak.MSG["too_long"].format(n=60))


@pytest.mark.parametrize("good", ["Muh. Ali O'Neil-Smith, S.Pd", "Ni Luh Putu Ayu", "Jos\u00e9"])
def test_names_that_are_fine(good: str) -> None:
    assert errors_with(child_name=good, kk_head_name=good) == {}


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("mother_nik", FATHER_NIK, ak.MSG["mother_nik_sex"]),
        ("father_nik", MOTHER_NIK, ak.MSG["father_nik_sex"]),
        ("mother_nik", "123", MSG_LENGTH.format(count=3)),
        ("witness1_nik", "0017010101900001", MSG_PROVINCE.format(code="00")),
        ("witness2_nik", "35170101019O0001", None),
        ("kk_number", "351701200325", ak.MSG["kk"]),
        ("kk_number", "35170120032500041", ak.MSG["kk"]),
        ("kk_number", "9917012003250004", ak.MSG["kk_region"]),
        ("kk_number", "3500012003250004", ak.MSG["kk_region"]),
        ("kk_number", "3517002003250004", ak.MSG["kk_region"]),
        ("child_birth_date", "2025-02-30", ak.MSG["date"]),
        ("child_birth_date", "20-05-2025", ak.MSG["date"]),
        ("child_birth_date", "2025-06-02", ak.MSG["future"]),
        ("mother_birth_date", "1899-12-31", ak.MSG["before_1900"]),
        ("marriage_date", "2025-06-02", ak.MSG["future"]),
        ("marriage_date", "2020-13-01", ak.MSG["date"]),
        ("child_birth_time", "24:00", ak.MSG["time"]),
        ("child_birth_time", "12:60", ak.MSG["time"]),
        ("child_birth_time", "1430", ak.MSG["time"]),
        ("child_birth_time", "7:30", ak.MSG["time"]),
        ("child_weight_kg", "0,2", ak.MSG["weight"]),
        ("child_weight_kg", "8,1", ak.MSG["weight"]),
        ("child_weight_kg", "-3", ak.MSG["weight"]),
        ("child_weight_kg", "tiga", ak.MSG["weight"]),
        ("child_weight_kg", "3,2,1", ak.MSG["weight"]),
        ("child_length_cm", "19,9", ak.MSG["length"]),
        ("child_length_cm", "71", ak.MSG["length"]),
        ("birth_order", "0", ak.MSG["order"]),
        ("birth_order", "21", ak.MSG["order"]),
        ("birth_order", "1.5", ak.MSG["order"]),
        ("birth_order", "\u0661", ak.MSG["order"]),
        ("child_sex", "X", ak.MSG["choice"]),
        ("birth_type", "Tunggal", ak.MSG["choice"]),
        ("mother_citizenship", "indonesia", ak.MSG["choice"]),
        ("mother_occupation", "1234", ak.MSG["text"].format(n=60)),
        ("mother_address", "Jl", ak.MSG["address"]),
        ("father_address", "x" * 151, ak.MSG["too_long"].format(n=150)),
    ],
)
def test_each_rule_reports_on_its_field(name: str, value: str, expected: Text | None) -> None:
    errors = errors_with(**{name: value})
    assert set(errors) == {name}
    if expected is not None:
        assert errors[name] == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("child_weight_kg", "0,3"),
        ("child_weight_kg", "8"),
        ("child_weight_kg", "3.25"),
        ("child_length_cm", "20"),
        ("child_length_cm", "70"),
        ("child_length_cm", "49,5"),
        ("birth_order", "20"),
        ("child_birth_time", "00:00"),
        ("child_birth_time", "23:59"),
        ("child_birth_date", TODAY.isoformat()),
        ("marriage_date", TODAY.isoformat()),
        ("child_name", "  Ayu Lestari  "),
    ],
)
def test_boundaries_that_pass(name: str, value: str) -> None:
    assert errors_with(**{name: value}) == {}


def test_child_born_before_1900_is_refused() -> None:
    errors = errors_with(child_birth_date="1899-12-31")
    assert errors["child_birth_date"] == ak.MSG["before_1900"]


@pytest.mark.parametrize(("who", "id_"), [("mother", "ibu"), ("father", "ayah")])
def test_parents_born_before_and_ten_years_older_than_the_child(who: str, id_: str) -> None:
    key = f"{who}_birth_date"
    after = errors_with(**{key: "2025-05-21"})
    assert set(after) == {key} and after[key].id.startswith("Tanggal lahir " + id_)
    same_day = errors_with(**{key: "2025-05-20"})
    assert set(same_day) == {key} and same_day[key] == after[key]
    young = errors_with(**{key: "2015-05-21"})  # one day short of ten years
    assert set(young) == {key} and young[key] != after[key] and "10" in young[key].en
    assert errors_with(**{key: "2015-05-20"}) == {}


def test_witnesses_must_be_two_people_and_not_the_child() -> None:
    same = errors_with(witness2_nik=WITNESS1_NIK)
    assert same == {"witness2_nik": ak.MSG["same_witness"]}
    child = errors_with(witness1_name="AYU  lestari")
    assert child == {"witness1_name": ak.MSG["witness_is_child"]}
    assert errors_with(witness2_name="ayu lestari") == {"witness2_name": ak.MSG["witness_is_child"]}


def test_huge_values_give_messages_not_exceptions() -> None:
    values = {name: "9" * 100_000 for name in FIELD_NAMES}
    errors = ak.validate(values, today=TODAY).errors
    assert set(errors) == set(FIELD_NAMES)


def test_validate_defaults_to_today() -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert ak.validate(valid_values() | {"marriage_date": tomorrow}).errors == {
        "marriage_date": ak.MSG["future"]
    }


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELD_NAMES), st.text()))
def test_validate_never_raises_on_any_values(values: dict[str, str]) -> None:
    result = ak.validate(values, today=TODAY)
    assert set(result.errors) <= set(FIELD_NAMES)
    assert set(REQUIRED) - set(values) <= set(result.errors)
    assert all(isinstance(t, Text) and t.id and t.en for t in result.errors.values())
    rows = ak.summary(values, "id")
    assert len(rows) == len(FIELD_NAMES) + 1


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(FIELD_NAMES), st.text())
def test_one_changed_field_never_blames_an_unrelated_one(name: str, value: str) -> None:
    errors = errors_with(**{name: value})
    related = {
        "child_birth_date": {"mother_birth_date", "father_birth_date"},
        "child_name": {"witness1_name", "witness2_name"},
        "witness1_nik": {"witness2_nik"},
    }
    assert set(errors) <= {name} | related.get(name, set())


# -- prefill and summary -------------------------------------------------------------------


def identity(sex: str, nik: str, born: date) -> Identity:
    return Identity(
        nik=nik,
        name="SITI AMINAH" if sex.startswith("P") else "BUDI SANTOSO",
        birth_place="JOMBANG",
        birth_date=born,
        sex=sex,
        blood_type="O",
        address="JL. MERDEKA 1",
        rt_rw="001/002",
        kelurahan_desa="PERAK",
        kecamatan="PERAK",
        kabupaten_kota="JOMBANG",
        province="JAWA TIMUR",
        religion="ISLAM",
        marital_status="KAWIN",
        occupation="WIRASWASTA",
        citizenship="WNI",
        valid_until="SEUMUR HIDUP",
    )


@pytest.mark.parametrize(
    ("sex", "who", "other"),
    [
        ("LAKI-LAKI", "father", "mother"),
        ("L", "father", "mother"),
        ("PEREMPUAN", "mother", "father"),
    ],
)
def test_prefill_fills_the_card_holders_parent_fields(sex: str, who: str, other: str) -> None:
    nik = FATHER_NIK if who == "father" else MOTHER_NIK
    born = date(1992, 7, 4) if who == "father" else date(1995, 3, 10)
    values = ak.prefill(identity(sex, nik, born))
    expected_keys = {
        f"{who}_{k}" for k in ("nik", "name", "birth_date", "occupation", "address", "citizenship")
    }
    assert set(values) == expected_keys
    assert values[f"{who}_nik"] == nik and values[f"{who}_birth_date"] == born.isoformat()
    assert values[f"{who}_citizenship"] == "wni"
    assert "PERAK" in values[f"{who}_address"] and "001/002" in values[f"{who}_address"]
    errors = ak.validate(valid_values() | values, today=TODAY).errors
    assert not set(errors) & expected_keys, errors
    assert not any(k.startswith(other) for k in values) and "kk_head_name" not in values


def test_prefill_falls_back_on_the_nik_and_skips_a_wiped_card() -> None:
    card = identity("?", MOTHER_NIK, date(1995, 3, 10))
    assert "mother_nik" in ak.prefill(card)
    card.wipe()
    assert ak.prefill(card) == {}


def test_summary_shows_labels_dates_and_day_name() -> None:
    rows_id = dict(ak.summary(valid_values(), "id"))
    rows_en = dict(ak.summary(valid_values(), "en"))
    assert rows_id["Tanggal lahir anak"] == "Selasa, 20 Mei 2025"
    assert rows_id["Hari lahir"] == "Selasa" and rows_en["Day of birth"] == "Tuesday"
    assert rows_id["Jenis kelamin anak"] == "Perempuan" and rows_en["Child's sex"] == "Female"
    assert rows_id["Tempat dilahirkan"] == "Rumah sakit / rumah bersalin"
    assert rows_id["Penolong kelahiran"] == "Bidan/Perawat"
    assert rows_id["Berat bayi (kg)"] == "3,2 kg" and rows_en["Weight (kg)"] == "3.2 kg"
    assert rows_id["NIK ibu"] == MOTHER_NIK
    masked = dict(ak.summary(valid_values(), "id", mask=True))
    assert masked["NIK ibu"] != MOTHER_NIK and masked["NIK ibu"].endswith(MOTHER_NIK[-4:])
    empty = dict(ak.summary({}, "en"))
    assert set(empty.values()) == {"-"}


def test_day_names_cover_the_week() -> None:
    monday = date(2024, 1, 1)
    names = [ak.day_name(monday + timedelta(days=i)) for i in range(7)]
    assert names[0] == Text("Senin", "Monday") and names[6] == Text("Minggu", "Sunday")
    assert len({t.id for t in names}) == len({t.en for t in names}) == 7
    assert ak.day_name(monday + timedelta(days=7)) == names[0]
