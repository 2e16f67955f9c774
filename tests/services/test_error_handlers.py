"""No code reads an attribute off an exception class that only its instances have (as
`CentralError.citizen_message` once did in an error handler, raising AttributeError there)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kiosk_app/services", "kiosk_app/domain", "drivers")
TOP_FILES = (
    "kiosk_app/bootstrap.py",
    "kiosk_app/central.py",
    "kiosk_app/central_transport.py",
    "kiosk_app/config.py",
)


def _modules() -> list[tuple[str, Path]]:
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    files += [ROOT / name for name in TOP_FILES]
    return [
        (".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"), p)
        for p in sorted(files)
    ]


def _wrong_uses(module: object, source: str) -> tuple[int, list[str]]:
    """(exception-class attribute reads found, those the class itself lacks) in `source`."""
    checked, wrong = 0, []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        cls = getattr(module, node.value.id, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            checked += 1
            if not hasattr(cls, node.attr):
                wrong.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return checked, wrong


def test_the_check_catches_an_instance_only_attribute() -> None:
    central = importlib.import_module("kiosk_app.central")
    handler = "try:\n    pass\nexcept Exception:\n    m = CentralError.citizen_message\n"
    assert _wrong_uses(central, handler) == (1, ["4: CentralError.citizen_message"])
    assert _wrong_uses(central, "m = CentralError.default_message") == (1, [])


def test_exception_classes_are_only_asked_for_their_class_attributes() -> None:
    checked, wrong = 0, []
    for name, path in _modules():
        try:
            module = importlib.import_module(name)
        except ImportError:  # an optional device library (pyscard, cups, sane) is absent
            continue
        found, bad = _wrong_uses(module, path.read_text(encoding="utf-8"))
        checked += found
        wrong += [f"{path.relative_to(ROOT)}:{where}" for where in bad]
    assert checked >= 2  # the handlers that read DeviceError's class message
    assert wrong == []
