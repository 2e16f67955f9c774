"""Helper that loads a widget's .kv file from beside its module, once."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder

_loaded: set[str] = set()


def load_kv(module_file: str) -> None:
    """Load the .kv file next to `module_file` (absolute path), at most once per process."""
    path = str(Path(module_file).resolve().with_suffix(".kv"))
    if path in _loaded or not Path(path).is_file():
        return
    _loaded.add(path)
    Builder.load_file(path)
