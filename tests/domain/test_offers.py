"""The occupation list and what a text field's editor offers with one touch (issue 15)."""

from __future__ import annotations

from datetime import date

from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain import akta_kelahiran as ak
from kiosk_app.domain.akta_kematian import RULES as KEMATIAN
from kiosk_app.domain.forms import FieldKind
from kiosk_app.domain.occupations import COMMON, OCCUPATIONS
from kiosk_app.domain.offers import area_code, offer


def test_the_register_list_holds_each_occupation_once_in_capitals() -> None:
    keys = [c.key for c in OCCUPATIONS]
    assert len(keys) == len(set(keys)) == 88  # the SIAK list without "Lainnya"
    assert all(k == k.upper() for k in keys)
    assert keys[:3] == ["BELUM/TIDAK BEKERJA", "MENGURUS RUMAH TANGGA", "PELAJAR/MAHASISWA"]
    assert {"WIRASWASTA", "PEGAWAI NEGERI SIPIL", "KEPOLISIAN RI"} <= set(keys)
    assert len(COMMON) == 14 and COMMON[4].label.id == "PNS"


def test_occupation_fields_are_lists_and_validate_listed_or_typed() -> None:
    for spec in (ak.FIELDS["mother_occupation"], KEMATIAN.fields["deceased_occupation"]):
        assert spec.kind is FieldKind.LIST and spec.choices == OCCUPATIONS
    today = date.today()
    values = sample_birth_values(today)
    assert ak.validate(values, today).ok  # "MENGURUS RUMAH TANGGA" is a key of the list
    typed = {**values, "mother_occupation": "PERAJIN ROTAN"}  # "Lainnya": typed
    assert ak.validate(typed, today).ok
    wrong = {**values, "mother_occupation": "%%"}
    assert "mother_occupation" in ak.validate(wrong, today).errors
    assert (
        ak.validate({**values, "birth_order": "21"}, today).errors["birth_order"] == ak.MSG["order"]
    )


def test_the_area_code_comes_from_the_kk_before_a_nik() -> None:
    holder = "3517091208850001"  # a NIK keeps the first registration's kecamatan
    assert area_code({"father_nik": holder}) == "351709"
    assert area_code({"father_nik": holder, "kk_number": "3517080101100007"}) == "351708"
    assert area_code({"kk_number": "9917080101100007"}) == ""  # no such province
    assert area_code({"kk_number": "35170801"}) == ""  # not complete


def test_offers_fill_prefix_or_append() -> None:
    values = {"father_nik": "3517091208850001", "father_name": "BUDI SANTOSO"}
    start = offer("mother_nik", values)
    assert start is not None and (start.mode, start.value) == ("prefix", "351709")
    assert start.label.id == "3517 09 \u2026 (kode wilayah)"
    assert offer("mother_nik", {**values, "mother_nik": "35"}) is None  # typing started
    head = offer("kk_head_name", values)
    assert head is not None and (head.mode, head.value) == ("fill", "BUDI SANTOSO")
    town = offer("birth_place_town", values, ("Jombang", "Kab. Jombang"))
    assert town is not None and (town.mode, town.value, town.label.id) == (
        "fill",
        "JOMBANG",
        "Kab. Jombang",
    )
    assert offer("birth_place_town", values) is None  # outside a kiosk: no town known
    child = offer("child_name", values)
    assert child is not None and (child.mode, child.value) == ("append", "SANTOSO")
    assert offer("child_name", {"father_name": "SUKARNO"}) is None  # one word: no last name


def test_an_empty_mobile_number_is_offered_its_08() -> None:
    start = offer("contact_phone", {})
    assert start is not None and (start.mode, start.value) == ("prefix", "08")
    assert start.label.id == "08 \u2026 (nomor HP)" and start.label.en == "08 \u2026 (mobile)"
    assert offer("contact_phone", {"contact_phone": "0"}) is None  # typing started
