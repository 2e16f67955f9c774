"""Every screen in both languages and modes: text fits its box, nothing off the window or covered,
and large text never smaller than normal (issue 15)."""

from __future__ import annotations

from pathlib import Path

from tests.ui.layout_check import all_layouts, count
from tests.ui.screen_samples import FORM_LAYOUTS, render_all


def _findings(artifacts: Path, kind: str) -> list[str]:
    """Findings of `kind` on the sample screens (the form on its first page)."""
    rendered = render_all(artifacts)
    assert all(record.layout is not None for record in rendered.values())
    layouts = all_layouts(rendered, {})
    return [line.split(": ", 1)[1] for line in count(layouts)[1] if line.startswith(kind + ":")]


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
    found = _findings(artifacts, "shrunk_in_large")
    assert not found, "smaller in large-text mode:\n" + "\n".join(found)
    # the comparison sees the texts: every screen has some in both modes
    layouts = all_layouts(render_all(artifacts), FORM_LAYOUTS)
    assert all(len(layout.sizes) >= 2 for layout in layouts.values())


def test_every_screen_of_an_assisted_visit_shows_the_badge_and_still_fits(
    artifacts: Path,
) -> None:
    """An attendant assisting: every screen shows "Dibantu petugas PTG-07" in its own title bar
    (the layout makes room for it), whole, and its texts and controls still fit, in both modes
    and languages."""
    from kiosk_app.domain.catalogue import SERVICES
    from kiosk_app.ui.widgets.a11y_texts import ASSISTED as BADGE
    from tests.ui.screen_samples import ASSISTED, ATTENDANT
    from tests.ui.test_large_text_layout import MIN_LARGE_FIT

    rendered = render_all(artifacts)
    forms = sum(service.form is not None for service in SERVICES.values())
    # the sample screens, each other service's form, the status screen's own applications
    assert len(ASSISTED) == len(rendered) + 4 * forms  # (forms - 1) + the own applications
    missing = [
        f"{lang}-{mode}/{screen}"
        for (screen, mode, lang), record in ASSISTED.items()
        if BADGE.format(attendant=ATTENDANT)(lang) not in record.texts
    ]
    assert not missing, "no assisted badge on the screen:\n" + "\n".join(missing)
    # the badge takes its room from the title, not from the text of the buttons beside it
    beside = {"a11y_repeat", "a11y_large_text", "status_mine"}
    squeezed = [
        f"{lang}-{mode}/{screen}: {name!r} fit {fit:.2f}"
        for (screen, mode, lang), record in ASSISTED.items()
        for name, fit in record.fits
        if (name in beside and fit < 0.9) or (mode == "large" and fit < MIN_LARGE_FIT)
    ]
    assert not squeezed, "button text squeezed beside the badge:\n" + "\n".join(squeezed)
    layouts = {key: record.layout for key, record in ASSISTED.items() if record.layout}
    assert len(layouts) == len(ASSISTED)
    counts, lines = count(layouts)
    assert counts["clipped"] + counts["covered"] + counts["off_window"] == 0, "\n".join(lines)
    assert counts["shrunk_in_large"] == 0, "\n".join(lines)


def test_every_form_page_with_each_editor_fits(artifacts: Path) -> None:
    render_all(artifacts)
    # every page of every form was checked, with each field's editor, in both modes and languages
    assert len(FORM_LAYOUTS) > 4 * 100
    counts, lines = count(all_layouts({}, FORM_LAYOUTS))
    assert counts["clipped"] + counts["covered"] + counts["off_window"] == 0, "\n".join(lines)
    assert counts["shrunk_in_large"] == 0, "\n".join(lines)


def test_the_check_sees_what_a_reader_would(artifacts: Path) -> None:
    from kivy.uix.button import Button
    from kivy.uix.label import Label
    from kivy.uix.widget import Widget

    from tests.ui.layout_check import check_label, check_layout

    render_all(artifacts)  # the window exists
    spill = Button(
        text="Simulasi: tempel e-KTP", font_size=40, size=(200, 60), text_size=(180, None)
    )
    spill.texture_update()
    assert any("box" in f for f in check_label(spill)), "text taller than its button"
    broken = Label(text="almarhumah", font_size=40, size=(150, 200), text_size=(150, None))
    broken.texture_update()
    assert any("wider than" in f for f in check_label(broken)), "a word broken inside"
    cut = Label(
        text="Akta Kelahiran · Data keluarga",
        font_size=40,
        size=(200, 50),
        text_size=(200, 50),
        shorten=True,
    )
    cut.texture_update()
    assert check_label(cut), "a shortened heading"
    root = Widget(size=(1280, 800))
    root.add_widget(Button(text="A", pos=(1200, 10), size=(120, 60)))
    root.add_widget(Button(text="B", pos=(10, 10), size=(120, 60)))
    root.add_widget(Button(text="C", pos=(60, 20), size=(120, 60)))
    found = check_layout(root, (1280, 800))
    assert found.off_window == ["'A' at [1200, 10, 1320, 70]"]
    assert found.covered == ["'B' and 'C'"]


def test_every_ending_with_the_card_in_the_reader_reminds_to_take_it() -> None:
    from kiosk_app.domain.session import GOODBYE_TEXT, EndReason

    for reason, text in GOODBYE_TEXT.items():
        if reason is EndReason.CARD_REMOVED:
            continue  # the card is already in the citizen's hand
        assert "ambil e-KTP" in text.id and "e-KTP" in text.en, reason
