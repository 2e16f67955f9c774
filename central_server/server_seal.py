"""The central server's own receipt seal: when an officer moves an application to another date
or window, the kiosk's seal no longer tells the truth, so the server seals the new slot.

The server's Ed25519 key comes like its other secrets (central_server.keys: the systemd
credential `seal-signing-key`, ANJUNGAN_SEAL_SIGNING_KEY, or on a development machine a key
file made once under var/keys), never from the database. Its seals are kiosk seals in every
respect (kiosk_app.services.receipt_seal, format AJ1) signed by `SERVER_ID`, a name no kiosk
can have (kiosk ids carry no ':'), so the same pages verify both.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central_server import keys
from central_server.models import Application
from kiosk_app.services import receipt_seal

log = logging.getLogger("central_server.seals")

SERVER_ID = "server:pusat"  # the "kiosk" a server seal names


def key_from_secret(secret: str) -> Ed25519PrivateKey:
    """The Ed25519 key of a secret: 64 hex digits are the seed itself (what provisioning and
    the development key file write), anything else is hashed to one."""
    try:
        seed = bytes.fromhex(secret) if len(secret) == 64 else b""
    except ValueError:
        seed = b""
    return Ed25519PrivateKey.from_private_bytes(seed or hashlib.sha256(secret.encode()).digest())


class ServerSealer:
    """Seals applications with the server's key; the key is loaded on first use."""

    def __init__(
        self,
        database_url: str,
        secret: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`secret`: the key's secret (tests), else keys.load_secret(SEAL_SIGNING_KEY)."""
        self.database_url, self._secret, self.clock = database_url, secret, clock
        self._key: Ed25519PrivateKey | None = None
        self._lock = threading.Lock()

    @property
    def key(self) -> Ed25519PrivateKey:
        """The signing key."""
        with self._lock:
            if self._key is None:
                secret = self._secret or keys.load_secret(keys.SEAL_SIGNING_KEY, self.database_url)
                self._key = key_from_secret(secret)
            return self._key

    def public_key(self) -> bytes:
        """The raw public key the verification pages check server seals with."""
        return self.key.public_key().public_bytes_raw()

    def public_key_of(self, kiosk_id: str) -> bytes | None:
        """The server's public key when `kiosk_id` is SERVER_ID, else None."""
        return self.public_key() if kiosk_id == SERVER_ID else None

    def seal(self, app: Application) -> str:
        """The seal of `app` as it stands (its registration number, office, service, slot)."""
        claims = receipt_seal.ReceiptClaims(
            reference=app.registration_number,
            office=app.office_code,
            service=app.service,
            day=app.slot_date,
            window=app.slot_window,
            issued_at=self.clock().astimezone(UTC).replace(microsecond=0),
            kiosk_id=SERVER_ID,
        )
        sealed = receipt_seal.seal(claims, self.key)
        log.info(
            "application %s sealed by the server for %s %s",
            app.registration_number,
            app.slot_date,
            app.slot_window,
        )
        return sealed
