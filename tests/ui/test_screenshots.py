"""Every screen rendered in both modes and both languages and compared with its kept screenshot.

A screen that differs beyond the tolerance fails with the paths of the kept, rendered and diff
images (artifacts/ui/). Regenerate the kept set with
`UPDATE_SCREENSHOTS=1 pytest tests/ui/test_screenshots.py`: it rewrites only the images that
are missing or differ beyond the tolerance, so noise never churns the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.sample_views import MissingSample, sample_view
from tests.ui.screen_samples import (
    ALTERED,
    LANGS,
    MAX_SHOT_BYTES,
    MODES,
    SCREENSHOTS,
    kept_path,
    render_again,
    render_all,
    render_altered,
    render_restored,
    shot_path,
)
from tests.ui.screenshot_compare import MAX_DIFFERING, PIXEL_TOLERANCE, compare_images

UPDATE_COMMAND = "UPDATE_SCREENSHOTS=1 pytest tests/ui/test_screenshots.py"


def test_every_screen_has_a_sample_view() -> None:
    from kiosk_app.ui.screens import screen_classes

    for name in screen_classes():
        for lang in LANGS:
            assert sample_view(name, lang).state.value == name
    try:
        sample_view("no_such_screen", "id")
    except MissingSample as exc:
        assert "STATE_SAMPLES" in str(exc)
    else:
        raise AssertionError("a screen without a sample must fail loudly")


def test_every_screen_has_kept_screenshots(artifacts: Path) -> None:
    rendered = render_all(artifacts)
    from kiosk_app.ui.screens import screen_classes

    missing, too_big = [], []
    for name in screen_classes():
        for mode in MODES:
            for lang in LANGS:
                assert (name, mode, lang) in rendered
                kept = kept_path(rendered[(name, mode, lang)])
                if not kept.is_file():
                    missing.append(str(kept.relative_to(SCREENSHOTS)))
                elif kept.stat().st_size > MAX_SHOT_BYTES:
                    too_big.append(f"{kept.name}: {kept.stat().st_size} bytes")
    assert not missing, f"no kept screenshot for {missing}: run {UPDATE_COMMAND} and commit them"
    assert not too_big, too_big


def test_every_screen_matches_its_kept_screenshot(artifacts: Path) -> None:
    rendered = render_all(artifacts)
    differ = []
    for record in rendered.values():
        kept = kept_path(record)
        if not kept.is_file():
            continue  # reported by test_every_screen_has_kept_screenshots
        assert record.shot is not None and record.shot.is_file()
        diff = shot_path(artifacts / "screenshot-diffs", record.screen, record.mode, record.lang)
        diff.unlink(missing_ok=True)  # a diff left by an earlier run must not mislead
        result = compare_images(record.shot, kept, diff_path=diff)
        if not result.passed:
            why = result.size_mismatch or f"{result.differing} pixels differ"
            differ.append(
                f"{record.lang}-{record.mode}/{record.screen}: {why}\n"
                f"    kept:     {kept}\n    rendered: {record.shot}\n"
                f"    diff:     {diff if diff.is_file() else '-'}"
            )
    assert not differ, (
        f"{len(differ)} screen(s) differ from their kept screenshots beyond the tolerance "
        f"(a pixel counts when {PIXEL_TOLERANCE}/255 beyond its 3x3 neighbourhood in the other "
        f"image; more than {MAX_DIFFERING} such pixels fail). "
        f"If the change is "
        f"meant, review the rendered images and run {UPDATE_COMMAND}:\n" + "\n".join(differ)
    )


def test_the_comparison_reports_a_changed_screen(artifacts: Path, tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    rendered = render_all(artifacts)
    first = rendered[ALTERED].shot
    altered = render_altered(artifacts)
    assert first is not None and altered is not None, "the result screen shows no 'A-007'"
    diff = tmp_path / "altered.diff.png"
    result = compare_images(altered, first, diff_path=diff)
    assert not result.passed, "one digit of the queue number changed and nobody noticed"
    assert diff.is_file()

    shown = Image.open(first).convert("RGB")
    boxed = shown.copy()  # a 12x12 box, as a stray widget would draw
    ImageDraw.Draw(boxed).rectangle((300, 200, 311, 211), fill=(200, 30, 30))
    diff = tmp_path / "boxed.diff.png"
    result = compare_images(boxed, shown, diff_path=diff)
    assert not result.passed and result.differing >= 12 * 12 * 0.9
    assert Image.open(diff).getpixel((305, 205)) == (230, 0, 0)  # the box is red in the diff
    assert not compare_images(shown, shown.resize((320, 200))).passed  # a size change fails

    recoloured = shown.copy()  # the same shapes, one colour 80 levels off (a theme change)
    red, green, blue = shown.crop((300, 200, 340, 220)).split()
    recoloured.paste(
        Image.merge("RGB", (red, green.point(lambda v: min(255, v + 80)), blue)), (300, 200)
    )
    assert not compare_images(recoloured, shown).passed


def test_the_comparison_forgives_rendering_noise(artifacts: Path) -> None:
    from PIL import Image, ImageFilter

    record = render_all(artifacts)[("form", MODES[0], LANGS[0])]
    assert record.shot is not None
    shown = Image.open(record.shot).convert("RGB")
    assert compare_images(shown, shown.copy()).differing == 0
    # Every level a few steps off, then the 64-colour palette chosen again.
    brighter = Image.eval(shown, lambda v: min(255, v + 5))
    assert compare_images(brighter.quantize(64, method=Image.Quantize.FASTOCTREE), shown).passed
    # Antialiasing that smooths edges a little more, and everything one pixel to the side.
    softer = Image.blend(shown, shown.filter(ImageFilter.SMOOTH), 0.3)
    assert compare_images(softer, shown).passed
    shifted = shown.copy()
    shifted.paste(shown.crop((0, 0, shown.width - 1, shown.height)), (1, 0))
    assert compare_images(shifted, shown).passed


def test_rendering_a_screen_again_gives_the_same_pixels(artifacts: Path) -> None:
    """Every screen grabbed again seconds later is pixel for pixel its first grab."""
    # In the last mode and language, so that nothing but time passed in between: nothing on a
    # sample screen may move with the clock (animations, progress arcs).
    from PIL import Image, ImageChops

    rendered = render_all(artifacts)
    changed = []
    for (name, mode, lang), record in rendered.items():
        if (mode, lang) != (MODES[-1], LANGS[-1]):
            continue
        assert record.shot is not None
        first = Image.open(record.shot).convert("RGB")
        second = Image.open(render_again(artifacts, name)).convert("RGB")
        if ImageChops.difference(first, second).getbbox() is not None:
            changed.append(name)
    assert not changed, f"screens that changed between two grabs: {changed}"


def test_turning_large_text_off_restores_every_screen(artifacts: Path) -> None:
    rendered = render_all(artifacts)
    changed = []
    for (name, mode, lang), record in rendered.items():
        if (mode, lang) != (MODES[0], LANGS[0]):
            continue
        assert record.shot is not None
        result = compare_images(render_restored(artifacts, name), record.shot)
        if not result.passed:
            changed.append(f"{name} ({result.differing} pixels)")
    assert not changed, f"not restored after large text: {changed}"


def test_rendered_screenshots_differ_between_modes_and_languages(artifacts: Path) -> None:
    rendered = render_all(artifacts)
    shot = rendered[("attract", "normal", "id")].shot
    assert shot is not None and shot.is_file()
    blobs = {rendered[("attract", m, lang)].shot.read_bytes() for m in MODES for lang in LANGS}
    assert len(blobs) == 4  # large text/contrast and the language change what the screen shows


# -- translations ----------------------------------------------------------------------------

PACKAGES = ("kiosk_app.domain", "kiosk_app.services", "kiosk_app.ui")
# The same word in both languages by nature: names, acronyms, months, loan words.
SAME_IN_BOTH = {
    "NIK",
    "KK",
    "KIA",
    "AKTA",
    "e-KTP",
    "KTP-el",
    "April",
    "September",
    "November",
    "Dukcapil",
    "Disdukcapil",
    "Status",
    "Total",
    "Email",
    "OK",
    "RT",
    "RW",
    "RT/RW",
    "WNI",
    "WNA",
    "PDF",
    "QR",
    # Occupations of the SIAK register spelt the same in English
    "Pilot",
    "Paranormal",
}
# Shown as is in every language: the language buttons name the language itself.
ALWAYS_ALLOWED = {"Bahasa Indonesia"}
# Words that only Indonesian sentences use: an English label holding one was not translated.
INDONESIAN_WORDS = (
    "Anda",
    "yang",
    "dan",
    "tidak",
    "silakan",
    "Silakan",
    "dengan",
    "untuk",
    "belum",
    "sudah",
    "Sentuh",
    "Lanjut",
    "Kembali",
    "Selesai",
    "pukul",
    "dari",
    "halaman",
    "Kirim",
    "Ubah",
    "Hapus",
    "Pilih",
    "Cetak",
    "Lewati",
)


def _modules() -> list[object]:
    import importlib
    import pkgutil

    modules = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            modules.append(importlib.import_module(info.name))
    return modules


def _texts_in(value: object, where: str, seen: set[int], depth: int = 0):  # type: ignore[no-untyped-def]
    import dataclasses
    import enum

    from kiosk_app.domain.text import Text

    if id(value) in seen or depth > 6:
        return
    seen.add(id(value))
    if isinstance(value, Text):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts_in(key, where, seen, depth + 1)
            yield from _texts_in(item, f"{where}[{key!r}]", seen, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            yield from _texts_in(item, f"{where}[{index}]", seen, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _texts_in(getattr(value, f.name, None), f"{where}.{f.name}", seen, depth + 1)
    elif isinstance(value, enum.Enum):
        yield from _texts_in(value.value, where, seen, depth + 1)


def all_texts() -> list[tuple[str, object]]:
    """Every Text reachable from module globals and class attributes of our packages."""
    found: list[tuple[str, object]] = []
    seen: set[int] = set()
    for module in _modules():
        name = module.__name__  # type: ignore[attr-defined]
        for attr, value in vars(module).items():
            if isinstance(value, type) and value.__module__ == name:
                for cls_attr, cls_value in vars(value).items():
                    found += _texts_in(cls_value, f"{name}.{attr}.{cls_attr}", seen)
            else:
                found += _texts_in(value, f"{name}.{attr}", seen)
    return found


def test_every_text_has_both_languages() -> None:
    texts = all_texts()
    assert len(texts) > 300  # the walk reaches the catalogue, forms, screens and widgets
    empty = [w for w, t in texts if not t.id.strip() or not t.en.strip()]  # type: ignore[attr-defined]
    assert not empty, f"Text with a missing language: {empty}"
    same = sorted(
        {
            t.id
            for _w, t in texts
            if t.id == t.en
            and t.id not in SAME_IN_BOTH  # type: ignore[attr-defined]
            and any(c.isalpha() for c in t.id)
        }
    )  # type: ignore[attr-defined]
    assert not same, f"not translated (same text in both languages): {same}"


def _indonesian_only() -> list[str]:
    """Fragments (>= 8 letters) of Indonesian texts that no English text contains."""
    import re

    english = " ".join(t.en for _w, t in all_texts())  # type: ignore[attr-defined]
    fragments = set()
    for _where, text in all_texts():
        if text.id == text.en:  # type: ignore[attr-defined]
            continue
        for part in re.split(r"\{[^}]*\}", text.id):  # type: ignore[attr-defined]
            part = part.strip(" .,:;·-")
            if len(part) >= 8 and part not in english and part not in ALWAYS_ALLOWED:
                fragments.add(part)
    return sorted(fragments, key=len, reverse=True)


def test_english_screens_show_no_indonesian(artifacts: Path) -> None:
    import re

    rendered = render_all(artifacts)
    fragments = _indonesian_only()
    words = re.compile(r"\b(" + "|".join(INDONESIAN_WORDS) + r")\b")

    def indonesian(shown: str) -> str | None:
        if shown in ALWAYS_ALLOWED:
            return None
        hit = next((f for f in fragments if f in shown), None)
        return hit or (m.group(0) if (m := words.search(shown)) else None)

    found = [
        f"{screen} ({mode}): {shown!r} has {indonesian(shown)!r}"
        for (screen, mode, lang), record in rendered.items()
        if lang == "en"
        for shown in record.texts
        if indonesian(shown)
    ]
    assert not found, "Indonesian on English screens:\n" + "\n".join(sorted(set(found)))
    # The detector works: every Indonesian screen shows some Indonesian.
    quiet = [
        s
        for (s, m, lang), r in rendered.items()
        if lang == "id" and not any(indonesian(t) for t in r.texts)
    ]
    assert not quiet, f"no Indonesian found on Indonesian screens {quiet}: the check is blind"
    assert any("Place your e-KTP" in t for t in rendered[("attract", "normal", "en")].texts)


def test_update_rewrites_only_missing_or_changed_kept_screenshots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image, ImageDraw

    from tests.ui import screen_samples
    from tests.ui.screen_samples import Rendered

    frame = Image.new("RGB", (1280, 800), (240, 244, 250))
    ImageDraw.Draw(frame).rectangle((100, 100, 600, 300), fill=(14, 60, 140))
    monkeypatch.setattr(screen_samples, "grab_window", lambda: frame.copy())
    monkeypatch.setattr(screen_samples, "SCREENSHOTS", tmp_path / "kept")
    monkeypatch.setattr(screen_samples, "UPDATE", True)
    record = Rendered("menu", "normal", "id")
    kept = screen_samples.kept_path(record)

    def update() -> bytes:
        screen_samples._screenshot(tmp_path / "rendered.png", record)
        return kept.read_bytes()

    first = update()  # missing: written
    frame.paste(Image.eval(frame, lambda v: min(255, v + 4)))  # noise: left alone
    assert update() == first
    ImageDraw.Draw(frame).rectangle((700, 400, 760, 460), fill=(200, 30, 30))  # a change
    assert update() != first
    assert compare_images(tmp_path / "rendered.png", kept).differing == 0
