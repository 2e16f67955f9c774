"""The fault benchmark's whole-kiosk matrices: storage faults and damaged durable files, each
kiosk in a child's private mount namespace (benchmarks/faults.py runs them and prints the JSON)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks.fault_matrices import HANG_S
from kiosk_app.services.session.submission import STORAGE_REFUSED
from tests.services.outbox_rig import server_with_application
from tests.services.test_kiosk_storage_faults import kiosk_in_namespace


def storage_matrix(results: list[dict[str, Any]]) -> None:
    """The whole kiosk on broken storage, each in a child's private mount namespace."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server, number = server_with_application(root / "central.db")
        try:
            for name in (
                "read-only data folder",
                "full data disk",
                "outbox key missing",
                "outbox key damaged",
            ):
                case = root / name.replace(" ", "-")
                case.mkdir()
                folder = case / "var"
                key = case / "outbox.key"
                mount, fill = "", False
                if name == "read-only data folder":
                    mount = (
                        f"mkdir -p '{folder}' && mount --bind '{folder}' '{folder}' && "
                        f"mount -o remount,bind,ro '{folder}'"
                    )
                elif name == "full data disk":
                    mount, fill = (
                        f"mkdir -p '{folder}' && mount -t tmpfs -o size=2m tmpfs '{folder}'",
                        True,
                    )
                if name == "outbox key damaged":
                    key.write_bytes(b"not a key\n")
                elif name != "outbox key missing":
                    key.write_bytes(bytes(range(32)))
                try:
                    got = kiosk_in_namespace(case, (server, number), mount, key_file=key, fill=fill)
                except Exception as exc:  # a kiosk that did not start or answer is a finding
                    results.append(_hung(name, "storage", exc))
                    continue
                lost = bool(got["outcome"])  # acknowledged although nothing could be stored
                message = str(got["message_en"] or "")
                verdict = "told" if message.startswith(STORAGE_REFUSED.en) else "untold"
                results.append(
                    {
                        "fault": name,
                        "kind": "storage",
                        "verdict": verdict,
                        "lost": lost,
                        "time_to_message_s": got["told_s"],
                    }
                )
        finally:
            server.stop()


def damaged_file_matrix(results: list[dict[str, Any]]) -> None:
    """The whole kiosk starting on damaged durable files, then serving a citizen."""
    from datetime import date

    from kiosk_app.services.printing.journal import PrintJournal
    from kiosk_app.services.surveys import SurveyQueue
    from tests.services.test_durable_files import DAMAGE, _filled_outbox

    def journal(path: Path) -> None:
        PrintJournal(path, "KIOSK-3517-SF").close()

    def surveys(path: Path) -> None:
        queue = SurveyQueue(path)
        for _ in range(5):
            queue.enqueue("akta_kelahiran", date.today(), {f"U{i}": 3 for i in range(1, 10)})
        queue.close()

    cases: list[tuple[str, Any, str]] = [("outbox.db", _filled_outbox, d) for d in sorted(DAMAGE)]
    cases += [
        (f, make, d)
        for f, make in (("print-journal.db", journal), ("surveys.db", surveys))
        for d in ("zero_bytes", "truncated", "header")
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server, number = server_with_application(root / "central.db")
        try:
            for file, make, damage in cases:
                name = f"{file} {damage}"
                case = root / name.replace(" ", "-")
                (case / "var").mkdir(parents=True)
                make(case / "var" / file)
                DAMAGE[damage](case / "var" / file)
                readable = _readable_refs(case / "var" / file) if file == "outbox.db" else set()
                key = case / "outbox.key"
                key.write_bytes(bytes(range(32)))
                try:
                    got = kiosk_in_namespace(case, (server, number), "", key_file=key)
                except Exception as exc:
                    results.append(_hung(name, "damaged file", exc))
                    continue
                verdict = "told" if got["outcome"] and got["status_found"] == number else "untold"
                # lost: a row any reader gets from the damaged file that the kiosk did not bring
                # back (it may have sent it since: the outbox keeps sent rows too)
                missing = readable - _outbox_refs(case / "var" / file) if readable else set()
                results.append(
                    {
                        "fault": name,
                        "kind": "damaged file",
                        "verdict": verdict,
                        "time_to_message_s": got["told_s"],
                        "lost": bool(missing),
                        "readable_rows": len(readable),
                        **(
                            {"error": f"{len(missing)} readable row(s) not recovered"}
                            if missing
                            else {}
                        ),
                    }
                )
        finally:
            server.stop()


def _hung(fault: str, kind: str, exc: Exception) -> dict[str, Any]:
    """The row of a case whose kiosk did not start or answer: a finding, not a crash."""
    return {
        "fault": fault,
        "kind": kind,
        "verdict": "hung",
        "error": str(exc)[:300],
        "time_to_message_s": HANG_S,
    }


def _readable_refs(path: Path) -> set[str]:
    """The local references an independent reader gets from a damaged outbox file, row by row
    (plain sqlite3, no recovery of ours): the floor of what must come back."""
    import sqlite3

    found: set[str] = set()
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return found
    try:
        for rowid in range(1, 200):
            try:
                row = db.execute(
                    "SELECT local_reference FROM outbox WHERE rowid=?", (rowid,)
                ).fetchone()
            except sqlite3.Error:
                continue
            if row and isinstance(row[0], str):
                found.add(row[0])
    finally:
        db.close()
    return found


def _outbox_refs(path: Path) -> set[str]:
    """Every local reference in the kiosk's outbox after its start (pending or sent)."""
    from kiosk_app.services.outbox.store import Outbox

    box = Outbox(path, bytes(range(32)), "KIOSK-3517-SF")
    try:
        return {entry.local_reference for entry in box.entries()}
    finally:
        box.close()
