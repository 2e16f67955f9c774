"""The tree's static checks run with the suite: ruff lint, ruff format and strict mypy.

Their configuration is pyproject.toml's; CI fails on a type or lint error because this test does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.parametrize(
    "command", [("ruff", "check", "."), ("ruff", "format", "--check", ".")], ids=["lint", "format"]
)
def test_ruff(command: tuple[str, ...]) -> None:
    result = _run(*command)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_mypy_strict() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "Success" in result.stdout
