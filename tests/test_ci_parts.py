"""CI's parts (.ci/pytest-parallel): every test file of the suite runs in exactly one of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_file_is_in_exactly_one_part() -> None:
    listed = subprocess.run(
        ["bash", ROOT / ".ci" / "pytest-parallel", "--list-parts"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    parts = []
    for line in listed:
        words = line.split()
        ignored = [ROOT / w.removeprefix("--ignore=") for w in words if w.startswith("--ignore=")]
        paths = [ROOT / w for w in words if not w.startswith("-")]
        assert paths and all(p.exists() for p in [*paths, *ignored]), line
        parts.append((line, paths, ignored))

    def runs(part: tuple[str, list[Path], list[Path]], test: Path) -> bool:
        _, paths, ignored = part
        inside = [test, *test.parents]
        return any(p in inside for p in paths) and not any(i in inside for i in ignored)

    # pytest's default python_files (pyproject.toml sets none) under its testpaths
    tests = sorted({*ROOT.glob("tests/**/test_*.py"), *ROOT.glob("tests/**/*_test.py")})
    assert len(tests) > 100
    placed = {t.relative_to(ROOT): [p[0] for p in parts if runs(p, t)] for t in tests}
    assert {t: where for t, where in placed.items() if len(where) != 1} == {}


HANGS = """
import threading, time

def test_waits_for_ever():
    threading.Event().wait(60)  # a test waiting for something that never comes
"""


def test_a_hung_test_ends_the_run_with_its_stacks_in_the_output(tmp_path: Path) -> None:
    """The suite's own settings (pyproject.toml), the hang limit shortened to a second: the
    run ends and what was waiting is in the part's output, not in a capture file lost with
    the process (CI once saw a part stop after `tests/ui/test_watchdog.py ` and nothing more)."""
    (tmp_path / "test_hangs.py").write_text(HANGS)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(tmp_path), "-p", "no:cacheprovider", "-o", "faulthandler_timeout=1",
         str(tmp_path / "test_hangs.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=50,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "Timeout (0:00:01)!" in output, output
    assert 'test_hangs.py", line 5 in test_waits_for_ever' in output, output
