"""The files of remote-command results (log bundles, screenshots) the server has not taken yet,
kept across a restart of the kiosk app.

A screenshot can show personal data (blurred fields, still) and a log bundle masked personal
data, so a file is kept sealed at rest: AES-GCM with the kiosk's outbox key (sealing.py), bound
to its command's id, one file per command under the data dir, written whole
(durable.write_atomically). Without the key nothing is written: the file lives only in memory,
as long as the process that made it. The files kept are bounded (`cap_bytes`): the oldest
commands' files are dropped to make room, with a log line, and their results say so
(CommandRecord.file_lost). A file removed once its result is reported. A stored file that does
not open (damaged, another key, a newer kiosk app's format) is kept aside for the technician as
`<id>.sealed.damaged-<UTC time>` (durable.set_aside_damaged: an ERROR line and the storage
health name it) and its result says it was lost: never a crash, never read again, not counted
in `cap_bytes`. The newest KEEP_DAMAGED files kept aside stay (within `cap_bytes` together),
older ones are removed. A folder that refuses the move (read-only) leaves the file where it is,
forgotten until the next start (which removes it if it can: its result was reported lost).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk_app.services.durable import (
    STORAGE,
    UNWRITABLE,
    set_aside_damaged,
    write_atomically,
    write_problem,
)
from kiosk_app.services.sealing import seal, unseal

log = logging.getLogger(__name__)

FOLDER = "fleet-results"  # in the kiosk's data dir
SUFFIX = ".sealed"
MAX_STORED_BYTES = 24_000_000  # four of the largest files the server takes (~6 MB each)
# the largest file the server takes (central_server/fleet/schemas.py MAX_ATTACHMENT_B64, base64
# characters): a larger one is refused (413, often by closing the connection mid-upload)
MAX_SENT_BYTES = 6_000_000
KEEP_DAMAGED = 3  # files kept aside as damaged: the newest, for the technician
LOST = "its file was lost with a restart, ask again"
DAMAGED = "its file was lost: the kiosk's stored copy does not open ({why}), ask again"
TOO_LARGE = "its file ({size} bytes) is larger than the server takes ({most} bytes)"
DROPPED = (
    "its file was dropped: the kiosk keeps at most {cap} bytes of files the server has not "
    "taken, newer ones came; ask again"
)


class ResultFiles:
    """Unsent result files by command id: in memory, and sealed in `folder` with `key`."""

    def __init__(self, folder: Path, key: bytes | None, cap_bytes: int = MAX_STORED_BYTES):
        self.folder = folder
        self.cap_bytes = cap_bytes
        self._aead = AESGCM(key) if key is not None else None
        self._lock = threading.Lock()
        self._memory: dict[int, tuple[bytes, str | None]] = {}  # made by this process
        self._sizes: dict[int, int] = {}  # what each kept file costs
        for path in folder.glob(f"*{SUFFIX}") if folder.is_dir() else ():
            try:
                self._sizes[int(path.name.removesuffix(SUFFIX))] = path.stat().st_size
            except (ValueError, OSError):
                continue

    def keep(self, cid: int, data: bytes, content_type: str | None) -> list[int]:
        """Keep command `cid`'s file until `remove`; the commands whose files were dropped to
        stay within `cap_bytes`, oldest first (their results must say so)."""
        with self._lock:
            self._memory[cid] = (data, content_type)
            sealed = None
            if self._aead is not None:
                plain = (content_type or "").encode() + b"\n" + data
                sealed = seal(self._aead, plain, self._aad(cid))
            size = len(sealed) if sealed is not None else len(data)
            if size > self.cap_bytes:
                log.warning(
                    "health: the file of command %d (%d bytes) is larger than the %d bytes kept "
                    "for the server: kept in memory only",
                    cid,
                    size,
                    self.cap_bytes,
                )
                return []
            dropped = self._make_room(cid, size)
            self._sizes[cid] = size
            if sealed is None:
                return dropped
            try:
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                write_atomically(self._path(cid), sealed)
            except OSError as exc:  # the storage health names the folder and why
                STORAGE.report(self.folder, write_problem(exc) or UNWRITABLE, str(exc))
                log.warning(
                    "health: the file of command %d not stored (%s): kept in memory only, lost "
                    "if the kiosk app restarts before the server takes it",
                    cid,
                    exc,
                )
                self._sizes.pop(cid, None)
                return dropped
            STORAGE.writable_again(self.folder)
            return dropped

    def get(self, cid: int) -> tuple[bytes, str | None] | str:
        """Command `cid`'s file and its type, or why it is not there (its result says it)."""
        with self._lock:
            if cid in self._memory:
                return self._memory[cid]
            path = self._path(cid)
            if self._aead is None or not path.exists():
                return LOST
            try:
                plain = unseal(self._aead, path.read_bytes(), self._aad(cid))
                content_type, data = plain.split(b"\n", 1)
                kept = (data, content_type.decode("ascii") or None)
            except (OSError, InvalidTag, ValueError) as exc:
                why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                self._set_aside(cid, why)
                return DAMAGED.format(why=why)
            self._memory[cid] = kept
            return kept

    def remove(self, cid: int) -> None:
        """The server has command `cid`'s result: its file goes."""
        with self._lock:
            self._drop(cid)

    def prune(self, keep: set[int]) -> None:
        """Remove the stored files of every command but `keep` (a record kept aside as
        damaged, results reported by a process killed before removing their file)."""
        with self._lock:
            for cid in sorted(set(self._sizes) - keep):
                log.info("health: stored file of command %d no longer awaited: removed", cid)
                self._drop(cid)
            for stale in self.folder.glob(f"*{SUFFIX}.tmp") if self.folder.is_dir() else ():
                stale.unlink(missing_ok=True)  # a write cut short

    def stored(self) -> list[int]:
        """The commands whose files are kept, oldest first."""
        with self._lock:
            return sorted(self._sizes)

    def _make_room(self, cid: int, size: int) -> list[int]:
        dropped = []
        for old in sorted(c for c in self._sizes if c != cid):
            if sum(self._sizes.values()) - self._sizes.get(cid, 0) + size <= self.cap_bytes:
                break
            log.warning(
                "health: the file of command %d (%d bytes) dropped to keep the files the server "
                "has not taken within %d bytes; its result says so",
                old,
                self._sizes[old],
                self.cap_bytes,
            )
            self._drop(old)
            dropped.append(old)
        return dropped

    def _set_aside(self, cid: int, why: str) -> None:
        """Keep command `cid`'s damaged file aside (forgotten here: never read again nor counted
        in the cap) and the newest KEEP_DAMAGED files kept aside only."""
        self._memory.pop(cid, None)
        self._sizes.pop(cid, None)
        path = self._path(cid)
        kept = set_aside_damaged(path, f"does not open ({why})", "; its result says it was lost")
        log.error(
            "health: the stored file of command %d (%s) does not open (%s): %s, its result "
            "says it was lost",
            cid,
            path,
            why,
            f"kept aside as {kept}" if kept else "left where it is (not movable)",
        )
        # the one just kept aside first (whatever the clock says), then the newest by name
        found = self.folder.glob(f"*{SUFFIX}.damaged-*") if self.folder.is_dir() else ()
        others = sorted(
            (old for old in found if old != kept),
            key=lambda old: old.name.rsplit("-", 1)[-1],
            reverse=True,
        )
        aside = ([kept] if kept else []) + others
        total = 0
        for n, old in enumerate(aside):
            try:
                total += old.stat().st_size
            except OSError:
                continue
            if n == 0 or (n < KEEP_DAMAGED and total <= self.cap_bytes):
                continue
            log.warning("health: damaged result file %s removed (newer ones kept aside)", old)
            try:
                old.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("health: damaged result file %s not removed: %s", old, exc)

    def _drop(self, cid: int) -> None:
        self._memory.pop(cid, None)
        self._sizes.pop(cid, None)
        try:
            self._path(cid).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("health: stored file of command %d not removed: %s", cid, exc)

    def _path(self, cid: int) -> Path:
        return self.folder / f"{cid}{SUFFIX}"

    @staticmethod
    def _aad(cid: int) -> bytes:
        return f"fleet-result|{cid}".encode()
