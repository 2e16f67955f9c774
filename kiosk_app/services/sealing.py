"""The kiosk's keys and AES-GCM sealing: personal data at rest on the kiosk (the outbox, the sealed
receipt copies) is encrypted with a 256-bit key set at provisioning, never in the repository. The
Ed25519 signing key that seals tickets and receipts (kiosk_app/services/receipt_seal.py) is made
the same way (32 random bytes: an Ed25519 private key is its 32-byte seed) but lives in the data
dir, the unit's state directory (/var/lib/anjungan, 0700, the kiosk user's), not in /etc: the
kiosk rewrites it (rotation, a rejected or damaged key; kiosk_app/services/seal_key.py) and the
unit's /etc is read-only (ProtectSystem=full)."""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk_app.services.durable import sync_folder

log = logging.getLogger(__name__)

DEFAULT_KEY_FILE = Path("/etc/anjungan/outbox.key")
SIGNING_KEY_NAME = "signing.key"  # in the data dir: provisioning writes it there
# Where provisioning wrote the signing key before it moved to the data dir: read (an old kiosk
# keeps sealing with it) until provisioning moves it; never written by the kiosk.
OLD_SIGNING_KEY_FILE = Path("/etc/anjungan/signing.key")
NONCE_BYTES = 12


class OutboxError(Exception):
    """The outbox could not store or read a submission."""


# -- the key ---------------------------------------------------------------------------------


def load_key(key_file: Path | None, data_dir: Path) -> bytes:
    """The 256-bit outbox key: from `key_file` (set at provisioning), else /etc/anjungan, else a
    development key generated in `data_dir` (0600) with a warning."""
    return _load_secret(key_file, DEFAULT_KEY_FILE, Path(data_dir) / "outbox.key", "outbox key")


def load_signing_key(key_file: Path | None, data_dir: Path) -> Ed25519PrivateKey:
    """The kiosk's Ed25519 signing key at `signing_key_path`; when there is none yet (a
    development kiosk: provisioning writes one) a new key is made in `data_dir` (0600)."""
    path = signing_key_path(key_file, data_dir)
    if path.exists():
        return Ed25519PrivateKey.from_private_bytes(read_key(path, "signing key"))
    if key_file is not None:
        raise OutboxError(f"signing key file {key_file} does not exist")
    log.info("no signing key yet: making a new one in %s", path)
    return Ed25519PrivateKey.from_private_bytes(write_new_secret(path))


def signing_key_path(key_file: Path | None, data_dir: Path) -> Path:
    """Where the kiosk's signing key is: `key_file` (`signing_key_file`), else signing.key in
    `data_dir` (a provisioned kiosk's /var/lib/anjungan), else OLD_SIGNING_KEY_FILE when only
    it exists (a kiosk provisioned before the key moved: sealing goes on, rotation waits for
    provisioning to move it), else signing.key in `data_dir`, where a new key is made."""
    if key_file is not None:
        return Path(key_file)
    path = Path(data_dir) / SIGNING_KEY_NAME
    if not path.exists() and OLD_SIGNING_KEY_FILE.exists():
        return OLD_SIGNING_KEY_FILE
    return path


def _load_secret(key_file: Path | None, default: Path, dev: Path, what: str) -> bytes:
    """32 secret bytes from `key_file`, else `default`, else a development file `dev`."""
    for path in (key_file, default):
        if path is not None and Path(path).exists():
            return read_key(Path(path), what)
    if key_file is not None:
        raise OutboxError(f"{what} file {key_file} does not exist")
    if dev.exists():
        return read_key(dev, what)
    log.warning("no provisioned %s; generating a development key in %s", what, dev)
    return write_new_secret(dev)


def write_new_secret(path: Path) -> bytes:
    """32 random bytes written to a new file `path` (0600, base64, synced; never over an
    existing file), its folder made if need be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=256)  # 32 random bytes from the OS
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.urlsafe_b64encode(key).decode() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    sync_folder(path.parent)  # the new name too: a key lost in a power cut orphans seals
    return key


def seal(aead: AESGCM, plaintext: bytes, bound_to: bytes) -> bytes:
    """A fresh nonce and the AES-GCM ciphertext of `plaintext`, bound to `bound_to` (AAD)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, plaintext, bound_to)


def unseal(aead: AESGCM, blob: bytes, bound_to: bytes) -> bytes:
    """The plaintext of a `seal` result; cryptography's InvalidTag if it does not open."""
    return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], bound_to)


def read_key(path: Path, what: str = "outbox key") -> bytes:
    """A key file holds the 32 raw bytes, or their base64 on a line."""
    if path.stat().st_mode & 0o077:
        log.warning("%s %s is readable by group/others; chmod 600 it", what, path)
    raw = path.read_bytes()
    if len(raw) == 32:  # raw bytes: never strip them (a key may begin or end with b"\n")
        return raw
    text = raw.strip()
    try:  # provisioning writes secrets.token_urlsafe(32): base64url without its padding
        key = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    except ValueError as exc:
        raise OutboxError(f"{what} {path} is not base64") from exc
    if len(key) != 32:
        raise OutboxError(f"{what} {path} must hold 32 bytes, not {len(key)}")
    return key
