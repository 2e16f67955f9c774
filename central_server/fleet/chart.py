"""A kiosk's history as an inline SVG line chart, rendered on the server (no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 220, 44, 28, 12
GAP = timedelta(minutes=15)  # a longer silence breaks the line: the kiosk was offline


@dataclass(frozen=True)
class Series:
    """One line: a label, a colour and (time, value) points (value None = not reported)."""

    label: str
    colour: str
    points: Sequence[tuple[datetime, float | None]]
    maximum: float


def history_svg(series: Sequence[Series], start: datetime, end: datetime) -> str:
    """Lines scaled to 0..maximum of each series, time on x; gaps where the kiosk was silent."""
    span = max((end - start).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP

    def x(at: datetime) -> float:
        return PAD_LEFT + plot_w * (at - start).total_seconds() / span

    def y(value: float, maximum: float) -> float:
        return PAD_TOP + plot_h * (1 - min(max(value / maximum, 0.0), 1.0))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="kiosk history" '
        'class="history-chart">',
        f'<rect x="{PAD_LEFT}" y="{PAD_TOP}" width="{plot_w}" height="{plot_h}" '
        'fill="#fafafa" stroke="#ccc"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        yy = PAD_TOP + plot_h * (1 - frac)
        parts.append(
            f'<text x="{PAD_LEFT - 4}" y="{yy + 4:.1f}" font-size="10" text-anchor="end">'
            f"{int(frac * 100)}%</text>"
        )
    for i in range(5):
        at = start + (end - start) * i / 4
        parts.append(
            f'<text x="{x(at):.1f}" y="{HEIGHT - 10}" font-size="10" text-anchor="middle">'
            f"{at:%H:%M}</text>"
        )
    for index, line in enumerate(series):
        for segment in _segments(line.points):
            coords = " ".join(f"{x(t):.1f},{y(v, line.maximum):.1f}" for t, v in segment)
            if len(segment) == 1:
                cx, cy = coords.split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{line.colour}"/>')
            else:
                parts.append(
                    f'<polyline class="series-{index}" fill="none" stroke="{line.colour}" '
                    f'stroke-width="2" points="{coords}"/>'
                )
        parts.append(
            f'<text x="{PAD_LEFT + 6 + 170 * index}" y="{PAD_TOP + 12}" font-size="11" '
            f'fill="{line.colour}">{escape(line.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _segments(
    points: Sequence[tuple[datetime, float | None]],
) -> list[list[tuple[datetime, float]]]:
    """Split at missing values and at silences longer than GAP."""
    segments: list[list[tuple[datetime, float]]] = []
    current: list[tuple[datetime, float]] = []
    for at, value in points:
        if value is None or (current and at - current[-1][0] > GAP):
            if current:
                segments.append(current)
            current = []
        if value is not None:
            current.append((at, value))
    if current:
        segments.append(current)
    return segments
