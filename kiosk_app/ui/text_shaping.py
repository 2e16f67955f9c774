"""Text measured as it is drawn, whatever Kivy's font cache held before.

Kivy 2.3's SDL2 text provider shares one SDL_ttf font object per (size, file, style) among
all labels (a first-in, first-out cache of 64) and gives that object a label's shaping options
(script, direction, hinting, kerning) only when it draws: measuring (`get_extents`, which lays
out and wraps every label) uses whatever the object was last drawn with. A Label draws with the
Latin script, and HarfBuzz kerns DejaVu only under it; an object never drawn yet (just opened,
or opened again after the cache dropped it) shapes with no script, unkerned. So the label that
opened a font measured its lines a few pixels wider than it drew them: a centred line sat 4 px
to the left ("Opens again Monday, 30" at 65 px: measured 907 px, drawn 899), and only when
that font had just been (re)opened, which depends on every text shown before. A width near a
label's edge could wrap differently too.

SDL_ttf's process-wide default script applies to every font object not given its own: set to
Latin, a font never drawn yet measures as a Label draws it.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from pathlib import Path

log = logging.getLogger(__name__)

# HarfBuzz's script tag for Latin: HB_TAG('L', 'a', 't', 'n'), Kivy Label's font_script_name.
HB_SCRIPT_LATIN = int.from_bytes(b"Latn", "big")


def _loaded_library(prefix: str) -> str | None:
    """The path of a shared library this process has loaded whose file name starts `prefix`."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)  # address, perms, offset, device, inode, path
        if len(fields) == 6 and Path(fields[5]).name.startswith(prefix):
            return fields[5]
    return None


@functools.cache
def shape_as_drawn() -> bool:
    """Make SDL_ttf shape the text it measures with the script Kivy's labels draw it with;
    once per process. False when the text provider is not SDL2, or SDL_ttf cannot be told (a
    warning; built without HarfBuzz it shapes by no script, measured or drawn alike)."""
    from kivy.core.text import Label as CoreLabel  # loads the provider and its SDL_ttf

    if CoreLabel.__name__ != "LabelSDL2":  # another provider: no shared SDL_ttf font objects
        return False
    path = _loaded_library("libSDL2_ttf")
    try:
        set_script = ctypes.CDLL(path).TTF_SetScript if path else None  # the one loaded
    except (OSError, AttributeError):
        set_script = None
    done = False
    if set_script is not None:
        set_script.argtypes = [ctypes.c_int]
        set_script.restype = ctypes.c_int
        done = set_script(HB_SCRIPT_LATIN) == 0
    if not done:
        log.warning("text is measured without the script it is drawn with (%s)", path)
    return done
