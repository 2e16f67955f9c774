"""The kiosk's record of the remote commands it ran: each runs once, however often it arrives.

The fleet hands a command out again until the kiosk acknowledges it
(central_server/fleet/heartbeats.py), because a heartbeat's answer can be lost after the server
committed it. So a command can arrive twice, and the kiosk can be killed (power cut, a restart,
the reboot it was asked for) between receiving a command and reporting its result. This record,
one small JSON file in the kiosk's data directory written whole (durable.write_atomically),
keeps each command's id:

- `started` before the command runs (not writable: the command is not run at all);
- `acting` instead, for a restart or reboot, with the machine's boot id and the process that
  asks, before it asks (system_actions.py): its result is known once the app is back;
- `ran` with its result (ok, detail) once it ran, before the result is reported;
- `reported` once the server has the result.

A command found in the record (the same id and creation time: a server database restored
from a backup hands an id out again, to another command) is never run again: a result not
reported yet is reported again (an attachment only while the process that made it lives), a
result reported already is reported again too (the server answers 409 and nothing changes, or
takes it back if it lost it). One found `started` at the next start was interrupted: it is
not run again, its result says so; one found `acting` waits for its verdict (the health
reporter's next heartbeat). The heartbeat names the commands without a reported result
(`unreported`), so the server stops handing them out. The newest KEEP commands are kept.

A field this version does not know (in an entry or beside "commands"), as a newer kiosk app
writes it before a rollback, is kept as it was and ignored: the entry is not damage. Only a
field this version knows is checked for its type.

One kiosk app process at a time runs commands from a data directory: it holds a lock on
`fleet-commands.json.lock` (a POSIX lock: the process's, whichever record took it). A second
process (an old one not yet ended after a restart, a second copy started by mistake) waits for
it up to LOCK_WAIT_S before a command, then runs nothing (the storage alert says why), and
reports no result of the other's commands (the health reporter tries the lock at each heartbeat
first: a second copy is not the app come back after a restart the other asked for); once it
holds the lock it reads the record again, so a command the other process started is not run.
A kiosk app stopping its health reporter lets the lock go (`release`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import typing
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kiosk_app.services.durable import (
    DAMAGED,
    STORAGE,
    UNWRITABLE,
    set_aside_damaged,
    write_atomically,
    write_problem,
)

log = logging.getLogger(__name__)

FILE_NAME = "fleet-commands.json"
KEEP = 200  # commands remembered: months of a technician's commands on one kiosk
LOCK_WAIT_S = 3.0  # a restarted kiosk app's old process ending
HELD_ELSEWHERE = "held by another kiosk app process on this data directory"
MAX_BYTES = 8 << 20  # KEEP commands with their details fit many times over: more is damage
MAX_NAMED = 64  # unreported commands one heartbeat names (the server's MAX_RECEIVED)
STARTED, ACTING, RAN, REPORTED = "started", "acting", "ran", "reported"
INTERRUPTED = (
    "interrupted: the kiosk app stopped while running it (restart, power cut); "
    "not run again, queue it again if it is still needed"
)


UNREADABLE = "its entry in the kiosk's command record was damaged; not run again"


@dataclass
class Entry:
    """One command as the kiosk knows it."""

    kind: str
    state: str
    ok: bool = False
    detail: str = ""
    file: bool = False  # the result came with a file (logs, screenshot)
    created: str = ""  # when the server created it: a restored server database reuses ids
    # a restart or reboot asked for (ACTING): the boot and process that asked, and when
    boot_id: str = ""
    process: str = ""
    acted_at: str = ""
    # fields a newer version wrote: written back as they were, never read
    unknown: dict[str, Any] = field(default_factory=dict)

    def written(self) -> dict[str, Any]:
        """The entry as the record holds it."""
        known = {k: v for k, v in asdict(self).items() if k != "unknown"}
        return self.unknown | known


class CommandRecord:
    """Remote commands this kiosk started, ran and reported, kept in `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[int, Entry] = {}
        self._unknown: dict[str, Any] = {}  # the document's keys beside "commands" (newer)
        self._owner = False  # this process holds the record's lock (or none can be taken)
        if not self._take(0.0):
            STORAGE.report(path, UNWRITABLE, f"{HELD_ELSEWHERE}: no command runs here meanwhile")
            self._entries = self._load(owner=False)

    def _take(self, wait_s: float) -> bool:
        """Hold the record's lock for this process, waiting up to `wait_s`; once taken, read
        the record (the process before may have written it) and mark the commands it left
        started as interrupted. False while another process holds it."""
        if self._owner:
            return True
        deadline = time.monotonic() + wait_s
        lock_path = self.path.with_name(self.path.name + ".lock")
        while not _lock_process(lock_path):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        self._release = weakref.finalize(self, _unlock_process, lock_path)
        self._owner = True
        mine, self._entries = self._entries, {}
        self._entries = self._load(owner=True) | {
            cid: e for cid, e in mine.items() if cid not in self._entries
        }
        for cid, entry in self._entries.items():
            if entry.state == STARTED:  # the process running it ended before its result
                log.warning("commands: command %d (%s) was interrupted", cid, entry.kind)
                entry.state, entry.ok, entry.detail = RAN, False, INTERRUPTED
        return True

    @property
    def owner(self) -> bool:
        """This process holds the record (and the files of its results): it runs commands."""
        return self._owner

    def release(self) -> None:
        """Let the record go (the kiosk app stopping): another process may take it at once."""
        with self._lock:
            if self._owner:
                self._release()
                self._owner = False

    def take_over(self) -> bool:
        """Hold the record now if no other process does (it ended): True when this one does."""
        with self._lock:
            return self._take(0.0)

    def get(self, cid: int, created: str = "") -> Entry | None:
        """The command's entry, or None when this kiosk never started it (`created`, when
        known on both sides, tells another command of the same id apart)."""
        with self._lock:
            entry = self._entries.get(cid)
        if entry is not None and created and entry.created and entry.created != created:
            log.warning(
                "commands: command %d created %s is not the one of that id run before (created "
                "%s): the central database was restored or replaced; it runs",
                cid,
                created,
                entry.created,
            )
            return None
        return entry

    def start(
        self,
        cid: int,
        kind: str,
        created: str = "",
        *,
        acting: tuple[str, str, str] | None = None,
    ) -> None:
        """Record that the command is about to run (`acting`: a restart or reboot about to be
        asked for by (boot id, process, ISO time)); OSError when that cannot be written (the
        command must not run then: a second delivery could not be recognised)."""
        entry = Entry(kind, STARTED, created=created)
        if acting is not None:
            entry.state = ACTING
            entry.boot_id, entry.process, entry.acted_at = acting
        with self._lock:
            if not self._take(LOCK_WAIT_S):
                STORAGE.report(self.path, UNWRITABLE, HELD_ELSEWHERE)
                raise OSError(f"{self.path} is {HELD_ELSEWHERE}")
            known = self._entries.get(cid)
            if known is not None and (not created or not known.created or known.created == created):
                raise OSError(  # read again once the lock was taken: the other process's
                    f"command {cid} was started by another kiosk app process; not run again"
                )
            self._entries[cid] = entry
            try:
                self._save()
            except OSError:
                del self._entries[cid]
                raise

    def ran(self, cid: int, ok: bool, detail: str, *, file: bool = False) -> Entry:
        """Record the command's result (kept in memory if the disk refuses it)."""
        with self._lock:
            entry = self._entries[cid]
            entry.state, entry.ok, entry.detail, entry.file = RAN, ok, detail, file
            self._save_or_log()
            return entry

    def file_lost(self, cid: int, why: str) -> None:
        """The result's file is gone (`why`: dropped for space, damaged): its report says so."""
        with self._lock:
            entry = self._entries.get(cid)
            if entry is None or not entry.file:
                return
            entry.file, entry.detail = False, f"{entry.detail[:1700]}; {why}"
            self._save_or_log()

    def reported(self, cid: int) -> None:
        """The server has the command's result."""
        with self._lock:
            entry = self._entries.get(cid)
            if entry is None or entry.state == REPORTED:
                return
            entry.state = REPORTED
            self._save_or_log()

    def unreported(self) -> list[int]:
        """Ids of the commands received whose result the server does not have yet, oldest
        first (at most MAX_NAMED, the newest)."""
        with self._lock:
            ids = sorted(cid for cid, e in self._entries.items() if e.state != REPORTED)
        return ids[-MAX_NAMED:]

    def _load(self, owner: bool) -> dict[int, Entry]:
        """The record on disk; a damaged one is kept aside and reported by its owner only."""
        try:
            with self.path.open("rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            STORAGE.report(self.path, DAMAGED, f"unreadable: {exc}")
            return {}
        try:
            if len(raw) > MAX_BYTES:
                raise ValueError(f"over {MAX_BYTES} bytes")
            document = json.loads(raw)
            commands = document["commands"]
            if not isinstance(commands, dict):
                raise TypeError(f"commands is a {type(commands).__name__}")
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            return self._damaged(f"{type(exc).__name__}: {exc}", {}) if owner else {}
        if owner:
            self._unknown = {k: v for k, v in document.items() if k != "commands"}
        entries, wrong = {}, []
        for key, value in commands.items():
            cid = _command_id(key)
            if cid is None:  # nothing to tell a second delivery by: dropped
                wrong.append(repr(key)[:20])
                continue
            entry = _entry(value)
            if entry is None:  # known, so never run again; reported as not known for sure
                wrong.append(key)
                entry = Entry("?", RAN, False, UNREADABLE)
            entries[cid] = entry
        if wrong and owner:
            return self._damaged(
                f"{len(wrong)} unreadable command(s): {', '.join(wrong[:5])}", entries
            )
        return entries

    def _damaged(self, why: str, entries: dict[int, Entry]) -> dict[int, Entry]:
        """Keep the file aside, report it, and write what was read of it in its place."""
        lost = "" if entries else "; commands received again may run again"
        if set_aside_damaged(self.path, why, lost) is None:
            return entries  # left where it was (a read-only folder): nothing written over it
        if entries:
            self._entries = entries
            self._save_or_log()
        return entries

    def _save(self) -> None:
        if not self._owner:  # never over the record of the process that runs the commands
            raise OSError(f"{self.path} is {HELD_ELSEWHERE}")
        newest = sorted(self._entries)[-KEEP:]
        self._entries = {cid: self._entries[cid] for cid in newest}
        commands = {str(cid): self._entries[cid].written() for cid in newest}
        document = self._unknown | {"commands": commands}
        try:
            write_atomically(self.path, json.dumps(document, sort_keys=True).encode())
        except OSError as exc:
            STORAGE.report(self.path, write_problem(exc) or UNWRITABLE, str(exc))
            raise
        STORAGE.writable_again(self.path)

    def _save_or_log(self) -> None:
        try:
            self._save()
        except OSError as exc:  # STORAGE logged it; the entry stays right in memory
            log.warning("commands: record not written (%s); kept in memory", exc)


def _command_id(key: str) -> int | None:
    """A command id as the record writes it (decimal digits, as the server's ids), else None."""
    if key.isascii() and key.isdigit() and len(key) <= 18:
        return int(key)
    return None


_TYPES: dict[str, type] = {  # each field's type, as written
    k: t for k, t in typing.get_type_hints(Entry).items() if k != "unknown"
}


def _entry(value: object) -> Entry | None:
    """An entry as the record writes it, else None (a wrong type would break its report);
    fields this version does not know are kept aside in it (Entry.unknown)."""
    if not isinstance(value, dict) or not {"kind", "state"} <= value.keys():
        return None
    known = {k: v for k, v in value.items() if k in _TYPES}
    if any(type(v) is not _TYPES[k] for k, v in known.items()):
        return None
    if known["state"] not in (STARTED, ACTING, RAN, REPORTED):
        return None
    return Entry(**known, unknown={k: v for k, v in value.items() if k not in _TYPES})


_HELD: dict[Path, list[int]] = {}  # lock file -> [descriptor holding its lock, records]
_HELD_GUARD = threading.Lock()


def _lock_process(lock_path: Path) -> bool:
    """Take the POSIX lock of `lock_path` for this process (every record of the process shares
    it, until the last is gone); True when held, or when none can be taken (a read-only data
    directory: the record's write fails and says why)."""
    with _HELD_GUARD:
        if lock_path in _HELD:
            _HELD[lock_path][1] += 1
            return True
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            log.warning("commands: no lock file %s (%s)", lock_path, exc)
            return True
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        _HELD[lock_path] = [fd, 1]
        return True


def _unlock_process(lock_path: Path) -> None:
    """A record holding the lock is gone: the last one of the process lets it go."""
    with _HELD_GUARD:
        held = _HELD.get(lock_path)
        if held is None:
            return
        held[1] -= 1
        if held[1] <= 0:
            del _HELD[lock_path]
            os.close(held[0])  # closing the descriptor ends the process's POSIX lock
