"""Every durable file of the kiosk meets damage: the kiosk opens it, keeps the damaged copy,
recovers what it can row by row, says which file in the health report, and never reissues a
local reference. Real SQLite files; read-only and full disks are real mounts in a private
mount namespace (a child process), since root ignores file modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk_app.domain.ticket import Slot
from kiosk_app.services.durable import STORAGE, open_durable
from kiosk_app.services.health import HealthReporter, RecordingSystemActions
from kiosk_app.services.outbox.records import PENDING, UNREADABLE
from kiosk_app.services.outbox.store import Outbox
from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.sealing import OutboxError
from kiosk_app.services.surveys import SurveyQueue
from tests.services.outbox_rig import ADMIN, KIOSK_ID, client, start_server, submission

ROOT = Path(__file__).resolve().parents[2]
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SLOT = Slot(date.today() + timedelta(days=3), "08.00-10.00")
ROWS = 30
PAGE = 4096
ANSWERS = {f"U{i}": 3 for i in range(1, 10)}


def _zero(path: Path) -> None:
    path.write_bytes(b"")


def _truncate_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(path: Path, start: int, length: int) -> None:
    data = bytearray(path.read_bytes())
    data[start : start + length] = bytes((b ^ 0xA5) for b in data[start : start + length])
    path.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "zero_bytes": _zero,
    "truncated": _truncate_half,
    "header": lambda p: _flip(p, 0, 16),
    "schema_page": lambda p: _flip(p, 100, 900),
    "row_page": lambda p: _flip(p, 2 * PAGE, 40),  # a table page's header and cell pointers
}


def _filled_outbox(path: Path) -> list[str]:
    box = Outbox(path, KEY, KIOSK_ID)
    refs = [box.enqueue(submission(SLOT, n)).local_reference for n in range(ROWS)]
    box.close()  # the last close checkpoints the WAL into the file itself
    assert not path.with_name(path.name + "-wal").exists()
    return refs


def _kept_copies(path: Path) -> list[Path]:
    return sorted(
        p
        for p in path.parent.glob(path.name + ".damaged-*")
        if not p.name.endswith(("-wal", "-shm"))
    )


def _seq(reference: str) -> int:
    return int(reference.rsplit("-", 1)[1])


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_outbox_is_kept_recovered_and_never_reissues_a_reference(
    tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "outbox.db"
    refs = _filled_outbox(path)
    DAMAGE[damage](path)
    damaged_bytes = path.read_bytes()

    box = Outbox(path, KEY, KIOSK_ID)
    try:
        kept = _kept_copies(path)
        assert len(kept) == 1 and kept[0].read_bytes() == damaged_bytes  # kept, byte for byte
        status = STORAGE.status()
        assert status["state"] == "damaged" and "outbox.db" in status["files"]
        recovered = box.entries()
        assert {e.local_reference for e in recovered} <= set(refs)
        if damage == "row_page":  # one damaged page costs its rows, not the others
            assert len(recovered) >= ROWS // 2
            for entry in recovered:
                assert box.submission(entry.id).applicant_name  # still decrypts
        fresh = box.enqueue(submission(SLOT, 99)).local_reference
        assert fresh not in refs and _seq(fresh) > max(_seq(r) for r in refs)
    finally:
        box.close()


def test_the_reference_counter_survives_the_loss_of_the_outbox(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    refs = _filled_outbox(path)
    path.unlink()  # gone entirely: nothing to recover from
    box = Outbox(path, KEY, KIOSK_ID)
    try:
        fresh = box.enqueue(submission(SLOT, 7)).local_reference
        assert _seq(fresh) == max(_seq(r) for r in refs) + 1
    finally:
        box.close()


def test_a_lost_counter_file_is_rebuilt_from_the_outbox(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    refs = _filled_outbox(path)
    _zero(tmp_path / "outbox-references.db")
    box = Outbox(path, KEY, KIOSK_ID)
    try:
        fresh = box.enqueue(submission(SLOT, 7)).local_reference
        assert _seq(fresh) == max(_seq(r) for r in refs) + 1
        assert "outbox-references.db" in STORAGE.status()["files"]
    finally:
        box.close()


def test_one_undecodable_row_no_longer_blocks_the_queue(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    _filled_outbox(path)
    db = open_durable(path, "")
    db.execute("UPDATE outbox SET slot_date='not a date' WHERE id=3")
    db.close()
    box = Outbox(path, KEY, KIOSK_ID)
    try:
        due = box.due(limit=100)
        assert len(due) == ROWS - 1 and 3 not in {e.id for e in due}
        assert box.counts() == {PENDING: ROWS - 1, UNREADABLE: 1}  # set aside, not deleted
        assert "outbox row 3 unreadable" in STORAGE.status()["files"]
        assert len(box.due(limit=100)) == ROWS - 1  # and it stays aside
    finally:
        box.close()


def test_flipped_bytes_inside_rows_cost_those_rows_only(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    _filled_outbox(path)
    size = path.stat().st_size
    _flip(path, size - PAGE // 2, 64)  # inside the last page's cells: the file stays valid
    box = Outbox(path, KEY, KIOSK_ID)
    try:
        readable = unreadable = 0
        for entry in box.entries():
            try:
                box.submission(entry.id)
                readable += 1
            except OutboxError:
                unreadable += 1
        assert readable >= ROWS - 3 and unreadable <= 3
        assert len(_kept_copies(path)) == 1  # the rows on the damaged bytes stay in the copy
    finally:
        box.close()


def test_rows_under_a_wrong_key_are_held_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    _filled_outbox(path)
    box = Outbox(path, OTHER_KEY, KIOSK_ID)
    try:
        entry = box.due(limit=1)[0]
        with pytest.raises(OutboxError):
            box.submission(entry.id)
        assert "does not decrypt" in STORAGE.status()["files"]
    finally:
        box.close()
    again = Outbox(path, KEY, KIOSK_ID)  # the right key back: every row is still there
    try:
        assert all(again.submission(e.id).applicant_name for e in again.entries())
    finally:
        again.close()


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_print_journal_opens_and_keeps_the_copy(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "print-journal.db"
    journal = PrintJournal(path, KIOSK_ID)
    for n in range(40):
        job = journal.record("ticket", f"REF-{n:04d}")
        journal.mark_done(job.id)
    journal.close()
    DAMAGE[damage](path)
    journal = PrintJournal(path, KIOSK_ID)
    try:
        assert journal.recover() == []
        assert len(_kept_copies(path)) == 1
        assert "print-journal.db" in STORAGE.status()["files"]
        if damage == "row_page":
            with pytest.raises(Exception, match="already journalled"):
                journal.record("ticket", "REF-0001")  # a recovered row still guards its ticket
        journal.record("ticket", "REF-NEW")  # and it takes new jobs
    finally:
        journal.close()


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_survey_queue_opens_and_keeps_the_copy(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "surveys.db"
    queue = SurveyQueue(path)
    for _ in range(40):
        queue.enqueue("akta_kelahiran", date.today(), ANSWERS)
    queue.close()
    DAMAGE[damage](path)
    queue = SurveyQueue(path)
    try:
        assert len(_kept_copies(path)) == 1
        assert "surveys.db" in STORAGE.status()["files"]
        if damage == "row_page":
            assert len(queue.due(limit=100)) >= 20
        queue.enqueue("akta_kelahiran", date.today(), ANSWERS)
    finally:
        queue.close()


# -- read-only and full disks: real mounts in a child's private mount namespace ---------------

CHILD = textwrap.dedent("""
    import json, sys
    from datetime import date, timedelta
    from pathlib import Path
    from kiosk_app.domain.ticket import Slot
    from kiosk_app.services.durable import STORAGE, StorageError
    from kiosk_app.services.outbox.store import Outbox
    from kiosk_app.services.printing.journal import PrintJournal
    from tests.services.outbox_rig import ADMIN, KIOSK_ID, client, start_server, submission
    folder = Path(sys.argv[1])
    slot = Slot(date.today() + timedelta(days=3), "08.00-10.00")
    result = {"stored": 0, "refused": None}
    box = Outbox(folder / "outbox.db", bytes(range(32)), KIOSK_ID)
    journal = PrintJournal(folder / "print-journal.db", KIOSK_ID)
    journal.recover()
    try:
        for n in range(100000):
            box.enqueue(submission(slot, n, name="X" * 2000))
            result["stored"] += 1
    except StorageError as exc:
        result["refused"] = {"problem": exc.problem, "names_file": "outbox" in str(exc)}
    result["pending_after"] = box.depth()
    result["health"] = STORAGE.status()
    print(json.dumps(result))
""")


def _in_namespace(folder: Path, mount: str, child: str = CHILD, *args: str) -> dict[str, Any]:
    """Run `child` with `folder` re-mounted by the shell snippet `mount`; its JSON answer."""
    script = f'{mount} && exec {sys.executable} -c "$CHILD" {folder} {" ".join(args)}'
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        env={**os.environ, "CHILD": child, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_read_only_data_folder_keeps_the_kiosk_up_and_refuses_to_store(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    folder.mkdir()
    _filled_outbox(folder / "outbox.db")
    result = _in_namespace(
        folder, f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
    )
    assert result["stored"] == 0
    assert result["refused"] == {"problem": "unwritable", "names_file": True}
    health = result["health"]
    assert isinstance(health, dict) and health["state"] == "unwritable"
    assert "outbox.db" in health["files"] and "print-journal.db" in health["files"]
    box = Outbox(folder / "outbox.db", KEY, KIOSK_ID)  # nothing was lost meanwhile
    try:
        assert box.depth() == ROWS
    finally:
        box.close()


def test_a_full_disk_refuses_the_submission_and_keeps_every_stored_one(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    folder.mkdir()
    result = _in_namespace(folder, f"mount -t tmpfs -o size=600k tmpfs {folder}")
    assert isinstance(result["stored"], int) and result["stored"] > 0
    assert result["refused"] == {"problem": "full", "names_file": True}
    assert result["pending_after"] == result["stored"]  # every acknowledged row still there
    health = result["health"]
    assert isinstance(health, dict) and health["state"] == "full"


def test_the_fleet_raises_a_storage_alert_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    _filled_outbox(path)
    _truncate_half(path)
    server = start_server(tmp_path / "central.db")
    box = Outbox(path, KEY, KIOSK_ID)
    try:
        health = HealthReporter(
            central=client(server.base_url),
            devices={"storage": STORAGE},
            app_version="test",
            data_dir=tmp_path,
            system=RecordingSystemActions(),
        )
        health.beat_once()
        fleet = requests.get(
            f"{server.base_url}/api/v1/fleet/kiosks",
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=10,
        )
        mine = {k["kiosk_id"]: k for k in fleet.json()}[KIOSK_ID]
        assert "storage_fault" in mine["alerts"]
        assert mine["devices"]["storage"]["state"] == "damaged"
        assert "outbox.db" in mine["devices"]["storage"]["files"]
    finally:
        box.close()
        server.stop()


def test_a_full_disk_alert_clears_once_a_write_succeeds_again(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    folder.mkdir()
    script = textwrap.dedent("""
        import json, sys
        from pathlib import Path
        from kiosk_app.services.durable import STORAGE, StorageError
        from kiosk_app.services.surveys import SurveyQueue
        folder = Path(sys.argv[1])
        queue = SurveyQueue(folder / "surveys.db")
        ballast = folder / "ballast"
        answers = {f"U{i}": 3 for i in range(1, 10)}
        try:
            with ballast.open("wb") as handle:
                while True:
                    handle.write(b"x" * 4096)
                    handle.flush()
        except OSError:
            pass
        states = []
        try:
            for _ in range(1000):
                queue.enqueue("akta_kelahiran", __import__("datetime").date.today(), answers)
        except StorageError:
            states.append(STORAGE.status()["state"])
        ballast.unlink()
        queue.enqueue("akta_kelahiran", __import__("datetime").date.today(), answers)
        states.append(STORAGE.status()["state"])
        print(json.dumps(states))
    """)
    done = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            f"mount -t tmpfs -o size=400k tmpfs {folder} && "
            f'exec {sys.executable} -c "$SCRIPT" {folder}',
        ],
        env={**os.environ, "SCRIPT": script, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["full", "ok"]


def test_one_undecodable_survey_no_longer_blocks_the_queue(tmp_path: Path) -> None:
    path = tmp_path / "surveys.db"
    queue = SurveyQueue(path)
    for _ in range(5):
        queue.enqueue("akta_kelahiran", date.today(), ANSWERS)
    queue.close()
    db = open_durable(path, "")
    db.execute("UPDATE surveys SET answers='{not json' WHERE id=2")
    db.close()
    queue = SurveyQueue(path)
    try:
        assert [r.id for r in queue.due()] == [1, 3, 4, 5]
        assert [r.id for r in queue.due()] == [1, 3, 4, 5]
        assert "survey row 2 unreadable" in STORAGE.status()["files"]
    finally:
        queue.close()


STORE_CHILD = textwrap.dedent("""
    import json, sys
    from datetime import date
    from pathlib import Path
    from kiosk_app.services.durable import STORAGE, StorageError
    from kiosk_app.services.printing.journal import PrintJournal
    from kiosk_app.services.surveys import SurveyQueue
    folder, kind = Path(sys.argv[1]), sys.argv[2]
    answers = {f"U{i}": 3 for i in range(1, 10)}
    result = {"stored": 0, "refused": None}
    if kind == "journal":
        store = PrintJournal(folder / "print-journal.db", "KIOSK-T")
        store.recover()
        write = lambda n: store.record("receipt", f"REF-{n:06d}", payload="p" * 4000)
    elif kind == "leases":
        from datetime import UTC, datetime
        from kiosk_app.central import Lease
        from kiosk_app.domain.ticket import Slot
        from kiosk_app.services.leases import LeaseStore
        store = LeaseStore(folder / "leases.db")
        until = datetime(2031, 1, 1, tzinfo=UTC)
        big = Lease("L-1", "akta_kelahiran", Slot(date(2030, 1, 7), "08.00-11.00"), 10**9, 0,
                    until, until)
        def write(n):
            if n == 0:
                store.replace([big])
            store.book("L-1", f"key-{n}", f"LOK-{n}", lambda _lease: "s" * 2000)
    else:
        store = SurveyQueue(folder / "surveys.db")
        write = lambda n: store.enqueue("akta_kelahiran", date.today(), answers)
    try:
        for n in range(100000):
            write(n)
            result["stored"] += 1
    except StorageError as exc:
        result["refused"] = {"problem": exc.problem, "names_file": exc.path.name}
    result["health"] = STORAGE.status()
    print(json.dumps(result))
""")
MOUNTS = {
    "read_only": "mount --bind {0} {0} && mount -o remount,bind,ro {0}",
    "full": "mount -t tmpfs -o size=400k tmpfs {0}",
}


@pytest.mark.parametrize("mount", sorted(MOUNTS))
@pytest.mark.parametrize(
    ("kind", "file"),
    [("journal", "print-journal.db"), ("surveys", "surveys.db"), ("leases", "leases.db")],
)
def test_the_journal_the_survey_queue_and_the_leases_refuse_writes_naming_their_file(
    tmp_path: Path, mount: str, kind: str, file: str
) -> None:
    folder = tmp_path / "var"
    folder.mkdir()
    result = _in_namespace(folder, MOUNTS[mount].format(folder), STORE_CHILD, kind)
    problem = "unwritable" if mount == "read_only" else "full"
    assert result["refused"] == {"problem": problem, "names_file": file}
    assert (result["stored"] == 0) == (mount == "read_only")  # a full disk took some first
    assert result["health"]["state"] == problem and file in result["health"]["files"]


RECORD_CHILD = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from kiosk_app.services.command_record import FILE_NAME, CommandRecord
    from kiosk_app.services.durable import STORAGE
    record = CommandRecord(Path(sys.argv[1]) / FILE_NAME)
    result = {"known": sorted(record._entries), "refused": None}
    try:
        record.start(99, "reboot")
    except OSError as exc:
        result["refused"] = str(exc)
    result["health"] = STORAGE.status()
    print(json.dumps(result))
""")


@pytest.mark.parametrize("record", [b'{"commands": {"7": {"kind": "reboot"', b'{"commands": {}}'])
def test_a_read_only_data_folder_starts_the_command_record_and_runs_nothing(
    tmp_path: Path, record: bytes
) -> None:
    """The fleet command record (kiosk_app.services.command_record) on a read-only data folder,
    damaged (it cannot be moved aside) or not: the kiosk starts, no command runs (it could not
    be recorded), and the health report says why, naming the file."""
    folder = tmp_path / "var"
    folder.mkdir()
    (folder / "fleet-commands.json").write_bytes(record)
    result = _in_namespace(
        folder,
        f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}",
        RECORD_CHILD,
    )
    assert result["known"] == [] and "Read-only file system" in str(result["refused"])
    health = result["health"]
    assert isinstance(health, dict) and "fleet-commands.json" in health["files"]
    assert health["state"] == "unwritable"
    assert (folder / "fleet-commands.json").read_bytes() == record  # left as it was
