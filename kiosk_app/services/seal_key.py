"""The kiosk's seal key on disk and with the central server.

The key file (kiosk_app.services.sealing: 32 bytes, base64, 0600, like the outbox key) is made
at provisioning. When it is gone or damaged (a damaged disk, a reinstall) the kiosk makes a new
one at the same place (a damaged file is kept aside as `<name>.damaged`) and keeps sealing.
The server takes a replacement at once only with proof of the key in force; a kiosk whose key
file was lost cannot give it, so its new key waits for a technician's approval on the fleet
page, and the health report says so ("seal_key": pending) until the server has it in force.
A planned replacement (`rotate`) keeps the old key as `<name>.previous` until the server took
the new one proven with it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk_app.central import CentralClient, CentralRejected
from kiosk_app.services import receipt_seal
from kiosk_app.services.sealing import (
    OutboxError,
    read_key,
    signing_key_path,
    write_new_secret,
)

log = logging.getLogger(__name__)

KEY_REGISTERED = "signing_key_registered"  # lease file meta: the public key the server has
PREVIOUS, DAMAGED = ".previous", ".damaged"  # beside the key file
IN_FORCE, PENDING, REJECTED, UNREGISTERED = "in_force", "pending", "rejected", "unregistered"


@dataclass(frozen=True)
class SealKeyFile:
    """The kiosk's signing key, its file, and why it was made anew ("" when it was not:
    "missing" or "damaged")."""

    key: Ed25519PrivateKey
    path: Path
    renewed: str = ""

    @property
    def previous(self) -> Path:
        """Where a replaced key waits until the server took its successor with proof."""
        return beside(self.path, PREVIOUS)


def beside(path: Path, suffix: str) -> Path:
    """The file kept beside the key file `path` (PREVIOUS, DAMAGED)."""
    return path.with_name(path.name + suffix)


def load_or_renew(key_file: Path | None, data_dir: Path) -> SealKeyFile:
    """The kiosk's signing key (sealing.signing_key_path); a missing or damaged file is
    replaced by a new key (the damaged one kept aside). OSError when no file can be written
    (the caller reports the storage fault and the kiosk serves without seals)."""
    path = signing_key_path(key_file, data_dir)
    if path.exists():
        try:
            seed = read_key(path, "signing key")
            return SealKeyFile(Ed25519PrivateKey.from_private_bytes(seed), path)
        except (OutboxError, ValueError) as exc:
            aside = beside(path, DAMAGED)
            os.replace(path, aside)
            log.error("seal key %s is damaged (%s); kept as %s, making a new key", path, exc, aside)
            renewed = "damaged"
    else:
        renewed = "missing"
        log.warning("seal key %s is missing; making a new key", path)
    seed = write_new_secret(path)
    return SealKeyFile(Ed25519PrivateKey.from_private_bytes(seed), path, renewed)


def rotate(path: Path) -> Ed25519PrivateKey:
    """Replace the key at `path` by a new one, keeping the old as `<name>.previous`: the
    next registration proves the new key with it, so it is in force at once."""
    os.replace(path, beside(path, PREVIOUS))
    return Ed25519PrivateKey.from_private_bytes(write_new_secret(path))


class SealKeyRegistrar:
    """Registers the kiosk's public seal key with the server until it is in force (the lease
    keeper calls `register` each round); its `status()` is the health report's "seal_key"."""

    def __init__(
        self,
        central: CentralClient,
        public_key: str,
        *,
        previous_file: Path | None = None,
        renewed: str = "",
    ) -> None:
        """`previous_file`: a replaced key (rotate) to prove the new one with, if present;
        `renewed`: why the key was made anew at start ("missing", "damaged" or "")."""
        self.central = central
        self.public_key = public_key
        self.previous_file = previous_file
        self.renewed = renewed
        self._state = UNREGISTERED
        self._lock = threading.Lock()

    def status(self) -> dict[str, str]:
        """state in_force | pending (waiting for a technician) | rejected | unregistered."""
        with self._lock:
            found = {"state": self._state, "key": self.public_key[:8]}
        if self.renewed:
            found["renewed"] = f"key file {self.renewed}: new key made"
        return found

    def register(
        self, meta: Callable[[str], str | None], set_meta: Callable[[str, str], None]
    ) -> None:
        """PUT the key unless the server has it in force (remembered with `set_meta`), with
        proof of the previous key when the kiosk still has it. CentralError when the server
        cannot be reached (tried next round)."""
        if meta(KEY_REGISTERED) == self.public_key:
            self._set(IN_FORCE)
            return
        try:
            answer = self._put()
        except CentralRejected as exc:
            if exc.status in (404, 405):  # an older server: its seals show unknown_kiosk
                log.warning("the central server cannot register seal keys yet: %s", exc)
                return
            if exc.code == "key_rejected":
                if self._set(REJECTED):
                    log.error(
                        "a technician rejected this kiosk's seal key %s: its seals do not "
                        "verify; remove %s so that the kiosk makes a new one",
                        self.public_key[:8],
                        self.previous_file or "the key file",
                    )
                return
            raise
        if answer == PENDING:
            if self._set(PENDING):
                log.warning(
                    "seal key %s registered without proof of the previous one: pending a "
                    "technician's approval on the fleet dashboard (its seals verify as "
                    "pending meanwhile)",
                    self.public_key[:8],
                )
            return
        set_meta(KEY_REGISTERED, self.public_key)
        self._set(IN_FORCE)
        if self.previous_file is not None and self.previous_file.exists():
            self.previous_file.unlink()  # proven and in force: the old key is no longer needed
        log.info("seal key %s in force on the central server", self.public_key[:8])

    def _put(self) -> str:
        previous = self._previous_key()
        if previous is not None:
            try:
                nonce = self.central.signing_key_challenge()
                proof = {
                    "nonce": nonce,
                    "signature": receipt_seal.sign_key_change(
                        previous, self.central.kiosk_id, self.public_key, nonce
                    ),
                }
                return self.central.put_signing_key(self.public_key, proof)
            except CentralRejected as exc:
                if exc.code != "proof_invalid" and exc.status not in (404, 405):
                    raise
                log.warning(
                    "the server took no proof with the previous seal key (%s); registering "
                    "the new key for a technician's approval",
                    exc,
                )
        return self.central.put_signing_key(self.public_key)

    def _previous_key(self) -> Ed25519PrivateKey | None:
        if self.previous_file is None or not self.previous_file.exists():
            return None
        try:
            return Ed25519PrivateKey.from_private_bytes(
                read_key(self.previous_file, "previous signing key")
            )
        except (OutboxError, OSError, ValueError) as exc:
            log.error("previous seal key %s unusable: %s", self.previous_file, exc)
            return None

    def _set(self, state: str) -> bool:
        """Set the state; True when it changed."""
        with self._lock:
            changed, self._state = self._state != state, state
        return changed
