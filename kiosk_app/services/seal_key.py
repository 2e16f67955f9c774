"""The kiosk's seal key on disk and with the central server.

The key file (kiosk_app.services.sealing: 32 bytes, base64, 0600, like the outbox key) is made
at provisioning. When it is gone or damaged (a damaged disk, a reinstall) the kiosk makes a new
one at the same place (a damaged file is kept aside as `<name>.damaged-<UTC time>`,
durable.keep_aside: a second one never overwrites the first) and keeps sealing.
The server takes a replacement at once only with proof of the key in force; a kiosk whose key
file was lost cannot give it, so its new key waits for a technician's approval on the fleet
page, and the health report says so ("seal_key": pending) until the server has it in force.
A key the technician rejects (the server answers its PUT 409 key_rejected; the fleet's
check_seal_key command asks at once) is no longer used from that moment: it is kept aside as
`<name>.rejected-<UTC time>`, a new key seals from then on and is submitted (pending again), and
the health report names the rejected key meanwhile ("rejected"), for the fleet's alert.
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

from kiosk_app.central import CentralClient, CentralRejected, CentralUnavailable
from kiosk_app.services import receipt_seal
from kiosk_app.services.durable import STORAGE, UNWRITABLE, keep_aside
from kiosk_app.services.sealing import (
    OutboxError,
    read_key,
    signing_key_path,
    write_new_secret,
)

log = logging.getLogger(__name__)

KEY_REGISTERED = "signing_key_registered"  # lease file meta: the public key the server has
PREVIOUS = ".previous"  # beside the key file
IN_FORCE, PENDING, REJECTED, UNREGISTERED = "in_force", "pending", "rejected", "unregistered"
RENEWED = {  # why the key in use was made anew (the health report's "renewed")
    "missing": "key file missing: new key made",
    "damaged": "key file damaged: new key made",
    REJECTED: "key rejected by a technician: new key made",
}


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
    """The file kept beside the key file `path` (PREVIOUS)."""
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
            aside = keep_aside(path)
            log.error("seal key %s is damaged (%s); kept as %s, making a new key", path, exc, aside)
            renewed = "damaged"
    else:
        renewed = "missing"
        log.warning("seal key %s is missing; making a new key", path)
    seed = write_new_secret(path)
    return SealKeyFile(Ed25519PrivateKey.from_private_bytes(seed), path, renewed)


def renew_rejected(path: Path) -> Ed25519PrivateKey:
    """Keep the rejected key at `path` aside (`<name>.rejected-<UTC time>`, durable.keep_aside:
    never used again, never deleted) and make a new one there. OSError when it cannot be
    written."""
    keep_aside(path, REJECTED)
    return Ed25519PrivateKey.from_private_bytes(write_new_secret(path))


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
        key_file: Path | None = None,
        use_key: Callable[[Ed25519PrivateKey], None] | None = None,
    ) -> None:
        """`previous_file`: a replaced key (rotate) to prove the new one with, if present;
        `renewed`: why the key was made anew at start ("missing", "damaged" or "");
        `key_file` and `use_key`: where the key lives and what seals with it, so that a key
        a technician rejected is replaced at once (without them it is only reported)."""
        self.central = central
        self.public_key = public_key
        self.previous_file = previous_file
        self.renewed = renewed
        self.key_file = key_file
        self.use_key = use_key
        self.rejected = ""  # the key a technician rejected, replaced by this one
        self._state = UNREGISTERED
        self._lock = threading.Lock()

    def status(self) -> dict[str, str]:
        """state in_force | pending (waiting for a technician) | rejected | unregistered;
        "renewed": why the key was made anew; "rejected": the key it replaced, rejected."""
        with self._lock:
            found = {"state": self._state, "key": self.public_key[:8]}
            if self.renewed:
                found["renewed"] = RENEWED.get(self.renewed, self.renewed)
            if self.rejected:
                found["rejected"] = self.rejected[:8]
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
                if self._replace_rejected():
                    self.register(meta, set_meta)  # the new key: pending, no proof possible
                return
            raise
        except CentralUnavailable as exc:
            if exc.status != 429:
                raise
            # rate-limited: tried next round; the leases are renewed meanwhile
            log.warning("seal key registration deferred: %s", exc)
            return
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

    def _replace_rejected(self) -> bool:
        """A technician rejected the key in use: stop sealing with it at once (`use_key`),
        keep it aside and seal with a new key (renew_rejected; when no file can be written,
        a key in memory: reported as STORAGE health, the next start makes one again). True
        when a new key is in use; False when the kiosk cannot replace its key."""
        with self._lock:
            rejected = self.public_key
        if self.key_file is None or self.use_key is None:
            if self._set(REJECTED):
                log.error(
                    "a technician rejected this kiosk's seal key %s: its seals do not verify;"
                    " remove the key file so that the kiosk makes a new one",
                    rejected[:8],
                )
            return False
        try:
            key = renew_rejected(self.key_file)
        except (OSError, OutboxError) as exc:
            STORAGE.report(self.key_file, UNWRITABLE, f"{type(exc).__name__}: {exc}")
            key = receipt_seal.new_key()
        self.use_key(key)
        with self._lock:
            self.public_key = receipt_seal.public_key_text(key)
            self.rejected, self.renewed, self._state = rejected, REJECTED, UNREGISTERED
        log.error(
            "a technician rejected this kiosk's seal key %s: no longer used, kept aside;"
            " sealing with new key %s from now on, submitted for a technician's approval",
            rejected[:8],
            self.public_key[:8],
        )
        return True

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
