"""Layout check over every screen in both languages and both modes, on the real Kivy widgets.

Renders each screen's sample view and every page of every form with each field's editor
headless (tests/ui/screen_samples.py) and counts, with
tests/ui/layout_check.py: texts that do not fit their box (spilling, shortened, broken inside a
word), widgets reaching outside the window, controls drawn over one another, and texts smaller in
large-text mode than in the normal one. Prints each finding, then one JSON line:
{"screens", "clipped", "shrunk_in_large", "off_window", "covered"}.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(ROOT))

from kiosk_app.ui.kivy_env import prepare_kivy  # noqa: E402

prepare_kivy(headless=True, kivy_home=Path(tempfile.mkdtemp(prefix="anjungan-layout-")))


def main() -> None:
    """Render every screen and print the findings and the counts."""
    from tests.ui.layout_check import all_layouts, count
    from tests.ui.screen_samples import FORM_LAYOUTS, render_all

    with tempfile.TemporaryDirectory(prefix="anjungan-layout-") as tmp:
        rendered = render_all(Path(tmp))
    counts, lines = count(all_layouts(rendered, FORM_LAYOUTS))
    for line in lines:
        print(line)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
