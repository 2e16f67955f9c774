"""Files the kiosk replaces by renaming (seal keys, a rotation's swap, pushed settings, the
region tree) keep their new name across a power cut: every rename is followed by an fsync of
its folder, and a new key file's folder is synced too. Seen in the real system calls (strace)
of a child process doing each step."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

STEPS = """
import sys
from pathlib import Path
from kiosk_app.services import durable, sealing, seal_key
folder = Path(sys.argv[1])
(folder / "a").write_bytes(b"a")
durable.replace(folder / "a", folder / "b")
durable.write_atomically(folder / "settings.json", b"{}")
sealing.write_new_secret(folder / "keys" / "outbox.key")
key = folder / "signing.key"
sealing.write_new_secret(seal_key.beside(key, seal_key.NEXT))
seal_key._finish_swap(key)  # a swap cut short: the successor moved in
print("done")
"""

TRACED = "openat,rename,renameat,renameat2,fsync"
SYSCALL = re.compile(r"^\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)")


def _trace(tmp_path: Path) -> list[tuple[str, str, int]]:
    log = tmp_path / "strace.log"
    folder = tmp_path / "kiosk"
    folder.mkdir()
    done = subprocess.run(
        ["strace", "-f", "-qq", "-o", str(log), "-e", f"trace={TRACED}",
         sys.executable, "-c", STEPS, str(folder)],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "done"
    calls = []
    for line in log.read_text().splitlines():
        match = SYSCALL.match(line)
        if match:
            calls.append((match[1], match[2], int(match[3])))
    return calls


def _synced_after(calls: list[tuple[str, str, int]], start: int, folder: Path) -> bool:
    """An fsync of a descriptor opened on `folder` (O_DIRECTORY) after call `start`."""
    opened: set[int] = set()
    for name, args, result in calls[start + 1 :]:
        if name == "openat" and f'"{folder}"' in args and "O_DIRECTORY" in args and result >= 0:
            opened.add(result)
        elif name == "fsync" and int(args) in opened:
            return True
    return False


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace (apt: strace) not installed")
def test_every_rename_and_new_key_is_followed_by_an_fsync_of_its_folder(tmp_path: Path) -> None:
    calls = _trace(tmp_path)
    folder = tmp_path / "kiosk"
    renames = [
        (i, args) for i, (name, args, result) in enumerate(calls) if name.startswith("rename")
    ]
    targets = [re.findall(r'"([^"]+)"', args)[-1] for _, args in renames]
    # durable.replace, write_atomically's rename, the swap's move of signing.key.next
    assert [Path(t).name for t in targets] == ["b", "settings.json", "signing.key"]
    for (i, _), target in zip(renames, targets, strict=True):
        assert _synced_after(calls, i, Path(target).parent), f"rename to {target} not synced"
    for key in (folder / "keys" / "outbox.key", folder / "signing.key.next"):
        created = next(
            i
            for i, (name, args, _) in enumerate(calls)
            if name == "openat" and f'"{key}"' in args and "O_CREAT" in args
        )
        assert _synced_after(calls, created, key.parent), f"{key.name}: its folder not synced"
    assert (folder / "signing.key").exists() and not (folder / "signing.key.next").exists()
