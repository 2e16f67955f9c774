"""The service catalogue and the built-in region table."""

from __future__ import annotations

import pytest

from kiosk_app.domain import regions
from kiosk_app.domain.akta_kelahiran import AKTA_KELAHIRAN
from kiosk_app.domain.catalogue import NOT_BUILT_YET, SERVICES


def test_catalogue_lists_every_service_and_every_one_has_a_form() -> None:
    assert set(SERVICES) == {
        "akta_kelahiran",
        "akta_kematian",
        "perubahan_kk",
        "cetak_ulang_ktp",
        "kia",
        "pindah",
    }
    assert all(s.available for s in SERVICES.values())
    akta = SERVICES["akta_kelahiran"]
    assert akta.form is not None and akta.registration_prefix == "AKTA"
    assert akta.form.pages[:-1] == AKTA_KELAHIRAN.pages  # then the common contact page
    assert akta.title == AKTA_KELAHIRAN.title
    assert NOT_BUILT_YET.id and NOT_BUILT_YET.en


def test_every_service_is_described_in_both_languages() -> None:
    prefixes = [s.registration_prefix for s in SERVICES.values()]
    assert len(set(prefixes)) == len(prefixes)
    for key, service in SERVICES.items():
        assert service.key == key
        assert service.registration_prefix.isupper() and service.registration_prefix.isalpha()
        assert service.required_documents
        for text in (service.title, service.purpose, *service.required_documents):
            assert text.id.strip() and text.en.strip() and text.id != text.en


def test_akta_kelahiran_documents_mention_what_the_counter_asks_for() -> None:
    docs = " ".join(d.id.lower() for d in SERVICES["akta_kelahiran"].required_documents)
    for needle in ("surat keterangan lahir", "kartu keluarga", "buku nikah", "e-ktp", "saksi"):
        assert needle in docs


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("11", "Aceh"),
        ("35", "Jawa Timur"),
        ("91", "Papua"),
        ("92", "Papua Barat"),
        ("93", "Papua Selatan"),
        ("94", "Papua Tengah"),
        ("95", "Papua Pegunungan"),
        ("96", "Papua Barat Daya"),
        (" 31 ", "DKI Jakarta"),
    ],
)
def test_province_names(code: str, name: str) -> None:
    assert regions.province_name(code) == name and regions.is_known_province(code)


@pytest.mark.parametrize("code", ["00", "20", "97", "3", "351", "3.5", "", "ab"])
def test_unknown_province_codes(code: str) -> None:
    assert regions.province_name(code) is None and not regions.is_known_province(code)


def test_sample_regions_hang_together() -> None:
    assert len(regions.PROVINCES) == 38
    assert regions.regency_name("35.17") == "Kabupaten Jombang"
    assert regions.district_name("35.17.18") == "Bandar Kedung Mulyo"
    for code in regions.REGENCIES:
        assert len(code) == 4 and regions.is_known_province(code[:2])
    for code in regions.DISTRICTS:
        assert len(code) == 6 and code[:4] in regions.REGENCIES and code[4:] != "00"
