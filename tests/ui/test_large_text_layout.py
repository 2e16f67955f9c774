"""Large-text mode lays every screen out so its text really is larger, not squeezed back down."""

from __future__ import annotations

from pathlib import Path

from kiosk_app.ui.theme import LARGE_TEXT_SCALE
from tests.ui.screen_samples import render_all

# A button's text may shrink to fit (BigButton.fit_scale), but in large-text mode never below 80 %
# of its role's size: 0.8 x 1.3 = 1.04, so shrunk text is still larger than the normal mode's
# unshrunk text. The max() keeps that promise should the large-text scale ever change.
MIN_LARGE_FIT = max(0.8, 1.0 / LARGE_TEXT_SCALE + 0.01)


def test_large_text_buttons_keep_at_least_80_percent_of_their_size(artifacts: Path) -> None:
    rendered = render_all(artifacts)
    shrunk = [
        f"{s}/{lang}: {name!r} fit {fit:.2f}"
        for (s, mode, lang), record in rendered.items()
        if mode == "large"
        for name, fit in record.fits
        if fit < MIN_LARGE_FIT
    ]
    assert not shrunk, (
        f"button text shrunk below {MIN_LARGE_FIT:.0%} of its size in large-text "
        "mode (the layout gives it too little room):\n" + "\n".join(shrunk)
    )
    # the check sees the buttons: every screen has some, the accessibility ones at least
    assert all(len(r.fits) >= 2 for r in rendered.values())


def test_status_entry_is_one_line_in_both_modes(artifacts: Path) -> None:
    rendered = render_all(artifacts)
    for mode in ("normal", "large"):
        for lang in ("id", "en"):
            record = rendered[("status", mode, lang)]
            assert "AKTA-35.17.261123.0007" in record.texts  # the longest format: 22 characters
            assert record.lines.get("status_entry") == 1, (mode, lang, record.lines)
