"""The kiosk's TOML settings: the [office] table that heads the A4 receipt."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk_app.config import ASSETS, DEVELOPMENT_OFFICE, ConfigError, load_config
from kiosk_app.domain.ticket import Letterhead


def write(tmp_path: Path, text: str) -> Path:
    """A config file holding `text`."""
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_an_office_table_the_development_kop_is_used() -> None:
    office = load_config().office
    assert office == DEVELOPMENT_OFFICE and Path(office.logo).is_file()


def test_a_real_kiosk_without_an_office_table_prints_no_placeholder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[kiosk]\ncentral_url = "https://central.example/"\n'))
    assert config.office == Letterhead()  # the receipt is headed by the server's office name


def test_the_office_table_replaces_the_whole_kop(tmp_path: Path) -> None:
    office = load_config(
        write(
            tmp_path,
            """
[office]
government = "PEMERINTAH KOTA MALANG"
office = "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL"
telephone = "(0341) 000111"
""",
        )
    ).office
    assert office.government == "PEMERINTAH KOTA MALANG"
    assert office.address == "" and office.logo == ""  # never the development placeholders


def test_a_relative_logo_is_under_assets_and_an_absolute_one_is_kept(tmp_path: Path) -> None:
    relative = load_config(write(tmp_path, '[office]\nlogo = "images/malang.png"\n')).office
    assert relative.logo == str(ASSETS / "images" / "malang.png")
    absolute = load_config(write(tmp_path, '[office]\nlogo = "/etc/anjungan/logo.png"\n')).office
    assert absolute.logo == "/etc/anjungan/logo.png"


def test_an_unknown_office_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[office\].*fax"):
        load_config(write(tmp_path, '[office]\nfax = "0321"\n'))


def test_the_reading_deadline_is_configurable_and_outlasts_the_driver_read(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text("[timeouts]\nreading_s = 6.5\n[devices]\npcsc_read_timeout_s = 5.0\n")
    assert load_config(path).timeouts.reading_s == 6.5
    path.write_text("[timeouts]\nreading_s = 3.0\n")  # shorter than the driver's 4 s read
    with pytest.raises(ConfigError, match="reading_s"):
        load_config(path)


def test_a_missing_central_ca_file_is_named_at_start(tmp_path: Path) -> None:
    missing = tmp_path / "central-ca.pem"
    with pytest.raises(ConfigError, match="central_ca_file .*central-ca.pem"):
        load_config(write(tmp_path, f'[kiosk]\ncentral_ca_file = "{missing}"\n'))
    missing.write_text("-----BEGIN CERTIFICATE-----\n")
    assert load_config(tmp_path / "kiosk.toml").central_ca_file == missing
