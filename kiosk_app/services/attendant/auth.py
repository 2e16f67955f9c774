"""Attendant credentials: scrypt PIN hashes and card UIDs from the kiosk config, with a lockout."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # ~16 MiB and tens of ms per try on a kiosk CPU
PIN_MIN, PIN_MAX = 4, 12
_ID = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
_HEX = re.compile(r"^[0-9A-F]{4,64}$")


class CredentialError(ValueError):
    """An attendant entry in the config is malformed (a provisioning mistake)."""


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """The config form of a PIN: scrypt$n=..,r=..,p=..$salt$key (base64, never the PIN)."""
    if not valid_pin_format(pin):
        raise ValueError(f"a PIN is {PIN_MIN}-{PIN_MAX} digits")
    salt = salt if salt is not None else secrets.token_bytes(16)
    key = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt$n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}${b64(salt).decode()}${b64(key).decode()}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when `pin` matches the stored hash (constant-time compare); False on any defect."""
    try:
        scheme, params, salt_b64, key_b64 = stored.split("$")
        cost = dict(part.split("=", 1) for part in params.split(","))
        n, r, p = int(cost["n"]), int(cost["r"]), int(cost["p"])
        salt, key = (
            base64.b64decode(salt_b64, validate=True),
            base64.b64decode(key_b64, validate=True),
        )
    except (ValueError, KeyError):
        return False
    if (
        scheme != "scrypt"
        or not valid_pin_format(pin)
        or n > 2**20
        or r > 32
        or p > 16
        or len(key) != 32
        or len(salt) < 16
    ):  # a cut-down key would match too easily
        return False
    try:
        got = hashlib.scrypt(
            pin.encode(), salt=salt, n=n, r=r, p=p, dklen=len(key), maxmem=256 * n * r + 2**20
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, key)


def valid_pin_format(pin: str) -> bool:
    """A PIN is 4 to 12 ASCII digits."""
    return (
        isinstance(pin, str) and PIN_MIN <= len(pin) <= PIN_MAX and pin.isascii() and pin.isdigit()
    )


def normalise_uid(uid: str) -> str:
    """A card UID as upper-case hex without separators ("04:a1:b2" -> "04A1B2")."""
    return re.sub(r"[\s:.-]", "", str(uid)).upper()


@dataclass(frozen=True)
class Attendant:
    """One attendant allowed on this kiosk: an id (printed on the audit log), a PIN hash, cards."""

    id: str
    pin_hash: str = ""
    cards: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise CredentialError(f"attendant id {self.id!r}: 1-32 letters, digits, . _ -")
        if self.pin_hash and not self.pin_hash.startswith("scrypt$"):
            raise CredentialError(
                f"attendant {self.id}: pin_hash must be a scrypt$... line "
                "made by `anjungan attendant-pin`, never a plain PIN"
            )
        cards = tuple(normalise_uid(c) for c in self.cards)
        if any(not _HEX.match(c) for c in cards):
            raise CredentialError(f"attendant {self.id}: card UIDs are hex serials")
        object.__setattr__(self, "cards", cards)


@dataclass
class AttendantSettings:
    """The [attendant] config section: who may unlock attendant mode, and its timers."""

    staff: list[Any] = field(default_factory=list)  # [[attendant.staff]] tables
    idle_lock_s: float = 120.0  # attendant mode locks itself after this long without a touch
    max_tries: int = 5
    lockout_s: float = 60.0

    def __post_init__(self) -> None:
        self.staff = [s if isinstance(s, Attendant) else Attendant(**_entry(s)) for s in self.staff]
        ids = [s.id for s in self.staff]
        if len(set(ids)) != len(ids):
            raise CredentialError("attendant ids must be unique")
        if self.idle_lock_s <= 0 or self.max_tries < 1 or self.lockout_s <= 0:
            raise CredentialError("idle_lock_s, max_tries and lockout_s must be positive")


def _entry(raw: Any) -> dict[str, Any]:
    """One [[attendant.staff]] table, with `cards` as a tuple."""
    if not isinstance(raw, dict):
        raise CredentialError("each [[attendant.staff]] entry is a table")
    unknown = set(raw) - {"id", "pin_hash", "cards"}
    if unknown:
        names = ", ".join(sorted(unknown))
        raise CredentialError(f"unknown key(s) in [[attendant.staff]]: {names}")
    return {**raw, "cards": tuple(raw.get("cards", ()))}


@dataclass(frozen=True)
class PinResult:
    """What a PIN try gave: the attendant, or why not (wrong, locked, none configured)."""

    attendant: Attendant | None
    outcome: str  # ok | wrong | locked | no_staff | bad_format
    tries_left: int = 0
    locked_for_s: float = 0.0


class CredentialChecker:
    """Checks PINs and cards; five wrong PINs in a row lock PIN entry for `lockout_s`."""

    def __init__(
        self, settings: AttendantSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._wrong = 0
        self._locked_until = 0.0
        self.failures = 0  # counters for the health report
        self.lockouts = 0

    def locked_for(self) -> float:
        """Seconds the PIN pad stays locked (0 when open)."""
        with self._lock:
            return max(0.0, self._locked_until - self._clock())

    def check_pin(self, pin: str) -> PinResult:
        """Find the attendant whose PIN this is (blocking: scrypt per attendant)."""
        staff = [s for s in self.settings.staff if s.pin_hash]
        with self._lock:
            left = self._locked_until - self._clock()
            if left > 0:
                return PinResult(None, "locked", locked_for_s=left)
        if not staff:
            return PinResult(None, "no_staff")
        found = next((s for s in staff if verify_pin(pin, s.pin_hash)), None)
        with self._lock:
            if found is not None:
                self._wrong = 0
                return PinResult(found, "ok")
            self._wrong += 1
            self.failures += 1
            tries_left = self.settings.max_tries - self._wrong
            if tries_left > 0:
                return PinResult(
                    None, "wrong" if valid_pin_format(pin) else "bad_format", tries_left=tries_left
                )
            self._wrong = 0
            self.lockouts += 1
            self._locked_until = self._clock() + self.settings.lockout_s
        log.warning(
            "attendant PIN pad locked for %.0f s after %d wrong PINs",
            self.settings.lockout_s,
            self.settings.max_tries,
        )
        return PinResult(None, "locked", locked_for_s=self.settings.lockout_s)

    def check_card(self, uid: str) -> Attendant | None:
        """The attendant whose card this is, or None (a citizen's card)."""
        wanted = normalise_uid(uid)
        return next((s for s in self.settings.staff if wanted in s.cards), None)


def pin_config_lines(attendant_id: str, pin: str) -> str:
    """The TOML lines `anjungan attendant-pin` prints for the kiosk config."""
    Attendant(attendant_id)  # validates the id
    return (
        f'[[attendant.staff]]\nid = "{attendant_id}"\npin_hash = "{hash_pin(pin)}"\n'
        f'# cards = ["04A1B2C3D4"]   # optional: the attendant card UID(s)\n'
    )
