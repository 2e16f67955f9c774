"""Accessibility: touch targets in both modes, spoken prompts, repeat, large text, still here."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kiosk_app.domain.session import SessionState, Timeouts
from kiosk_app.domain.speech import join, speakable
from tests.ui.sample_views import sample_view
from tests.ui.screen_samples import LANGS, MODES, render_all

UI = Path(__file__).resolve().parents[2] / "kiosk_app" / "ui"


def test_touch_targets_at_least_15mm_on_every_screen_in_both_modes(artifacts: Path) -> None:
    from kivy.metrics import mm

    from kiosk_app.ui.theme import TOUCH_MM

    minimum = mm(TOUCH_MM) - 0.5
    small, clipped, unscrollable, counted = [], [], [], 0
    for (screen, mode, lang), record in render_all(artifacts).items():
        for name, width, height, _inside in record.buttons:
            counted += 1
            if width < minimum or height < minimum:
                small.append(f"{screen}/{mode}/{lang}: {name!r} {width:.0f}x{height:.0f}")
        clipped += [f"{screen}/{mode}/{lang}: {n!r}" for n in record.clipped]
        unscrollable += [f"{screen}/{mode}/{lang}: {n}" for n in record.unscrollable]
        # the accessibility buttons are on every screen, in both modes
        assert {"a11y_repeat", "a11y_large_text"} <= {b[0] for b in record.buttons}, screen
    assert counted > 300
    assert not small, f"touch targets under {TOUCH_MM} mm ({minimum:.0f} px):\n" + "\n".join(small)
    assert not clipped, "buttons off the screen:\n" + "\n".join(clipped)
    assert not unscrollable, "lists that need a swipe (no ▲/▼ buttons):\n" + "\n".join(unscrollable)


def test_no_tap_reaches_a_hidden_widget_on_any_screen(artifacts: Path) -> None:
    """On every screen in both modes and languages, on the status screen with the card holder's
    own applications shown over it, and on every form page with each field's editor: each
    enabled button, text box or list that does not show (opacity 0, off the window, under an
    overlay) never takes a tap at its centre."""
    from tests.ui.screen_samples import REACH

    rendered = render_all(artifacts)
    found = [
        f"{s}/{m}/{lang}: {item}"
        for (s, m, lang), r in rendered.items()
        for item in r.hidden_reached
    ]
    found += [f"{s}/{m}/{lang}: {item}" for (s, m, lang), items in REACH.items() for item in items]
    assert sum(s == "status:own" for s, _m, _l in REACH) == len(MODES) * len(LANGS)
    assert sum(s.startswith("form:") for s, _m, _l in REACH) > len(MODES) * 100
    assert not found, "hidden widgets a tap reaches:\n" + "\n".join(found)


def test_no_control_of_any_screen_lies_under_the_attendant_tab(artifacts: Path) -> None:
    """The attendant's tab is drawn over every screen at the bottom centre and takes every touch
    on it: on every screen in both modes and languages, in a visit nobody assists and in an
    assisted one, no button, text box or list lies under it, not even an edge (the assisted
    badge beside it covered the lower edge of the scan and status screens' bottom buttons)."""
    from kiosk_app.ui.screens import screen_classes
    from tests.ui.screen_samples import ASSISTED, UNDER_OVERLAY

    render_all(artifacts)
    from kiosk_app.domain.catalogue import SERVICES

    forms = sum(service.form is not None for service in SERVICES.values())
    # each screen unassisted and assisted, each other service's form and the own applications
    assert len(UNDER_OVERLAY) == (len(screen_classes()) * 2 + forms) * len(MODES) * len(LANGS)
    found = [
        f"{s}/{m}/{lang}: {item}" for (s, m, lang), items in UNDER_OVERLAY.items() for item in items
    ]
    found += [
        f"{s}/{m}/{lang}: {i}" for (s, m, lang), r in ASSISTED.items() for i in r.hidden_reached
    ]
    assert not found, "controls under the attendant's tab (or hidden yet reached):\n" + "\n".join(
        found
    )


def test_every_screen_follows_the_theme_live(artifacts: Path) -> None:
    stale = [
        f"{s}/{m}/{lang}: {w}" for (s, m, lang), r in render_all(artifacts).items() for w in r.stale
    ]
    assert not stale, "fonts that kept their size after the large-text switch:\n" + "\n".join(stale)


def test_no_button_breaks_a_word_in_either_mode(artifacts: Path) -> None:
    broken = [
        f"{s}/{m}/{lang}: {w}"
        for (s, m, lang), r in render_all(artifacts).items()
        for w in r.broken
    ]
    assert not broken, 'words broken inside a button ("Kembal/i"):\n' + "\n".join(broken)


# Takes a finger's move on an overlay away from what it covers, and acts on none.
NOT_A_GESTURE = {Path("widgets/shield.py"), Path("settle.py")}  # both swallow touches


def test_no_gesture_beyond_a_single_tap() -> None:
    gestures = re.compile(r"is_double_tap|is_triple_tap|on_touch_move")
    found = [
        f"{p.relative_to(UI)}: {m.group(0)}"
        for p in [*UI.rglob("*.py"), *UI.rglob("*.kv")]
        if p.relative_to(UI) not in NOT_A_GESTURE
        for m in gestures.finditer(p.read_text(encoding="utf-8"))
    ]
    assert not found, f"gestures other than a tap: {found}"


def test_every_screen_has_a_spoken_prompt(artifacts: Path) -> None:
    for (screen, _mode, _lang), record in render_all(artifacts).items():
        assert record.prompt is not None, f"{screen} says nothing when shown"
        for language in LANGS:
            said = speakable(record.prompt(language), language)  # type: ignore[arg-type]
            assert len(said) > 5, (screen, language, said)
            assert "KTP" not in said if language == "id" else True


def _form_view(values: dict[str, str], **extra: Any) -> Any:
    import dataclasses

    from kiosk_app.domain.catalogue import SERVICES

    service = SERVICES["akta_kelahiran"]
    page = next(
        i
        for i, p in enumerate(service.form.pages)  # type: ignore[union-attr]
        if any(f.name == "child_birth_date" for f in p.fields)
    )
    view = sample_view("form", "id")
    return dataclasses.replace(view, **{"page": page, "values": values, "errors": {}, **extra})


class _Screen:
    def prompt(self, view: Any) -> Any:
        from kiosk_app.domain.text import Text

        return Text(f"Halaman {view.page + 1}", f"Page {view.page + 1}")


def test_confirmations_and_errors_are_spoken() -> None:
    from kiosk_app.domain.text import Text
    from kiosk_app.services.audio import AudioGuidance
    from kiosk_app.ui.widgets.a11y import Accessibility

    a11y = Accessibility(AudioGuidance("off"))
    a11y.on_view(_form_view({}), _Screen())
    a11y.on_view(_form_view({"birth_type": "tunggal"}), _Screen())
    a11y.on_view(_form_view({"birth_type": "tunggal", "child_birth_date": "2026-01-12"}), _Screen())
    done = {"birth_type": "tunggal", "child_birth_date": "2026-01-12", "child_birth_time": "08:30"}
    a11y.on_view(_form_view(done), _Screen())
    error = Text("Jam lahir wajib diisi.", "The time of birth is required.")
    a11y.on_view(_form_view(done, errors={"child_birth_time": error}), _Screen())
    said = a11y.audio.spoken_words()
    assert said[1:] == [
        "Tunggal dipilih.",
        "12 Januari 2026 dipilih.",
        "Pukul 8 lewat 30 menit dipilih.",
        "Jam lahir wajib diisi.",
    ]
    assert said[0].startswith("Halaman")
    assert a11y.audio.last is not None and a11y.audio.last[0] == error  # repeat says the error
    a11y.close()


def _spoken(pilot: Any) -> list[str]:
    pilot.app.a11y.audio.wait_idle(20)
    return pilot.app.a11y.audio.spoken_words()  # type: ignore[no-any-return]


def test_prompts_repeat_and_large_text_through_a_session(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    from kiosk_app.ui.theme import theme

    pilot = start_kiosk(timeouts=Timeouts(goodbye_s=3.0))
    assert _spoken(pilot)[-1].startswith("Tempelkan e ka-te-pe Anda pada pembaca.")
    pilot.tap("a11y_large_text")
    assert theme.large_text and _spoken(pilot)[-1] == "Teks besar dan warna kontras aktif."
    pilot.tap("a11y_repeat")
    assert _spoken(pilot)[-1].startswith("Tempelkan e ka-te-pe")  # the prompt, not the toggle
    pilot.tap("sim_tap")
    pilot.wait_for_state(SessionState.IDENTITY, 20)
    assert theme.large_text  # kept through the session
    assert "Periksa nama dan foto Anda" in _spoken(pilot)[-1]
    assert "SITI" not in " ".join(_spoken(pilot)).upper()  # names are never said aloud
    pilot.tap("next")
    pilot.wait_for_state(SessionState.MENU)
    pilot.tap("service_akta_kelahiran")
    pilot.wait_for_state(SessionState.FORM)
    assert "Langkah 1 dari" in _spoken(pilot)[-1]
    pilot.tap("next")  # required fields empty: the errors are said
    pilot.wait_until(lambda: bool(pilot.app.view.errors), 10, "form errors")
    errors = pilot.app.view.errors
    assert _spoken(pilot)[-1] == speakable(join(*errors.values()).id, "id")
    pilot.tap("a11y_repeat")
    assert _spoken(pilot)[-1] == _spoken(pilot)[-2]
    pilot.screenshot(artifacts / "a11y_form_large_errors.png")
    pilot.tap("back")
    pilot.wait_for_state(SessionState.MENU)
    with pilot.hold_clock():  # the goodbye stays while it is checked
        pilot.tap("finish")
        pilot.tap("confirm_yes")
        pilot.wait_for_state(SessionState.GOODBYE)
        assert theme.large_text
    pilot.wait_for_state(SessionState.ATTRACT, 10)
    assert not theme.large_text  # the next citizen starts in the normal mode
    pilot.tap("lang_en")
    pilot.wait_until(lambda: _spoken(pilot)[-1].startswith("Place your e K T P"), 10, "English")


@pytest.mark.parametrize("presses", [12])
def test_still_here_extends_the_session_at_least_ten_times(
    start_kiosk: Callable[..., Any], presses: int
) -> None:
    pilot = start_kiosk(timeouts=Timeouts(inactivity_s=60, warning_s=20, goodbye_s=3.0))
    pilot.tap("sim_tap")
    pilot.wait_for_state(SessionState.IDENTITY, 20)
    answered: list[Any] = []
    for press in range(presses):
        # The session's clock skips the idle minute, then stands still until the answer (so
        # no new warning can come before it, however slow the frames).
        with pilot.hold_clock(skip_s=61):
            pilot.wait_until(
                lambda: (
                    pilot.app.warning is not None
                    and all(pilot.app.warning is not w for w in answered)
                ),
                10,
                f"warning {press + 1}",
            )
            warning = pilot.app.warning
            assert pilot.exists("still_here")
            pilot.tap("still_here")
            assert warning.parent is None  # closed at once; the next one is a new warning
            answered.append(warning)
            assert pilot.state == "identity", f"session ended after {press + 1} extensions"
    said = _spoken(pilot)
    assert sum(s.startswith("Apakah Anda masih di sini?") for s in said) >= 10
    assert "Sentuh tombol Saya masih di sini" in said[-1] or "Periksa nama" in said[-1]


def test_no_button_covers_another(artifacts: Path) -> None:
    found = [
        f"{s}/{m}/{lang}: {o}"
        for (s, m, lang), r in render_all(artifacts).items()
        for o in r.overlaps
    ]
    assert not found, (
        "buttons drawn over one another (a tap could hit the wrong one):\n" + "\n".join(found)
    )
