"""Every text colour on the background it is drawn on reads for an elderly eye: WCAG 2 contrast
of at least 4.5:1 (AA, normal text) in the normal palette and 7:1 (AAA) in high contrast."""

from __future__ import annotations

import pytest

from kiosk_app.ui.theme import HIGH_CONTRAST_COLOURS, NORMAL_COLOURS, RGBA

# (text, what it is drawn on), as the kv rules pair them
PAIRS = [
    ("text", "background"),
    ("text", "surface"),
    ("text_muted", "background"),
    ("primary", "background"),
    ("primary_text", "primary"),
    ("secondary_text", "secondary"),
    ("accent_text", "accent"),
    ("danger_text", "danger"),
    ("error", "error_background"),
    ("success", "success_background"),
    ("success", "background"),
    ("muted_text", "muted"),
    ("selected_text", "selected"),
]


def luminance(colour: RGBA) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(v) for v in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGBA, b: RGBA) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("palette", "least"), [(NORMAL_COLOURS, 4.5), (HIGH_CONTRAST_COLOURS, 7.0)]
)
@pytest.mark.parametrize(("text", "ground"), PAIRS)
def test_text_reads_on_its_background(
    palette: dict[str, RGBA], least: float, text: str, ground: str
) -> None:
    assert contrast(palette[text], palette[ground]) >= least, (text, ground)


def test_the_contrast_formula() -> None:
    black, white = (0.0, 0.0, 0.0, 1.0), (1.0, 1.0, 1.0, 1.0)
    assert contrast(black, white) == pytest.approx(21.0)
    assert contrast(white, white) == pytest.approx(1.0)
