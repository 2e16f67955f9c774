"""Prepare Kivy's environment and Config before kivy is imported anywhere."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

WINDOW_SIZE = (1280, 800)
_prepared: dict[str, object] = {}


def prepare_kivy(
    headless: bool,
    kivy_home: Path | None = None,
    fullscreen: bool = False,
    touch_only: bool | None = None,
) -> Path:
    """Set env vars and Config for Kivy; call before the first `import kivy`; returns KIVY_HOME."""
    if touch_only is None:
        # ANJUNGAN_INPUT=touch|mouse overrides; by default a full-screen kiosk is the real box.
        wanted = os.environ.get("ANJUNGAN_INPUT", "").strip().lower()
        touch_only = wanted == "touch" if wanted else (fullscreen and not headless)
    if _prepared:
        return Path(str(_prepared["home"]))
    if "kivy" in sys.modules and "KIVY_HOME" not in os.environ:
        raise RuntimeError("prepare_kivy() must run before kivy is imported")
    home = kivy_home or Path(tempfile.mkdtemp(prefix="anjungan-kivy-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ["KIVY_HOME"] = str(home)
    os.environ["KIVY_LOG_MODE"] = "PYTHON"
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    # Everything is set below: no config.ini to read, upgrade (two WARNINGs in every fresh
    # KIVY_HOME) or write.
    os.environ.setdefault("KIVY_NO_CONFIG", "1")
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        os.environ.setdefault("KIVY_AUDIO", "")
    # A public kiosk has no use for the desktop's clipboard (and a citizen's NIK must not land
    # in it): Kivy's in-process dummy clipboard, and no X11 cut buffer (see _quiet_cut_buffer).
    os.environ["KIVY_CLIPBOARD"] = "dummy"
    from kivy.config import Config

    _quiet_cut_buffer()

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "")
    Config.set("kivy", "log_level", "warning")
    Config.set("graphics", "resizable", "0")
    # No multisample anti-aliasing (Kivy asks for 2x): rounded corners are nine-patch textures and
    # the rest is straight edges, so it smooths nothing visible, and it doubled the cost of every
    # frame on a GPU-less kiosk (Mesa llvmpipe: 84 -> 40 ms to draw the form with its keyboard).
    Config.set("graphics", "multisamples", "0")
    if fullscreen and not headless:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "borderless", "1")
        Config.set("graphics", "show_cursor", "0")
    else:
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "width", str(WINDOW_SIZE[0]))
        Config.set("graphics", "height", str(WINDOW_SIZE[1]))
    # Be explicit about input providers: a touchscreen seen both as a mouse and through
    # probesysfs would deliver every touch twice.
    if Config.has_section("input"):
        for option in list(Config.options("input")):
            Config.remove_option("input", option)
    else:
        Config.add_section("input")
    if touch_only:
        # One provider only: mtdev and hidinput on the same device would double touches too.
        Config.set("input", "touch_%(name)s", "probesysfs,provider=hidinput")
    else:
        Config.set("input", "mouse", "mouse,disable_multitouch")
    _prepared["home"] = str(home)
    return home


def _quiet_cut_buffer() -> None:
    """Stop Kivy probing for an X11 cut buffer (the first TextInput on Linux does)."""
    # Kivy's only cut buffer providers run the `xclip` and `xsel` tools, absent on a kiosk: each
    # probe failed with a traceback and then Kivy logged CRITICAL. No option turns the probe off:
    # `kivy_options` (the provider table that KIVY_<CATEGORY> variables fill) skips both
    # providers, and a filter drops the one CRITICAL record left, saying there is no cut buffer.
    import kivy

    kivy.kivy_options["cutbuffer"] = ()
    logging.getLogger("kivy").addFilter(_no_cut_buffer_record)


def _no_cut_buffer_record(record: logging.LogRecord) -> bool:
    """False for Kivy's "Unable to find any valuable Cutbuffer provider" record."""
    return not str(record.msg).startswith("Cutbuffer: Unable to find any valuable")
