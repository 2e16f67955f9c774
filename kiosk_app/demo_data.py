"""A valid fictional birth report used by the headless demo and the tests."""

from __future__ import annotations

from datetime import date, timedelta

from kiosk_app.domain.nik import make_nik


def sample_birth_values(today: date | None = None) -> dict[str, str]:
    """Values for every akta kelahiran field: a baby born last week in Jombang."""
    today = today or date.today()
    born = today - timedelta(days=7)
    return {
        "kk_head_name": "BUDI SANTOSO",
        "kk_number": "3517080101100007",
        "child_name": "RAFA ADITYA SANTOSO",
        "child_sex": "L",
        "birth_place_type": "rs_rb",
        "birth_place_town": "JOMBANG",
        "child_birth_date": born.isoformat(),
        "child_birth_time": "14:30",
        "birth_type": "tunggal",
        "birth_order": "2",
        "birth_attendant": "dokter",
        "child_weight_kg": "3,2",
        "child_length_cm": "49",
        "mother_nik": make_nik("35", "17", "08", date(1990, 4, 9), "P", 12),
        "mother_name": "DEWI LESTARI",
        "mother_birth_date": "1990-04-09",
        "mother_occupation": "MENGURUS RUMAH TANGGA",
        "mother_address": "JL. MAWAR NO. 12, SENGON, JOMBANG",
        "mother_citizenship": "wni",
        "father_nik": make_nik("35", "17", "08", date(1985, 8, 12), "L", 1),
        "father_name": "BUDI SANTOSO",
        "father_birth_date": "1985-08-12",
        "father_occupation": "WIRASWASTA",
        "father_address": "JL. MAWAR NO. 12, SENGON, JOMBANG",
        "father_citizenship": "wni",
        "marriage_date": "2012-06-17",
        "witness1_nik": make_nik("35", "17", "08", date(1980, 2, 3), "L", 31),
        "witness1_name": "AHMAD FAUZI",
        "witness2_nik": make_nik("35", "17", "08", date(1982, 7, 21), "P", 44),
        "witness2_name": "SRI WAHYUNI",
        # the common contact page (kiosk_app.domain.contact)
        "contact_phone": "081234567890",
        "contact_channel": "whatsapp",
        "contact_email": "dewi@contoh.id",
        "delivery": "office",
        "delivery_address": "JL. MAWAR NO. 12, SENGON, JOMBANG",
    }
