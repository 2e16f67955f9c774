"""The kiosk's seal key on disk and with the central server.

The key file (kiosk_app.services.sealing: 32 bytes, base64, 0600, like the outbox key) is made
at provisioning in the kiosk's state directory (/var/lib/anjungan: the unit may write there, not
in /etc), and every file below is written beside it. When it is gone or damaged (a damaged
disk, a reinstall) the kiosk makes a new one at the same place (a damaged file is kept aside
as `<name>.damaged-<UTC time>`, durable.keep_aside: a second one never overwrites the first) and
keeps sealing.
The server takes a replacement at once only with proof of the key in force; a kiosk whose key
file was lost cannot give it, so its new key waits for a technician's approval on the fleet
page, and the health report says so ("seal_key": pending) until the server has it in force.
A key the technician rejects (the server answers its PUT 409 key_rejected; the fleet's
check_seal_key command asks at once) is no longer used from that moment: it is kept aside as
`<name>.rejected-<UTC time>`, a new key seals from then on and is submitted (pending again), and
the health report names the rejected key meanwhile ("rejected"), for the fleet's alert.
A planned replacement (`SealKeyRegistrar.rotate`: the fleet's rotate_seal_key command, or a
key older than `[sealing] rotate_after_days` at a quiet moment) writes the new key beside the
old one as `<name>.next` and keeps sealing with the old key until the server has taken the new
one, proven with the old (so it is in force at once, never pending). Only then is the old file
kept aside (durable.keep_aside, `<name>.retired-<UTC time>`), the new one moved in its place,
sealed with, and the retired file removed. A kiosk stopped anywhere in between carries on at
its next start with whichever key the server has in force: a `.next` file the server has not
taken is proven again; one it took (its answer lost) is proven with itself and moved in; a key
file missing beside a `.next` is the swap cut short, finished. Sealing with the new key before
the server confirms it would print seals the server cannot verify when its answer is late by
more than seals.CLOCK_SKEW. The server lets the old key verify seals until the kiosk says it
swapped (its answer may have been lost, the kiosk sealing on with the old key): after the swap
the kiosk sends that acknowledgment, signed with the new key and the time it swapped, written
in the lease file first (SWAP_UNACKNOWLEDGED) and sent again each round until the server
answered, across restarts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk_app.central import CentralClient, CentralError, CentralRejected, CentralUnavailable
from kiosk_app.services import durable, receipt_seal
from kiosk_app.services.durable import STORAGE, UNWRITABLE, keep_aside
from kiosk_app.services.sealing import (
    OutboxError,
    read_key,
    signing_key_path,
    write_new_secret,
)

log = logging.getLogger(__name__)

KEY_REGISTERED = "signing_key_registered"  # lease file meta: the public key the server has
# lease file meta: "<public key> <ISO time>" of a swap the server has not acknowledged yet
SWAP_UNACKNOWLEDGED = "signing_key_swap_unacknowledged"
NEXT = ".next"  # beside the key file: a planned successor the server has not confirmed yet
RETIRED = "retired"  # durable.keep_aside's `why` for a key replaced by a confirmed successor
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
    def next(self) -> Path:
        """Where a planned successor waits until the server confirmed it (NEXT)."""
        return beside(self.path, NEXT)


def beside(path: Path, suffix: str) -> Path:
    """The file kept beside the key file `path` (NEXT)."""
    return path.with_name(path.name + suffix)


def key_age(path: Path, now: datetime) -> timedelta:
    """How old the key at `path` is: since its file was written (write_new_secret; a file
    moved in by a rotation keeps the time it was made)."""
    return now - datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _finish_swap(path: Path) -> None:
    """A rotation stopped half-way through its swap (the server had confirmed the successor):
    move the successor in where the key file is missing, and remove retired files."""
    nxt = beside(path, NEXT)
    if not path.exists() and nxt.exists():
        durable.replace(nxt, path)
        log.warning("seal key rotation was cut short after the server confirmed it: finished")
    if not nxt.exists():
        for retired in path.parent.glob(f"{path.name}.{RETIRED}-*"):
            retired.unlink()


def load_or_renew(key_file: Path | None, data_dir: Path) -> SealKeyFile:
    """The kiosk's signing key (sealing.signing_key_path); a missing or damaged file is
    replaced by a new key (the damaged one kept aside). OSError when no file can be written
    (the caller reports the storage fault and the kiosk serves without seals)."""
    path = signing_key_path(key_file, data_dir)
    _finish_swap(path)
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


class SealKeyRegistrar:
    """Registers the kiosk's public seal key with the server until it is in force (the lease
    keeper calls `register` each round) and carries out planned rotations (`rotate`); its
    `status()` is the health report's "seal_key"."""

    def __init__(
        self,
        central: CentralClient,
        public_key: str,
        *,
        renewed: str = "",
        key_file: Path | None = None,
        use_key: Callable[[Ed25519PrivateKey], None] | None = None,
        step: Callable[[str], None] = lambda _step: None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`renewed`: why the key was made anew at start ("missing", "damaged" or "");
        `key_file` and `use_key`: where the key lives and what seals with it, so that a key
        a technician rejected is replaced at once and a rotation can take place (without them
        a rejection is only reported); `step`: told each step of a rotation as it is done
        ("written", "confirmed", "aside", "swapped"; a crash test stops the kiosk there);
        `now`: the kiosk's clock, the one its seals are dated by."""
        self.central = central
        self.public_key = public_key
        self.renewed = renewed
        self.key_file = key_file
        self.use_key = use_key
        self.step = step
        self.now = now
        self.rejected = ""  # the key a technician rejected, replaced by this one
        self.rotated = ""  # the key a planned rotation replaced, and when (UTC, minutes)
        self.rotation_failed = ""  # why the last try to confirm a successor failed
        self._state = UNREGISTERED
        self._lock = threading.Lock()

    def status(self) -> dict[str, str]:
        """state in_force | pending (waiting for a technician) | rejected | unregistered;
        "renewed": why the key was made anew; "rejected": the key it replaced, rejected;
        "rotating": a successor waiting for the server's confirmation (and "rotation_failed"
        why the last try failed); "rotated": the key a planned rotation replaced, and when."""
        with self._lock:
            found = {"state": self._state, "key": self.public_key[:8]}
            if self.renewed:
                found["renewed"] = RENEWED.get(self.renewed, self.renewed)
            if self.rejected:
                found["rejected"] = self.rejected[:8]
            if self.rotated:
                found["rotated"] = self.rotated
            if self.rotation_failed:
                found["rotation_failed"] = self.rotation_failed
        successor = self._next_file()
        if successor is not None and successor.exists():
            found["rotating"] = "new key waiting for the server's confirmation"
        return found

    def register(
        self, meta: Callable[[str], str | None], set_meta: Callable[[str, str], None]
    ) -> None:
        """PUT the key unless the server has it in force (remembered with `set_meta`); a
        rotation under way is carried on first. CentralError when the server cannot be
        reached (tried next round)."""
        try:
            if self._confirm_successor(set_meta):
                self._acknowledge(meta, set_meta)
                return
        except CentralUnavailable as exc:
            if exc.status != 429:
                raise
            log.warning("seal key rotation deferred: %s", exc)  # rate-limited: next round
            return
        except CentralRejected:
            pass  # in rotation_failed; the key in use stays registered, tried next round
        self._acknowledge(meta, set_meta)
        if meta(KEY_REGISTERED) == self.public_key:
            self._set(IN_FORCE)
            return
        try:
            answer = self.central.put_signing_key(self.public_key)
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
        log.info("seal key %s in force on the central server", self.public_key[:8])

    def rotate(
        self, meta: Callable[[str], str | None], set_meta: Callable[[str, str], None]
    ) -> str:
        """Replace the key in force by a new one proven with it (in force at once): what
        became of it, for the technician. CentralError when the server cannot be reached or
        refuses (the successor is kept and confirmed in a later round); RotationRefused when
        the kiosk cannot rotate (no key file, its key not in force)."""
        successor = self._next_file()
        if successor is None or self.key_file is None:
            raise RotationRefused("no seal key file on this kiosk: nothing to rotate")
        if not successor.exists():
            self.register(meta, set_meta)
            if self.status()["state"] != IN_FORCE:
                raise RotationRefused(
                    f"seal key {self.public_key[:8]} is not in force on the server "
                    f"({self._state}): register it first"
                )
            try:
                write_new_secret(successor)
            except OSError as exc:  # e.g. an old kiosk's key still in its read-only /etc
                with self._lock:
                    self.rotation_failed = f"new key not written: {type(exc).__name__}"
                raise RotationRefused(
                    f"the new seal key cannot be written beside {self.key_file}: {exc}; the"
                    " old key stays in use"
                ) from exc
            self.step("written")
        old = self.public_key
        if not self._confirm_successor(set_meta):
            raise RotationRefused("the new seal key could not be confirmed")
        self._acknowledge(meta, set_meta)
        return f"seal key rotated: {old[:8]} -> {self.public_key[:8]}, in force on the server"

    def _confirm_successor(self, set_meta: Callable[[str, str], None]) -> bool:
        """Carry on a rotation under way: have the server take the successor proven with the
        key file's key, or, when that proof is refused, find it took the successor already
        (an answer lost), proven with the successor itself; then swap. False when no rotation
        is under way; CentralError when neither proof was taken (tried again next round)."""
        successor = self._next_file()
        if successor is None or self.key_file is None or not successor.exists():
            return False
        try:
            current = _private_key(self.key_file)
            new = _private_key(successor)
        except (OutboxError, OSError, ValueError) as exc:
            aside = keep_aside(successor, "damaged")
            log.error("seal key successor %s unusable (%s): kept as %s", successor, exc, aside)
            return False
        new_public = receipt_seal.public_key_text(new)
        try:
            try:
                self._prove(new_public, current)
            except CentralRejected as exc:
                if exc.code != "proof_invalid":
                    raise
                # the server may hold the successor in force already (its answer was lost)
                self._prove(new_public, new)
        except CentralRejected as exc:
            if exc.code != "proof_invalid":
                self._not_confirmed(new_public, exc)
                raise
            # Neither key proves itself with a fresh nonce: the server holds another key (the
            # key file was lost or damaged mid-rotation, or a technician decided on another).
            # The successor cannot be confirmed: kept aside, the key file registered as usual.
            aside = keep_aside(successor, "unconfirmed")
            with self._lock:
                self.rotation_failed = "new key taken by the server neither way: set aside"
            log.error(
                "seal key successor %s taken by the server neither as the successor of %s nor"
                " as its key in force (%s): kept as %s",
                new_public[:8],
                self.public_key[:8],
                exc,
                aside,
            )
            return False
        except CentralError as exc:
            self._not_confirmed(new_public, exc)
            raise
        self.step("confirmed")
        self._swap(new, new_public, set_meta)
        return True

    def _not_confirmed(self, new_public: str, exc: CentralError) -> None:
        with self._lock:
            self.rotation_failed = f"{type(exc).__name__}: {exc}"[:200]
        log.warning(
            "seal key rotation to %s not confirmed (%s): sealing with %s still, tried again"
            " next round",
            new_public[:8],
            exc,
            self.public_key[:8],
        )

    def _prove(self, new_public: str, signer: Ed25519PrivateKey) -> None:
        """PUT `new_public` with `signer`'s proof over a nonce asked now (the outstanding one
        until used: a nonce that expired is replaced)."""
        nonce = self.central.signing_key_challenge()
        proof = {
            "nonce": nonce,
            "signature": receipt_seal.sign_key_change(
                signer, self.central.kiosk_id, new_public, nonce
            ),
        }
        if self.central.put_signing_key(new_public, proof) != IN_FORCE:
            raise RotationRefused("the server did not take the proven key in force")

    def _swap(
        self, new: Ed25519PrivateKey, new_public: str, set_meta: Callable[[str, str], None]
    ) -> None:
        """The server took `new` in force: seal with it, its file in the key file's place.
        The acknowledgment the server waits for is written first (SWAP_UNACKNOWLEDGED), so
        a kiosk stopped after the swap sends it at its next round (`_acknowledge`); a swap
        stopped before its end is redone, with a new time, from the `.next` file."""
        assert self.key_file is not None
        set_meta(SWAP_UNACKNOWLEDGED, f"{new_public} {self.now().isoformat(timespec='seconds')}")
        aside = keep_aside(self.key_file, RETIRED)
        self.step("aside")
        durable.replace(beside(self.key_file, NEXT), self.key_file)
        if self.use_key is not None:
            self.use_key(new)
        with self._lock:
            old, self.public_key = self.public_key, new_public
            self.rotated = f"{old[:8]} {self.now():%Y-%m-%dT%H:%MZ}"
            self.rotation_failed, self.renewed, self._state = "", "", IN_FORCE
        set_meta(KEY_REGISTERED, new_public)
        self.step("swapped")
        if aside is not None:
            aside.unlink()  # confirmed and in use: the old key is no longer needed
        log.warning(
            "seal key rotated: %s replaced by %s, in force on the central server; seals made"
            " with the old key before stay valid",
            old[:8],
            new_public[:8],
        )

    def _acknowledge(
        self, meta: Callable[[str], str | None], set_meta: Callable[[str, str], None]
    ) -> None:
        """Tell the server the kiosk swapped (SWAP_UNACKNOWLEDGED), signed with the key file's
        key: the key the rotation replaced, which the server lets verify seals until then
        (its answer may have been lost meanwhile), stops there. Kept for the next round when
        the server cannot be reached; dropped when it refuses, or the key is not the one in
        use any more."""
        pending = meta(SWAP_UNACKNOWLEDGED) or ""
        successor = self._next_file()
        if not pending or self.key_file is None or successor is None or successor.exists():
            return  # nothing to say, or a swap to (re)do first
        public_key, _, since = pending.partition(" ")
        try:
            key = _private_key(self.key_file)
            sealing_since = datetime.fromisoformat(since)
        except (OutboxError, OSError, ValueError) as exc:
            log.error("seal key swap not acknowledged: %s", exc)
            set_meta(SWAP_UNACKNOWLEDGED, "")
            return
        if receipt_seal.public_key_text(key) != public_key:
            set_meta(SWAP_UNACKNOWLEDGED, "")  # replaced since (rejected, lost): moot
            return
        signature = receipt_seal.sign_key_swap(key, self.central.kiosk_id, sealing_since)
        try:
            self.central.signing_key_swapped(public_key, since, signature)
        except CentralRejected as exc:
            log.error("the server refused this kiosk's seal key swap of %s: %s", since, exc)
        except CentralError as exc:
            log.warning("seal key swap not acknowledged yet (%s): tried next round", exc)
            return
        else:
            log.info("seal key swap to %s acknowledged by the server", public_key[:8])
        set_meta(SWAP_UNACKNOWLEDGED, "")

    def _next_file(self) -> Path | None:
        return beside(self.key_file, NEXT) if self.key_file is not None else None

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

    def _set(self, state: str) -> bool:
        """Set the state; True when it changed."""
        with self._lock:
            changed, self._state = self._state != state, state
        return changed


class RotationRefused(CentralError):
    """The kiosk cannot rotate its seal key now (the command's result says why)."""


def _private_key(path: Path) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(read_key(path, "signing key"))
