"""Comparing a rendered screen with its kept screenshot, within a tolerance for rendering noise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Both images are first smoothed by a 3x3 box (a 1-px line that another rasteriser splits over
# two rows, or half-covers, then looks the same). A pixel differs when one of its channels lies
# further than PIXEL_TOLERANCE outside the range of the 3x3 neighbourhood of the same place in
# the other image (checked both ways): shading a few levels off, antialiased edges that moved by
# a pixel and the 64-colour palette picking a neighbouring shade stay inside it. A screen differs
# when more than MAX_DIFFERING of its 256,000 pixels differ: one digit of the result screen's
# queue number is about 50, a 12 px box about 200, a recoloured button all of its face. The
# same code gives 0 here, with llvmpipe's 128-bit or 1-thread paths, and under Mesa's other
# software rasteriser (GALLIUM_DRIVER=softpipe) on all 60 screens.
PIXEL_TOLERANCE = 64
MAX_DIFFERING = 24


@dataclass(frozen=True)
class Comparison:
    """How far a rendered screenshot is from its kept image."""

    differing: int  # pixels beyond PIXEL_TOLERANCE
    size_mismatch: str = ""

    @property
    def passed(self) -> bool:
        """Within the tolerance: the same screen, give or take rendering noise."""
        return not self.size_mismatch and self.differing <= MAX_DIFFERING


def _excess(image: Any, other: Any) -> Any:
    """Per pixel, how far `image` lies outside the 3x3 range of `other` (greyscale, 0..255)."""
    from PIL import ImageChops, ImageFilter

    low = other.filter(ImageFilter.MinFilter(3))
    high = other.filter(ImageFilter.MaxFilter(3))
    excess = ImageChops.lighter(ImageChops.subtract(low, image), ImageChops.subtract(image, high))
    red, green, blue = excess.split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


def difference_mask(rendered: Any, kept: Any) -> Any:
    """A mode "1" image, set where the two RGB images differ beyond the tolerance."""
    from PIL import ImageChops, ImageFilter

    rendered = rendered.filter(ImageFilter.BoxBlur(1))
    kept = kept.filter(ImageFilter.BoxBlur(1))
    excess = ImageChops.lighter(_excess(rendered, kept), _excess(kept, rendered))
    return excess.point(lambda v: 255 if v > PIXEL_TOLERANCE else 0).convert("1")


def compare_images(rendered: Any, kept: Any, diff_path: Path | None = None) -> Comparison:
    """Compare two screenshots (paths or images); a difference goes to `diff_path` if given."""
    # The diff image: the kept image faded, the differing pixels in red.
    from PIL import Image

    a = (Image.open(rendered) if isinstance(rendered, Path) else rendered).convert("RGB")
    b = (Image.open(kept) if isinstance(kept, Path) else kept).convert("RGB")
    if a.size != b.size:
        return Comparison(0, f"rendered {a.size[0]}x{a.size[1]}, kept {b.size[0]}x{b.size[1]}")
    mask = difference_mask(a, b)
    differing = mask.histogram()[-1]
    result = Comparison(differing)
    if diff_path is not None and not result.passed:
        faded = Image.blend(b, Image.new("RGB", b.size, "white"), 0.7)
        faded.paste(Image.new("RGB", b.size, (230, 0, 0)), mask=mask)
        diff_path.parent.mkdir(parents=True, exist_ok=True)
        faded.save(diff_path)
    return result
