"""Dependencies point inward: the tree's import rules, checked on the source."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IO_LIBRARIES = {
    "kivy",
    "smartcard",
    "serial",
    "cups",
    "sane",
    "requests",
    "escpos",
    "fastapi",
    "sqlalchemy",
    "PIL",
    "reportlab",
    "qrcode",
    "uvicorn",
}


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


@pytest.mark.parametrize(
    "package", ["kiosk_app/domain", "kiosk_app/services", "drivers", "central_server"]
)
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


def _classes(package: str) -> list[tuple[Path, ast.ClassDef]]:
    return [
        (path, node)
        for path in _files(package)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
    ]


def _base_name(base: ast.expr) -> str:
    """`Foo`, `mod.Foo` and `Foo[T]` all name Foo."""
    if isinstance(base, ast.Subscript):
        base = base.value
    if isinstance(base, ast.Attribute):
        return base.attr
    return base.id if isinstance(base, ast.Name) else ""


MIXIN_LIKE = ("Mixin", "Behavior")  # ours, and Kivy's behaviours (ButtonBehavior, ...)


@pytest.mark.parametrize("package", ["kiosk_app/services", "drivers", "central_server"])
def test_services_drivers_and_server_compose_instead_of_mixing_in(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {node.name}({_base_name(base)})"
        for path, node in _classes(package)
        for base in node.bases
        if _base_name(base).endswith("Mixin")
    ]
    assert offenders == []


def test_no_class_has_more_than_two_mixin_like_bases() -> None:
    counts = {
        f"{path.relative_to(ROOT)}: {node.name}": sum(
            _base_name(base).endswith(MIXIN_LIKE) for base in node.bases
        )
        for path, node in _classes("kiosk_app")
    }
    assert {name: n for name, n in counts.items() if n > 2} == {}
    assert counts["kiosk_app/ui/widgets/field.py: FieldRow"] == 1  # the check sees bases


# What kiosk_app/ui may take from the services besides the view models: the objects bootstrap
# hands it, as types only (module, the file importing it, the names).
UI_SERVICE_TYPES = {
    ("kiosk_app.services.session.service", "kiosk_app/ui/bridge.py"): {"SessionService"},
    ("kiosk_app.services.session.service", "kiosk_app/ui/screens/base.py"): {"SessionService"},
    ("kiosk_app.services.attendant.service", "kiosk_app/ui/widgets/attendant.py"): {
        "AttendantService"
    },
    ("kiosk_app.services.attendant.service", "kiosk_app/ui/widgets/attendant_panel.py"): {
        "AttendantService"
    },
    ("kiosk_app.services.audio", "kiosk_app/ui/widgets/a11y.py"): {"AudioGuidance"},
}


def test_the_ui_imports_view_models_from_one_module() -> None:
    offenders = []
    for path in _files("kiosk_app/ui"):
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                taken = [(alias.name, "*") for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                taken = [(node.module, alias.name) for alias in node.names]
            else:
                continue
            offenders += [
                f"{where}: {module}.{name}"
                for module, name in taken
                if module.startswith("kiosk_app.services")
                and module != "kiosk_app.services.session.views"
                and name not in UI_SERVICE_TYPES.get((module, where), set())
            ]
    assert offenders == []


CALL_IN_KV = re.compile(r"""\broot\.call\(\s*["'](\w+)["']""")
SESSION_IN_KV = re.compile(r"""\b(?:app|root)\.session\.(\w+)""")
CALL_IN_PY = re.compile(r"""\bself\.call\(\s*["'](\w+)["']|\bsession\.(\w+)\(""")


def test_every_session_method_a_kv_file_names_exists_on_the_facade() -> None:
    from kiosk_app.services.session.service import SessionService

    named: dict[str, str] = {}
    for path in sorted((ROOT / "kiosk_app/ui").rglob("*.kv")):
        text = path.read_text(encoding="utf-8")
        for name in CALL_IN_KV.findall(text) + SESSION_IN_KV.findall(text):
            named.setdefault(name, str(path.relative_to(ROOT)))
    for path in _files("kiosk_app/ui"):  # Python handlers call by name, or call it directly
        for by_name, direct in CALL_IN_PY.findall(path.read_text(encoding="utf-8")):
            named.setdefault(by_name or direct, str(path.relative_to(ROOT)))
    assert len(named) >= 35, sorted(named)  # the patterns still find the handlers
    missing = {
        name: where
        for name, where in named.items()
        if not callable(getattr(SessionService, name, None))
    }
    assert missing == {}


# The session's shared modules; a journey may import these and its own helper, never another
# journey (what it needs of one is a Protocol in ports.py, wired by the facade).
SESSION_SHARED = {"core", "ports", "hooks", "views"}
SESSION_HELPERS = {
    "card_holder": {"desk"},
    "status": {"status_check"},
    "desk": {"status_check"},
    "checkin": {"number_entry", "checkin_words"},
}
SESSION_JOURNEYS = (
    "assisted",
    "card",
    "card_holder",
    "checkin",
    "form",
    "opening_hours",
    "result",
    "scan",
    "schedule",
    "status",
    "submission",
    "survey",
)


@pytest.mark.parametrize("journey", SESSION_JOURNEYS)
def test_a_journey_imports_no_other_journey(journey: str) -> None:
    prefix = "kiosk_app.services.session."
    used = {
        name.removeprefix(prefix)
        for name in _imports(ROOT / f"kiosk_app/services/session/{journey}.py")
        if name.startswith(prefix)
    }
    assert "core" in used  # built with the core
    assert used - SESSION_SHARED - SESSION_HELPERS.get(journey, set()) == set()


def test_only_the_facade_builds_journeys() -> None:
    journeys = {f"kiosk_app.services.session.{name}" for name in SESSION_JOURNEYS}
    importers = {
        str(path.relative_to(ROOT)) for path in _files("kiosk_app") if _imports(path) & journeys
    }
    assert importers == {"kiosk_app/services/session/service.py"}
