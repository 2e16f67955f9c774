"""No import cycle between central_server modules, imports inside functions included."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "central_server"


def module_name(path: Path) -> str:
    """central_server/fleet/api.py -> central_server.fleet.api (__init__ names the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the package (the alembic scripts are not imported by it)."""
    return {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that `name` imports anywhere in its body (functions included)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the module pkg.mod; `from mod import x` imports mod
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        for target in targets:
            while target and target not in known:  # `from mod import name`: the module
                target = target.rpartition(".")[0]
            found |= _with_packages(target, name, known)
    return found


def _with_packages(target: str, importer: str, known: set[str]) -> set[str]:
    """`target` and the packages whose __init__ importing it runs (a.b.c runs a and a.b),
    but not the importer's own packages: those are already being imported."""
    running = {importer}
    parent = importer
    while parent:
        parent = parent.rpartition(".")[0]
        running.add(parent)
    chain: set[str] = set()
    while target:
        if target in known and target not in running:
            chain.add(target)
        target = target.rpartition(".")[0]
    return chain


def graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    found = modules()
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (depth-first search, colouring)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_cycle_finder_reports_a_late_import_cycle() -> None:
    tree = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(tree) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_late_and_package_imports() -> None:
    edges = graph()
    assert "central_server.db" in edges["central_server.app"]
    # serve.py imports the app inside a function: such imports count too
    assert "central_server.app" in edges["central_server.serve"]
    # importing central_server.fleet.api runs central_server.fleet's __init__ first
    assert "central_server.fleet" in edges["central_server.routers.fleet"]
    assert "central_server.fleet" not in edges["central_server.fleet.api"]


def test_no_import_cycle_between_central_server_modules() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_shared_settings_import_only_the_standard_library() -> None:
    """The kiosk imports central_server.settings at start-up: it must stay cheap."""
    tree = ast.parse((ROOT / PACKAGE / "settings.py").read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {n.split(".")[0] for n in names} <= sys.stdlib_module_names
