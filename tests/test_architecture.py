"""Dependencies point inward: the tree's import rules, checked on the source."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IO_LIBRARIES = {"kivy", "smartcard", "serial", "cups", "sane", "requests", "escpos", "fastapi",
                "sqlalchemy", "PIL", "reportlab", "qrcode", "uvicorn"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _files("kiosk_app/domain"), ids=lambda p: p.name)
def test_domain_imports_only_the_standard_library(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or name.startswith("kiosk_app.domain"), (
            f"{path.relative_to(ROOT)} imports {name}"
        )


@pytest.mark.parametrize("package", ["kiosk_app/domain", "kiosk_app/services", "drivers",
                                     "central_server"])
def test_only_the_ui_imports_kivy(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _files(package)
        for name in _imports(path)
        if name.split(".")[0] == "kivy"
    ]
    assert offenders == []


def test_services_reach_devices_only_through_protocols_and_errors() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _files("kiosk_app/services")
        for name in _imports(path)
        if name.startswith("drivers.")
        and not (name.endswith(".protocol") or name == "drivers.errors")
    ]
    assert offenders == []


def test_io_libraries_never_enter_the_domain() -> None:
    used = {n.split(".")[0] for p in _files("kiosk_app/domain") for n in _imports(p)}
    assert used & IO_LIBRARIES == set()
