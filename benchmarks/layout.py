"""Layout check over every screen in both languages and both modes, on the real Kivy widgets.

Renders each screen's sample view headless (tests/ui/screen_samples.py) and counts, with
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
sys.path.insert(0, str(ROOT))

from kiosk_app.ui.kivy_env import prepare_kivy  # noqa: E402

prepare_kivy(headless=True, kivy_home=Path(tempfile.mkdtemp(prefix="anjungan-layout-")))


def main() -> None:
    """Render every screen and print the findings and the counts."""
    from tests.ui.layout_check import shrunk
    from tests.ui.screen_samples import render_all

    with tempfile.TemporaryDirectory(prefix="anjungan-layout-") as tmp:
        rendered = render_all(Path(tmp))
    counts = {"screens": len(rendered), "clipped": 0, "shrunk_in_large": 0, "off_window": 0,
              "covered": 0}
    for (screen, mode, lang), record in sorted(rendered.items()):
        layout = record.layout
        assert layout is not None
        found = {"clipped": layout.clipped, "off_window": layout.off_window,
                 "covered": layout.covered}
        if mode == "large":
            normal = rendered[(screen, "normal", lang)].layout
            assert normal is not None
            found["shrunk_in_large"] = shrunk(normal, layout)
        for kind, items in found.items():
            counts[kind] += len(items)
            for item in items:
                print(f"{kind}: {lang}-{mode}/{screen}: {item}")
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
