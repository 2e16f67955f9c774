"""The rules particular to each service: variants, ages, dates, people who must differ."""

from __future__ import annotations

from datetime import date, timedelta

from kiosk_app.domain import akta_kematian, kia, kk_change, ktp_reprint, pindah
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.nik import make_nik
from tests.domain import service_values as sv


def en(module: object, values: dict[str, str]) -> dict[str, str]:
    """The module's messages in English."""
    result = module.validate(values)  # type: ignore[attr-defined]
    return {k: v.en for k, v in result.errors.items()}


def card(sex: str = "L") -> Identity:
    return Identity(
        nik=sv.HOLDER_NIK if sex == "L" else make_nik("35", "17", "08", date(1990, 4, 9), "P", 12),
        name="BUDI SANTOSO" if sex == "L" else "DEWI LESTARI",
        birth_place="JOMBANG",
        birth_date=date(1985, 8, 12),
        sex=sex,
        blood_type="O",
        address="JL. MAWAR NO. 12",
        rt_rw="001/002",
        kelurahan_desa="SENGON",
        kecamatan="JOMBANG",
        kabupaten_kota="JOMBANG",
        province="JAWA TIMUR",
        religion="ISLAM",
        marital_status="KAWIN",
        occupation="WIRASWASTA",
        citizenship="WNI",
        valid_until="SEUMUR HIDUP",
    )


# -- akta kematian ------------------------------------------------------------------------------
def test_death_rules_between_fields() -> None:
    values = sv.akta_kematian()
    early = en(akta_kematian, values | {"death_date": "1949-01-01"})
    assert "before the date of birth" in early["death_date"]
    assert (
        "cannot be the deceased"
        in en(akta_kematian, values | {"reporter_nik": values["deceased_nik"]})["reporter_nik"]
    )
    assert (
        "different person"
        in en(akta_kematian, values | {"witness2_nik": values["witness1_nik"]})["witness2_nik"]
    )
    assert "sex does not match" in en(akta_kematian, values | {"deceased_sex": "P"})["deceased_sex"]
    assert (
        "does not match"
        in en(akta_kematian, values | {"deceased_birth_date": "1950-03-05"})["deceased_birth_date"]
    )
    future = (date.today() + timedelta(days=1)).isoformat()
    assert "after today" in en(akta_kematian, values | {"death_date": future})["death_date"]
    assert en(akta_kematian, values | {"death_time": ""}) == {}  # the hour may be unknown
    assert "14:30" in en(akta_kematian, values | {"death_time": "25:00"})["death_time"]


def test_the_card_holder_is_the_reporter() -> None:
    values = akta_kematian.prefill(card())
    assert values == {
        "reporter_nik": sv.HOLDER_NIK,
        "reporter_name": "BUDI SANTOSO",
        "reporter_citizenship": "wni",  # F-2.01 asks it; the card says WNI
    }
    missing = en(akta_kematian, sv.akta_kematian() | {"witness2_kk": "", "reporter_kk": "12"})
    assert set(missing) == {"witness2_kk", "reporter_kk"}  # F-2.01: the KK of each person
    assert SERVICES["akta_kematian"].subject(sv.akta_kematian()) == "AHMAD SUBAGYO"


# -- perubahan KK -------------------------------------------------------------------------------
def test_the_kind_of_change_decides_what_is_required() -> None:
    new = en(kk_change, sv.kk_common("anggota_baru"))
    assert set(new) == {
        "member_reason",
        "member_name",
        "member_sex",
        "member_birth_date",
        "member_relation",
    }
    assert "Add a family member" in new["member_name"]
    fix = en(kk_change, sv.kk_common("perbaikan_data"))
    assert set(fix) == {"person_nik", "person_name", "data_element", "old_value", "new_value"}
    split = en(kk_change, sv.kk_common("pisah_kk"))
    assert "new_region" in split and "member_name" not in split
    assert "change_type" in en(kk_change, {"kk_number": sv.KK_NUMBER})


def test_fields_of_another_kind_are_ignored_and_left_out_of_the_summary() -> None:
    mixed = sv.kk_correction() | {"member_name": "123 not a name", "new_region": "x"}
    assert en(kk_change, mixed) == {}
    labels = [label for label, _ in kk_change.summary(mixed, "en")]
    assert "That member's name" in labels and "New member's full name" not in labels


def test_new_member_rules() -> None:
    values = sv.kk_new_member()
    moving_in = values | {"member_reason": "datang"}
    assert "already has a NIK" in en(kk_change, moving_in)["member_nik"]
    old_birth = values | {"member_birth_date": "2020-01-01"}
    assert "within the last year" in en(kk_change, old_birth)["member_birth_date"]
    fix = sv.kk_correction() | {"new_value": "pelajar"}
    assert "different from what is written" in en(kk_change, fix)["new_value"]
    assert "from 1 to 20" in en(kk_change, sv.kk_split() | {"split_members": "0"})["split_members"]


# -- cetak ulang KTP ----------------------------------------------------------------------------
def test_lost_needs_a_recent_police_report_and_damaged_the_old_card() -> None:
    lost = sv.ktp_lost()
    assert "police_report_number" in en(ktp_reprint, lost | {"police_report_number": ""})
    old = (date.today() - timedelta(days=400)).isoformat()
    assert (
        "more than a year"
        in en(ktp_reprint, lost | {"police_report_date": old})["police_report_date"]
    )
    assert (
        "number as printed"
        in en(ktp_reprint, lost | {"police_report_number": "ABC"})["police_report_number"]
    )
    assert en(ktp_reprint, sv.ktp_damaged() | {"police_report_number": ""}) == {}
    damaged = en(ktp_reprint, sv.ktp_damaged() | {"bring_old_card": ""})
    assert "Damaged" in damaged["bring_old_card"]
    assert ktp_reprint.prefill(card()) == {"ktp_nik": sv.HOLDER_NIK, "ktp_name": "BUDI SANTOSO"}


# -- KIA ----------------------------------------------------------------------------------------
def test_kia_is_for_children_under_17_with_a_photo_from_5() -> None:
    assert en(kia, sv.kia(16)) == {}
    assert "under 17" in en(kia, sv.kia(17))["child_birth_date"]
    assert "colour photo" in en(kia, sv.kia(5) | {"child_photo": ""})["child_photo"]
    assert en(kia, sv.kia(4)) == {}
    rows = dict(kia.summary(sv.kia(6), "en"))
    assert rows["Note"] == "Bring a 2x3 colour photo of the child"
    assert "Note" not in dict(kia.summary(sv.kia(3), "en"))


def test_kia_child_and_parent_must_fit_the_niks() -> None:
    values = sv.kia(6)
    assert "sex does not match" in en(kia, values | {"child_sex": "L"})["child_sex"]
    assert (
        "cannot be the child" in en(kia, values | {"parent_nik": values["child_nik"]})["parent_nik"]
    )
    young = make_nik("35", "17", "08", date.today() - timedelta(days=365 * 12), "L", 9)
    assert "10 years older" in en(kia, values | {"parent_nik": young})["parent_nik"]
    assert kia.prefill(card("P"))["parent_role"] == "ibu"
    assert kia.prefill(card("L"))["parent_role"] == "ayah"


# -- pindah -------------------------------------------------------------------------------------
def test_moving_out_counts_the_people_moving() -> None:
    values = sv.pindah_out()
    assert "Moving out" in en(pindah, values | {"member1_nik": ""})["member1_nik"]
    assert "member1_shdk" in en(pindah, values | {"member1_shdk": ""})
    alone = values | {"move_type": "sendiri", "member1_nik": ""}
    assert "must be 1" in en(pindah, alone)["members_count"]
    assert en(pindah, alone | {"members_count": "1"}) == {}  # no member rows when alone
    assert "at least 2" in en(pindah, values | {"members_count": "1"})["members_count"]


def test_moving_out_lists_one_row_per_member_however_many() -> None:
    values = sv.pindah_out()
    shown = pindah.RULES.applicable(values)
    assert "member1_nik" in shown and "member2_nik" not in shown  # you and one member
    # Four people: you and three members, each with a NIK and their SHDK.
    four = values | {"members_count": "4"}
    missing = en(pindah, four)
    assert set(missing) == {f"member{n}_{k}" for n in (2, 3) for k in ("nik", "shdk")}
    members = {
        f"member{n}_nik": make_nik("35", "17", "08", date(2010, 1, n), "L", 40 + n) for n in (2, 3)
    } | {"member2_shdk": "anak", "member3_shdk": "anak"}
    assert en(pindah, four | members) == {}
    # Only members move, the applicant stays: every mover is a row, the KK left behind stays.
    only = values | {"move_type": "anggota", "members_count": "3"} | members
    assert en(pindah, only) == {}
    assert "member3_nik" in pindah.RULES.applicable(only)
    assert (
        "Someone stays"
        in en(pindah, only | {"kk_status_staying": "tidak_ada"})["kk_status_staying"]
    )
    whole = values | {"move_type": "seluruh"}
    assert "Nobody stays" in en(pindah, whole)["kk_status_staying"]
    assert en(pindah, whole | {"kk_status_staying": "tidak_ada"}) == {}
    far = (date.today() + timedelta(days=400)).isoformat()
    assert "within a year" in en(pindah, values | {"move_date": far})["move_date"]
    assert "Moving out" in en(pindah, values | {"dest_region": ""})["dest_region"]


def test_moving_in_needs_its_origin_and_a_different_new_village() -> None:
    values = sv.pindah_in()
    same = values | {"new_region": values["origin_region"]}
    assert "are the same" in en(pindah, same)["new_region"]
    assert "moving_letter_number" in en(pindah, values | {"moving_letter_number": ""})
    assert en(pindah, values | {"dest_region": "99"}) == {}  # moving-out fields do not apply
    assert pindah.prefill(card())["origin_address"].startswith("JL. MAWAR NO. 12 RT/RW 001/002")
    labels = [label for label, _ in pindah.summary(values, "id")]
    assert "Desa/kelurahan asal" in labels and "Desa/kelurahan tujuan" not in labels


def test_region_fields_carry_their_level_and_code_length() -> None:
    for module in (kk_change, pindah):
        for spec in module.FIELDS.values():
            if spec.kind.value == "region":
                assert spec.region_level == 4 and spec.max_length == 10


def test_pages_of_other_variants_can_be_skipped() -> None:
    from kiosk_app.domain.form_variants import applicable_fields, skipped_pages

    def skipped(service: str, values: dict[str, str]) -> set[str]:
        form = SERVICES[service].form
        assert form is not None
        return {form.pages[i].key for i in skipped_pages(service, form, values)}

    assert skipped("perubahan_kk", sv.kk_correction()) == {"anggota_baru", "pisah"}
    assert skipped("perubahan_kk", sv.kk_split()) == {"anggota_baru", "perbaikan"}
    assert skipped("perubahan_kk", {}) == {"anggota_baru", "perbaikan", "pisah"}
    assert skipped("cetak_ulang_ktp", sv.ktp_lost()) == {"rusak"}
    assert skipped("pindah", sv.pindah_in()) == {"tujuan", "rencana", "anggota"}
    assert skipped("pindah", sv.pindah_out()) == {"datang"}
    assert skipped("akta_kematian", sv.akta_kematian()) == set()
    assert skipped("akta_kelahiran", {}) == set()
    fields = applicable_fields("pindah", sv.pindah_out())
    assert fields is not None and "dest_region" in fields and "origin_region" not in fields
    assert applicable_fields("akta_kelahiran", {}) is None


def test_values_of_a_variant_left_behind_are_not_sent() -> None:
    from kiosk_app.domain.form_variants import submitted_values

    changed_mind = sv.kk_new_member() | sv.kk_correction() | {"contact_phone": "081234567890"}
    sent = submitted_values("perubahan_kk", changed_mind)
    assert "member_name" not in sent and sent["person_name"] == "DEWI LESTARI"
    assert sent["contact_phone"] == "081234567890" and sent["change_type"] == "perbaikan_data"
    assert submitted_values("akta_kelahiran", {"x": "1"}) == {"x": "1"}
