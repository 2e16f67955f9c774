"""No import cycle between central_server modules, imports inside functions included."""

from __future__ import annotations

import ast
import functools
import json
import subprocess
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


def import_statements(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every import in the file, functions included; `import a` is (a, [])."""
    is_package = path.name == "__init__.py"
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.append((base, [alias.name for alias in node.names]))
    return found


@functools.cache
def parsed() -> dict[str, list[tuple[str, list[str]]]]:
    """import_statements of every module, parsed in a child process."""
    # Not here: CPython 3.11 shares the AST constructor's recursion counter between threads
    # (python/cpython#106905), so a test server's thread formatting a traceback (3.11 finds
    # its carets with ast.parse) at the same moment made ast.parse fail in this process.
    out = subprocess.run(
        [sys.executable, __file__],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {
        name: [(base, names) for base, names in statements]
        for name, statements in json.loads(out.stdout).items()
    }


def imported(name: str, statements: list[tuple[str, list[str]]], known: set[str]) -> set[str]:
    """The package's modules that `name` imports (and the packages that importing them runs)."""
    found: set[str] = set()
    for base, names in statements:
        # `from pkg import mod` imports the module pkg.mod; `from mod import x` imports mod
        targets = [f"{base}.{n}" if f"{base}.{n}" in known else base for n in names] or [base]
        for target in targets:
            while target and target not in known:  # a name in a module, or outside modules
                target = target.rpartition(".")[0]
            found |= _with_packages(target, name, known)
    return found


def _with_packages(target: str, importer: str, known: set[str]) -> set[str]:
    """`target` and the packages it runs first (a.b.c runs a and a.b), but not the importer's."""
    # the importer's own packages are already being imported: no new edge
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
    statements = parsed()
    return {name: imported(name, found, set(statements)) for name, found in statements.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (depth-first search, colouring)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
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
    statements = parsed()[f"{PACKAGE}.settings"]
    assert {base.split(".")[0] for base, _ in statements} <= sys.stdlib_module_names


if __name__ == "__main__":  # the child process of parsed()
    print(json.dumps({name: import_statements(name, path) for name, path in modules().items()}))
