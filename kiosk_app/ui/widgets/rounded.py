"""Rounded, bordered backgrounds as one small nine-patch texture per look.

Drawing a button as a RoundedRectangle plus a wide rounded Line costs hundreds of thin triangles;
on a software rasteriser (Mesa llvmpipe, the kiosk without a GPU) 40 keys took ~50 ms a frame.
A nine-patch (Kivy's BorderImage) draws the same look as 9 quads in one call: the corners come
from a tiny antialiased texture drawn at 1:1, the edges and the middle are stretched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kivy.graphics.texture import Texture

_CACHE: dict[tuple[object, ...], Texture] = {}
_CACHE_LIMIT = 256  # looks are few (kinds x states x themes); a bound guards against leaks


def _rounded_distance(px: float, py: float, half: float, radius: float) -> float:
    """Signed distance from (px, py) to a square of half-side `half` centred at the origin,
    with corners rounded by `radius` (negative inside)."""
    qx = abs(px) - (half - radius)
    qy = abs(py) - (half - radius)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - radius


def _clamp(value: float) -> float:
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value


def nine_patch_border(radius: float, border_px: float = 0) -> tuple[int, int, int, int]:
    """BorderImage `border` (bottom, right, top, left) for `rounded_texture(.., radius,
    border_px)`: the corners and the border stay 1:1, only the fill between them stretches."""
    side = max(1, math.ceil(radius), math.ceil(border_px)) + 1
    return (side, side, side, side)


def rounded_pixels(
    fill: Sequence[float], border: Sequence[float], radius: float, border_px: float
) -> tuple[int, bytes]:
    """(size, RGBA bytes) of a square nine-patch: `fill` inside, a `border_px` wide `border`
    around it, corners rounded by `radius`, edges antialiased. Straight (not premultiplied)
    alpha, as Kivy blends; transparent pixels keep the nearest colour so filtering adds no
    dark fringe."""
    edge = nine_patch_border(radius, border_px)[0]
    size = 2 * edge + 2  # a 2-pixel middle that the nine-patch stretches
    half = size / 2.0
    r_out = min(max(0.0, float(radius)), half)
    width = max(0.0, float(border_px))
    r_in = max(0.0, r_out - width)
    f = [float(c) for c in (tuple(fill) + (1.0,))[:4]]
    b = [float(c) for c in (tuple(border) + (1.0,))[:4]]
    # The square is symmetric about both axes: work out the top-left quarter, mirror the rest
    # (a cold start draws its first frame sooner; this runs once per look).
    quarter = size // 2
    rows: list[bytes] = []
    for row in range(quarter):
        out = bytearray()
        for col in range(quarter):
            x, y = col + 0.5 - half, row + 0.5 - half
            outer = _clamp(0.5 - _rounded_distance(x, y, half, r_out))
            inner = _clamp(0.5 - _rounded_distance(x, y, half - width, r_in)) if width else 1.0
            # mix border and fill by the inner coverage, premultiplied, then un-premultiply
            alpha = b[3] * (1 - inner) + f[3] * inner
            if alpha > 0:
                rgb = [(b[i] * b[3] * (1 - inner) + f[i] * f[3] * inner) / alpha for i in range(3)]
            else:
                rgb = b[:3] if inner < 0.5 else f[:3]
            alpha *= outer
            out += bytes(round(255 * _clamp(c)) for c in (*rgb, alpha))
        mirrored = b"".join(bytes(out[i : i + 4]) for i in range(len(out) - 4, -1, -4))
        rows.append(bytes(out) + mirrored)
    return size, b"".join(rows + rows[::-1])


def rounded_texture(
    fill: Sequence[float], border: Sequence[float], radius: float, border_px: float
) -> Texture:
    """The cached nine-patch texture for this look (see `rounded_pixels`)."""
    key = (
        tuple(round(float(c), 3) for c in fill),
        tuple(round(float(c), 3) for c in border),
        round(float(radius), 1),
        round(float(border_px), 1),
    )
    texture = _CACHE.get(key)
    if texture is None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        size, pixels = rounded_pixels(fill, border, radius, border_px)
        texture = Texture.create(size=(size, size), colorfmt="rgba")
        texture.blit_buffer(pixels, colorfmt="rgba", bufferfmt="ubyte")
        _CACHE[key] = texture
    return texture
