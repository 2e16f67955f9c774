"""Every screen in both languages and modes: text fits its box, nothing off the window or covered,
and large text never smaller than normal (issue 15)."""

from __future__ import annotations

from pathlib import Path

from tests.ui.layout_check import shrunk
from tests.ui.screen_samples import render_all


def _findings(artifacts: Path, kind: str) -> list[str]:
    rendered = render_all(artifacts)
    found = []
    for (screen, mode, lang), record in rendered.items():
        assert record.layout is not None
        found += [f"{lang}-{mode}/{screen}: {item}" for item in getattr(record.layout, kind)]
    return found


def test_every_text_fits_its_box(artifacts: Path) -> None:
    found = _findings(artifacts, "clipped")
    assert not found, "text spilling, shortened or broken inside a word:\n" + "\n".join(found)


def test_nothing_reaches_outside_the_window(artifacts: Path) -> None:
    found = _findings(artifacts, "off_window")
    assert not found, "widgets outside the window:\n" + "\n".join(found)


def test_no_control_covers_another(artifacts: Path) -> None:
    found = _findings(artifacts, "covered")
    assert not found, "controls drawn over one another:\n" + "\n".join(found)


def test_large_text_never_makes_a_text_smaller(artifacts: Path) -> None:
    rendered = render_all(artifacts)
    found = []
    for (screen, mode, lang), record in rendered.items():
        if mode != "large":
            continue
        normal = rendered[(screen, "normal", lang)].layout
        assert normal is not None and record.layout is not None
        found += [f"{lang}/{screen}: {item}" for item in shrunk(normal, record.layout)]
    assert not found, "smaller in large-text mode:\n" + "\n".join(found)
    # the comparison sees the texts: every screen has some in both modes
    assert all(len(r.layout.sizes) >= 2 for r in rendered.values() if r.layout is not None)


def test_the_check_sees_what_a_reader_would(artifacts: Path) -> None:
    from kivy.uix.button import Button
    from kivy.uix.label import Label
    from kivy.uix.widget import Widget

    from tests.ui.layout_check import check_label, check_layout

    render_all(artifacts)  # the window exists
    spill = Button(text="Simulasi: tempel e-KTP", font_size=40, size=(200, 60),
                   text_size=(180, None))
    spill.texture_update()
    assert any("box" in f for f in check_label(spill)), "text taller than its button"
    broken = Label(text="almarhumah", font_size=40, size=(150, 200), text_size=(150, None))
    broken.texture_update()
    assert any("wider than" in f for f in check_label(broken)), "a word broken inside"
    cut = Label(text="Akta Kelahiran · Data keluarga", font_size=40, size=(200, 50),
                text_size=(200, 50), shorten=True)
    cut.texture_update()
    assert check_label(cut), "a shortened heading"
    root = Widget(size=(1280, 800))
    root.add_widget(Button(text="A", pos=(1200, 10), size=(120, 60)))
    root.add_widget(Button(text="B", pos=(10, 10), size=(120, 60)))
    root.add_widget(Button(text="C", pos=(60, 20), size=(120, 60)))
    found = check_layout(root, (1280, 800))
    assert found.off_window == ["'A' at [1200, 10, 1320, 70]"]
    assert found.covered == ["'B' and 'C'"]
