"""Typed central-server settings read from TOML; with no file, a development server on SQLite.

Standard library only: the worker, the app servers and provisioning read the same file. Every
error names the table and key at fault, e.g. "[limits] max_body_bytes must be an integer".
"""

from __future__ import annotations

import ipaddress
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from central_server.settings import DEFAULT_DATABASE_URL, DEFAULT_OFFICES

NOTIFY_CHANNELS = ("sms", "whatsapp", "email")
MAX_DAILY_QUOTA = 10_000  # the officers' quota page allows no more either
DEVELOPMENT_MESSAGES_DIR = "var/messages"

T = TypeVar("T")


class ConfigError(ValueError):
    """The configuration file is unreadable, or a key is unknown, missing or of the wrong type."""


@dataclass(frozen=True)
class ServerSettings:
    """[server]: where the app server listens, its database and how it is reached."""

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = DEFAULT_DATABASE_URL
    # what citizens and kiosks see (behind nginx), e.g. in verification QR codes; empty: the
    # address each request came to (a development server on any port)
    public_url: str = ""
    # Addresses whose X-Forwarded-For/-Proto are believed (nginx on the same host: 127.0.0.1).
    trusted_proxies: tuple[str, ...] = ()
    # True: this process also runs the background loops (notification delivery). Production
    # sets false and runs them once per deployment in anjungan-central-worker.service.
    background_loops: bool = True
    # True: kiosks enrol (and re-enrol, taking over an enrolled kiosk's id) without a one-time
    # code. Only for development: unset, a server run from a config file wants codes, the
    # development defaults (no config file) follow ANJUNGAN_OPEN_ENROLMENT or the admin token.
    open_enrolment: bool | None = None


@dataclass(frozen=True)
class CookieSettings:
    """[cookies]: staff session cookies; `secure` unset means secure when public_url is https."""

    secure: bool | None = None


@dataclass(frozen=True)
class LimitSettings:
    """[limits]: request body sizes (bytes) and rate limits; the defaults are today's values."""

    max_body_bytes: int = 64 << 10  # any route without a limit of its own (forms, heartbeats)
    max_application_bytes: int = 1 << 20  # one pre-application (JSON)
    max_batch_bytes: int = 8 << 20  # a batch of queued pre-applications
    max_scan_bytes: int = 5 << 20  # one scanned document (PDF)
    max_command_result_bytes: int = (8 << 20) + (64 << 10)  # a kiosk's logs or screenshot
    status_lookups_per_minute: float = 30.0  # per kiosk and per client address
    status_lookup_burst: int = 10
    logins_per_minute_per_ip: float = 10.0
    login_burst_per_ip: int = 30
    lockout_after_failures: int = 10  # failed logins of one account within lockout_minutes
    lockout_minutes: int = 15
    enrolments_per_minute_per_ip: float = 10.0
    enrolment_burst_per_ip: int = 20
    print_lookups_per_minute: float = 20.0  # card-holder lists and print reservations, per NIK
    print_lookup_burst: int = 10
    # ...and per kiosk in distinct citizens (so one kiosk, or its stolen token, cannot walk
    # through NIKs): this many NIKs within kiosk_lookup_window_minutes; a NIK asked again
    # within the window (own applications, a print, the list again) costs nothing more
    kiosk_lookups_per_window: int = 30
    kiosk_lookup_window_minutes: float = 10.0
    receipt_copies_per_day: int = 3  # a pre-application's receipt printed again, a WIB day
    key_challenges_per_minute: float = 2.0  # seal key challenges, per kiosk and client address
    key_challenge_burst: int = 5
    key_submissions_per_minute: float = 2.0  # seal key PUTs, per kiosk and client address
    key_submission_burst: int = 5


@dataclass(frozen=True)
class LeaseSettings:
    """[leases]: how long kiosks hold slot leases and how they are sized (central_server.leases)."""

    hours: float = 24.0  # a kiosk books from a lease until this long after its last renewal
    margin_hours: float = 6.0  # after that, before unused places go back to the pool
    history_days: int = 14  # the recent use a lease is sized from
    headroom: float = 2.0  # times that recent use per slot (an outage's rush)


@dataclass(frozen=True)
class OfficeSettings:
    """[[offices]]: an office the database must hold and the daily quotas it starts with."""

    code: str
    name: str
    # service -> daily quota, written only where the office has no quota of its own yet, so
    # quotas an admin changes on /officer/quotas survive a restart
    quotas: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FileChannelSettings:
    """[notify.file]: each message written as a file under `directory` (development)."""

    directory: Path = Path(DEVELOPMENT_MESSAGES_DIR)
    channels: tuple[str, ...] = NOTIFY_CHANNELS


@dataclass(frozen=True)
class GatewaySettings:
    """[notify.sms] / [notify.whatsapp]: an HTTP gateway taking JSON {"to", "message"}."""

    url: str
    token_file: Path | None = None  # the bearer token (e.g. a systemd credential)
    timeout_s: float = 10.0


@dataclass(frozen=True)
class SmtpSettings:
    """[notify.email]: an SMTP server."""

    host: str
    port: int = 25
    sender: str = "noreply@disdukcapil.go.id"
    starttls: bool = False
    username: str = ""
    password_file: Path | None = None
    timeout_s: float = 10.0


@dataclass(frozen=True)
class NotifySettings:
    """[notify]: which channel delivers sms, whatsapp and email messages, and who is told when a
    staff account is locked (`admins`: "email:it@kab.go.id", "sms:+62...", or a bare e-mail)."""

    file: FileChannelSettings | None = None
    sms: GatewaySettings | None = None
    whatsapp: GatewaySettings | None = None
    email: SmtpSettings | None = None
    admins: tuple[str, ...] = ()

    def routes(self) -> dict[str, str]:
        """Channel name -> what delivers it ("file", "gateway" or "smtp")."""
        found = {name: "file" for name in (self.file.channels if self.file else ())}
        for name, kind in (("sms", "gateway"), ("whatsapp", "gateway"), ("email", "smtp")):
            if getattr(self, name) is not None:
                found[name] = kind
        return found


DEVELOPMENT_NOTIFY = NotifySettings(file=FileChannelSettings())


@dataclass(frozen=True)
class CentralConfig:
    """Everything `anjungan central` and the worker need."""

    server: ServerSettings = ServerSettings()
    cookies: CookieSettings = CookieSettings()
    limits: LimitSettings = LimitSettings()
    leases: LeaseSettings = LeaseSettings()
    offices: tuple[OfficeSettings, ...] = tuple(
        OfficeSettings(code, name) for code, name in DEFAULT_OFFICES
    )
    notify: NotifySettings = DEVELOPMENT_NOTIFY
    source: Path | None = None  # the file read, None for the development defaults

    @property
    def secure_cookies(self) -> bool:
        """Whether staff cookies carry Secure (explicit, else when served over https)."""
        if self.cookies.secure is not None:
            return self.cookies.secure
        return self.server.public_url.lower().startswith("https://")

    @property
    def open_enrolment(self) -> bool | None:
        """Enrolment without a code: as [server] says, else off for a config file (None: the
        development defaults, create_app decides)."""
        if self.server.open_enrolment is not None:
            return self.server.open_enrolment
        return None if self.source is None else False


def load_central_config(path: Path | None = None) -> CentralConfig:
    """Read `path` (TOML) over the development defaults; ConfigError names the faulty key."""
    if path is None:
        return CentralConfig()
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read central config {path}: {exc}") from exc
    return parse_central_config(raw, source=Path(path))


def parse_central_config(raw: dict[str, Any], *, source: Path | None = None) -> CentralConfig:
    """Build and validate the config from parsed TOML."""
    known = {"server", "cookies", "limits", "leases", "offices", "notify"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown table(s): {', '.join(sorted(unknown))}")
    server = build(ServerSettings, _table(raw, "server"), "server")
    _check_server(server)
    cookies = build(CookieSettings, _table(raw, "cookies"), "cookies")
    limits = build(LimitSettings, _table(raw, "limits"), "limits")
    for item in fields(LimitSettings):
        if getattr(limits, item.name) <= 0:
            raise ConfigError(f"[limits] {item.name} must be above 0")
    leases = build(LeaseSettings, _table(raw, "leases"), "leases")
    for item in fields(LeaseSettings):
        if getattr(leases, item.name) <= 0:
            raise ConfigError(f"[leases] {item.name} must be above 0")
    offices = _offices(raw.get("offices"))
    notify = _notify(raw["notify"]) if "notify" in raw else DEVELOPMENT_NOTIFY
    return CentralConfig(server, cookies, limits, leases, offices, notify, source)


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _check_server(server: ServerSettings) -> None:
    if not 0 < server.port < 65536:
        raise ConfigError(f"[server] port must be 1-65535, not {server.port}")
    if server.public_url and not server.public_url.lower().startswith(("http://", "https://")):
        raise ConfigError("[server] public_url must start with http:// or https://")
    if not server.database_url.startswith(("sqlite:", "postgresql")):
        raise ConfigError("[server] database_url must be a sqlite: or postgresql URL")
    for proxy in server.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError as exc:
            raise ConfigError(
                f"[server] trusted_proxies: {proxy!r} is not an address or network"
            ) from exc


def _offices(raw: Any) -> tuple[OfficeSettings, ...]:
    if raw is None:
        return CentralConfig().offices
    if not isinstance(raw, list) or not raw:
        raise ConfigError("[[offices]] must be a list of at least one table")
    offices: list[OfficeSettings] = []
    for n, item in enumerate(raw, start=1):
        where = f"offices #{n}"
        if not isinstance(item, dict):
            raise ConfigError(f"[{where}] must be a table")
        office = build(OfficeSettings, item, where)
        if not (office.code.isdigit() and len(office.code) == 4):
            raise ConfigError(f"[{where}] code must be 4 digits (a kabupaten/kota code)")
        if any(o.code == office.code for o in offices):
            raise ConfigError(f"[{where}] code {office.code} appears twice")
        for service, quota in office.quotas.items():
            if not 0 <= quota <= MAX_DAILY_QUOTA:
                raise ConfigError(f"[{where}] quotas.{service} must be 0-{MAX_DAILY_QUOTA}")
        offices.append(office)
    return tuple(offices)


def _notify(raw: Any) -> NotifySettings:
    if not isinstance(raw, dict):
        raise ConfigError("[notify] must be a table")
    unknown = set(raw) - {f.name for f in fields(NotifySettings)}
    if unknown:
        raise ConfigError(f"unknown key(s) in [notify]: {', '.join(sorted(unknown))}")
    parts: dict[str, Any] = {"admins": _admins(raw.get("admins", []))}
    kinds: dict[str, type[Any]] = {
        "file": FileChannelSettings, "sms": GatewaySettings, "whatsapp": GatewaySettings,
        "email": SmtpSettings,
    }  # fmt: skip
    for name, value in raw.items():
        if name == "admins":
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"[notify.{name}] must be a table")
        parts[name] = build(kinds[name], value, f"notify.{name}")
    notify = NotifySettings(**parts)
    if notify.file is not None:
        for channel in notify.file.channels:
            if channel not in NOTIFY_CHANNELS:
                choices = ", ".join(NOTIFY_CHANNELS)
                raise ConfigError(f"[notify.file] channels: {channel!r} is not one of {choices}")
            if getattr(notify, channel) is not None:
                raise ConfigError(
                    f"[notify.file] channels: {channel} is also delivered by [notify.{channel}]"
                )
    for name in ("sms", "whatsapp"):
        gateway: GatewaySettings | None = getattr(notify, name)
        if gateway is not None and not gateway.url.startswith(("http://", "https://")):
            raise ConfigError(f"[notify.{name}] url must start with http:// or https://")
    return notify


def _admins(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(a, str) and a.strip() for a in raw):
        raise ConfigError('[notify] admins must be a list of addresses like "email:it@kab.go.id"')
    for address in raw:
        channel = address.partition(":")[0] if ":" in address else "email"
        if channel not in NOTIFY_CHANNELS:
            choices = ", ".join(NOTIFY_CHANNELS)
            raise ConfigError(f"[notify] admins: {address!r} names no channel of {choices}")
    return tuple(a.strip() for a in raw)


def build(cls: type[T], values: dict[str, Any], section: str) -> T:
    """One settings dataclass from its TOML table, each value checked against its field's type."""
    hints = typing.get_type_hints(cls)
    # T is bound to the settings dataclasses, but mypy cannot see a TypeVar as a dataclass.
    declared = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(values) - set(declared)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{section}]: {', '.join(sorted(unknown))}")
    missing = [
        name for name, f in declared.items()
        if name not in values and f.default is MISSING and f.default_factory is MISSING
    ]  # fmt: skip
    if missing:
        raise ConfigError(f"[{section}] needs {', '.join(missing)}")
    converted = {
        name: _convert(hints[name], value, f"[{section}] {name}") for name, value in values.items()
    }
    return cls(**converted)


def _convert(hint: Any, value: Any, where: str) -> Any:
    """`value` as the type `hint` says, or ConfigError naming `where`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, where)  # TOML has no null: a present key is a value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, not {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, not {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, not {value!r}")
        return value
    if hint is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} must be a path (a string), not {value!r}")
        return Path(value)
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, not {value!r}")
        return tuple(_convert(args[0], item, f"{where}[{n}]") for n, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table, not {value!r}")
        return {k: _convert(args[1], v, f"{where}.{k}") for k, v in value.items()}
    raise TypeError(f"no conversion for {hint!r}")  # a programming error in the dataclasses
