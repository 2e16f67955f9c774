"""Valid values for every service form and each of its variants (dates relative to today)."""

from __future__ import annotations

from datetime import date, timedelta

from kiosk_app.domain.nik import make_nik

TODAY = date.today()
CONTACT = {
    "contact_phone": "081234567890",
    "contact_channel": "whatsapp",
    "contact_email": "siti@example.test",
    "delivery": "office",
    "delivery_address": "JL. MAWAR NO. 12, SENGON, JOMBANG",
}
KK_NUMBER = "3517080101100007"
HOLDER_NIK = make_nik("35", "17", "08", date(1985, 8, 12), "L", 1)
W1 = make_nik("35", "17", "08", date(1980, 2, 3), "L", 31)
W2 = make_nik("35", "17", "08", date(1982, 7, 21), "P", 44)


def years_ago(years: int, days: int = 0) -> date:
    """A date `years` whole years (and `days` more days) before today."""
    try:
        day = TODAY.replace(year=TODAY.year - years)
    except ValueError:  # 29 February
        day = TODAY.replace(year=TODAY.year - years, day=28)
    return day - timedelta(days=days)


def akta_kematian() -> dict[str, str]:
    """Ahmad, born 1950, died three days ago at the hospital; reported by his son."""
    return {
        "deceased_nik": make_nik("35", "17", "08", date(1950, 3, 4), "L", 7),
        "deceased_name": "AHMAD SUBAGYO",
        "deceased_sex": "L",
        "deceased_birth_date": "1950-03-04",
        "kk_number": KK_NUMBER,
        "deceased_birth_place": "JOMBANG",
        "deceased_occupation": "PENSIUNAN",
        "deceased_address": "JL. MAWAR NO. 12, SENGON, JOMBANG",
        "death_date": (TODAY - timedelta(days=3)).isoformat(),
        "death_time": "04:15",
        "death_place_type": "rumah_sakit",
        "death_place": "RSUD JOMBANG",
        "death_cause": "sakit",
        "death_certifier": "dokter",
        "reporter_nik": HOLDER_NIK,
        "reporter_name": "BUDI SANTOSO",
        "reporter_citizenship": "wni",
        "reporter_kk": KK_NUMBER,
        "reporter_relation": "anak",
        "witness1_nik": W1,
        "witness1_name": "AHMAD FAUZI",
        "witness1_citizenship": "wni",
        "witness1_kk": "3517080202100011",
        "witness2_nik": W2,
        "witness2_name": "SRI WAHYUNI",
        "witness2_citizenship": "wni",
        "witness2_kk": "3517080303100012",
    }


def kk_common(kind: str) -> dict[str, str]:
    """The first page of a family card change."""
    return {"change_type": kind, "kk_number": KK_NUMBER, "kk_head_name": "BUDI SANTOSO"}


def kk_new_member() -> dict[str, str]:
    """A baby born last week joins the family card."""
    return kk_common("anggota_baru") | {
        "member_reason": "lahir",
        "member_name": "RAFA ADITYA SANTOSO",
        "member_sex": "L",
        "member_birth_date": (TODAY - timedelta(days=7)).isoformat(),
        "member_relation": "anak",
    }


def kk_correction() -> dict[str, str]:
    """The wife's occupation is corrected."""
    return kk_common("perbaikan_data") | {
        "person_nik": make_nik("35", "17", "08", date(1990, 4, 9), "P", 12),
        "person_name": "DEWI LESTARI",
        "data_element": "pekerjaan",
        "old_value": "PELAJAR",
        "new_value": "GURU",
    }


def kk_split() -> dict[str, str]:
    """A married son splits off with his wife."""
    return kk_common("pisah_kk") | {
        "new_head_nik": make_nik("35", "17", "08", date(1998, 1, 5), "L", 21),
        "new_head_name": "ARIF SANTOSO",
        "split_reason": "menikah",
        "split_members": "2",
        "new_region": "3517092011",
        "new_address": "JL. KENANGA NO. 3 RT 01 RW 02",
    }


def ktp_lost() -> dict[str, str]:
    """The card holder lost the e-KTP and has a police report from last week."""
    return {
        "ktp_nik": HOLDER_NIK,
        "ktp_name": "BUDI SANTOSO",
        "kk_number": KK_NUMBER,
        "reprint_reason": "hilang",
        "police_report_number": "STPL/123/XI/2026/SEK",
        "police_report_date": (TODAY - timedelta(days=7)).isoformat(),
    }


def ktp_damaged() -> dict[str, str]:
    """The card holder brings the broken e-KTP."""
    return {
        "ktp_nik": HOLDER_NIK,
        "ktp_name": "BUDI SANTOSO",
        "kk_number": KK_NUMBER,
        "reprint_reason": "rusak",
        "bring_old_card": "ya",
    }


def kia(age: int = 6) -> dict[str, str]:
    """A child of `age` (photo needed from 5) and the father applying."""
    born = years_ago(age, 10)
    values = {
        "child_nik": make_nik("35", "17", "08", born, "P", 3),
        "child_name": "AYU LESTARI",
        "child_sex": "P",
        "child_birth_date": born.isoformat(),
        "child_birth_place": "JOMBANG",
        "birth_certificate_number": "3517-LU-01022020-0001",
        "kk_number": KK_NUMBER,
        "parent_nik": HOLDER_NIK,
        "parent_name": "BUDI SANTOSO",
        "parent_role": "ayah",
    }
    if age >= 5:
        values["child_photo"] = "ya"
    return values


def pindah_out() -> dict[str, str]:
    """The card holder and his wife move to Bandung."""
    return {
        "direction": "keluar",
        "kk_number": KK_NUMBER,
        "kk_head_name": "BUDI SANTOSO",
        "dest_region": "3273021004",
        "dest_address": "JL. DAGO NO. 5 RT 02 RW 03",
        "move_class": "antar_provinsi",
        "move_reason": "pekerjaan",
        "move_date": (TODAY + timedelta(days=14)).isoformat(),
        "move_type": "sebagian",
        "kk_status_moving": "kk_baru",
        "kk_status_staying": "kk_tetap",
        "members_count": "2",
        "member1_nik": W2,
        "member1_shdk": "istri",
    }


def pindah_in() -> dict[str, str]:
    """The card holder moves in from Jakarta Selatan."""
    return {
        "direction": "datang",
        "kk_number": KK_NUMBER,
        "kk_head_name": "BUDI SANTOSO",
        "origin_region": "3174071006",
        "origin_address": "JL. SENAYAN NO. 1, JAKARTA",
        "moving_letter_number": "SKPWNI/3174/2026/0012",
        "new_region": "3517092009",
        "new_address": "JL. MAWAR NO. 12 RT 01 RW 01",
    }


# (service key, case name, values without the contact page)
CASES: list[tuple[str, str, dict[str, str]]] = [
    ("akta_kematian", "death", akta_kematian()),
    ("perubahan_kk", "new_member", kk_new_member()),
    ("perubahan_kk", "correction", kk_correction()),
    ("perubahan_kk", "split", kk_split()),
    ("cetak_ulang_ktp", "lost", ktp_lost()),
    ("cetak_ulang_ktp", "damaged", ktp_damaged()),
    ("kia", "child_6", kia(6)),
    ("kia", "child_3", kia(3)),
    ("pindah", "out", pindah_out()),
    ("pindah", "in", pindah_in()),
]


def with_contact(service: str, values: dict[str, str]) -> dict[str, str]:
    """Add the contact page's values (no delivery choice for the e-KTP reprint)."""
    contact = dict(CONTACT)
    if service == "cetak_ulang_ktp":
        contact.pop("delivery")
        contact.pop("delivery_address")
    return values | contact
