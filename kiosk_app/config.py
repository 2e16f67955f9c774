"""Typed kiosk settings read from TOML; with no file, everything runs on simulators."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from drivers.registry import DeviceConfig
from kiosk_app.domain.opening_hours import OpeningHours, parse_opening_hours
from kiosk_app.domain.session import Timeouts
from kiosk_app.domain.ticket import Letterhead
from kiosk_app.services.attendant.auth import AttendantSettings

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Settings = TypeVar("Settings", bound="DataclassInstance")


@dataclass(frozen=True)
class SealingSettings:
    """[sealing]: `rotate_after_days`, the age at which the seal key is replaced by a new one
    at the next quiet moment (no citizen being served); 0: never by age. Here, not beside the
    key code (kiosk_app.services.seal_key): the config is read before the first frame, which
    must not wait for cryptography to load (tests/ui/test_cold_start.py)."""

    rotate_after_days: int = 365

    def __post_init__(self) -> None:
        if not isinstance(self.rotate_after_days, int) or self.rotate_after_days < 0:
            raise ValueError("rotate_after_days must be a whole number of days, 0 or more")


ASSETS = Path(__file__).resolve().parents[1] / "assets"
# The development kiosk's kop surat. A real kiosk's [office] table replaces all of it, logo
# included; a kiosk on a real central server without one prints the server's office name alone.
# So no placeholder address, telephone or emblem reaches a real receipt.
DEVELOPMENT_OFFICE = Letterhead(
    government="PEMERINTAH KABUPATEN JOMBANG",
    office="DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
    address="Jl. Contoh No. 1, Jombang (alamat pengembangan)",
    telephone="(0321) 000000",
    logo=str(ASSETS / "images" / "office-logo.png"),  # a placeholder emblem
)


@dataclass
class KioskConfig:
    """Everything the composition root needs to build a kiosk."""

    kiosk_id: str = "KIOSK-DEV-001"
    kiosk_name: str = "Anjungan pengembangan"
    office_code: str = "3517"
    central_url: str | None = None  # None: start an embedded central server
    central_token: str | None = None  # set at provisioning; None: register on start
    # PEM file of the CA (or the self-signed certificate) of the central server; None: the
    # system's CA store (a server with a certificate from a public CA)
    central_ca_file: Path | None = None
    data_dir: Path = field(default_factory=lambda: Path("var"))
    outbox_key_file: Path | None = None  # set at provisioning; None: /etc/anjungan/outbox.key
    # None (provisioning leaves it unset): signing.key in data_dir, where provisioning writes it
    # (an old kiosk's /etc/anjungan/signing.key until provisioning moves it; sealing.py)
    signing_key_file: Path | None = None
    # The central server's public address printed in the seal's QR (a phone opens
    # <verify_url>/r/<seal>); None: central_url, or the bare seal on an embedded server.
    verify_url: str | None = None
    output_dir: Path | None = None  # where simulated printers drop their output
    language: str = "id"
    audio_guidance: str = "auto"  # auto | speaker | wav | off (ANJUNGAN_AUDIO overrides)
    fullscreen: bool = True
    headless: bool = False
    timeouts: Timeouts = field(default_factory=Timeouts)
    devices: DeviceConfig = field(default_factory=DeviceConfig)
    opening_hours: OpeningHours = field(default_factory=OpeningHours.always)
    attendant: AttendantSettings = field(default_factory=AttendantSettings)  # [attendant]
    sealing: SealingSettings = field(default_factory=SealingSettings)  # [sealing]
    office: Letterhead = DEVELOPMENT_OFFICE  # [office]: the A4 receipt's kop surat


class ConfigError(ValueError):
    """The configuration file is unreadable or has an unknown or ill-typed key."""


def load_config(path: Path | None = None, **overrides: Any) -> KioskConfig:
    """Read `path` (TOML) over the defaults; keyword overrides win over both."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
    kiosk = dict(raw.get("kiosk", {}))
    timeouts = _build(Timeouts, raw.get("timeouts", {}), "timeouts")
    devices = _build(DeviceConfig, raw.get("devices", {}), "devices")
    config = _build(KioskConfig, kiosk, "kiosk")
    config.timeouts = timeouts
    config.devices = devices
    if timeouts.reading_s <= devices.pcsc_read_timeout_s:  # the driver's typed error comes first
        raise ConfigError(
            f"[timeouts] reading_s ({timeouts.reading_s} s) must exceed [devices] "
            f"pcsc_read_timeout_s ({devices.pcsc_read_timeout_s} s)"
        )
    try:
        config.opening_hours = parse_opening_hours(raw.get("opening_hours"))
    except ValueError as exc:
        raise ConfigError(f"bad value in [opening_hours]: {exc}") from exc
    config.attendant = _build(AttendantSettings, raw.get("attendant", {}), "attendant")
    config.sealing = _build(SealingSettings, raw.get("sealing", {}), "sealing")
    if "office" in raw:
        config.office = _office(_build(Letterhead, raw["office"], "office"))
    elif config.central_url is not None:
        config.office = Letterhead()
    for key, value in overrides.items():
        if not hasattr(config, key):
            raise ConfigError(f"unknown setting {key}")
        setattr(config, key, value)
    for name in (
        "data_dir",
        "output_dir",
        "outbox_key_file",
        "central_ca_file",
        "signing_key_file",
    ):
        value = getattr(config, name)
        if isinstance(value, str):
            setattr(config, name, Path(value))
    if config.central_ca_file is not None and not config.central_ca_file.is_file():
        raise ConfigError(f"central_ca_file {config.central_ca_file} is not a readable file")
    if config.devices.output_dir is None:
        config.devices.output_dir = config.output_dir
    if config.language not in ("id", "en"):
        raise ConfigError(f"language must be 'id' or 'en', not {config.language!r}")
    if config.audio_guidance not in ("auto", "speaker", "wav", "off"):
        raise ConfigError(
            f"audio_guidance must be auto, speaker, wav or off, not {config.audio_guidance!r}"
        )
    return config


def _office(office: Letterhead) -> Letterhead:
    """The office's letterhead with its logo path resolved against assets/ when relative."""
    if not office.logo or Path(office.logo).is_absolute():
        return office
    return replace(office, logo=str(ASSETS / office.logo))


def _build(cls: type[Settings], values: dict[str, Any], section: str) -> Settings:
    """One settings dataclass from its TOML table; ConfigError names the table."""
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown key(s) in [{section}]: {', '.join(sorted(unknown))}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad value in [{section}]: {exc}") from exc
