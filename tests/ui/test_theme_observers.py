"""Widgets follow the theme without slowing down as widgets come and go all day.

Kivy's bind() compares a new callback with every observer already on the property, and the weak
observers of widgets long gone stay until the property next changes: each new button then cost
more than the last. Counted here in comparisons, not in time."""

from __future__ import annotations

import gc

import pytest

pytestmark = pytest.mark.ui


def test_a_new_button_does_not_visit_the_observers_of_dead_buttons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kivy.weakmethod import WeakMethod

    from kiosk_app.ui.widgets import BigButton, OnScreenKeyboard

    for _ in range(300):  # a few sessions' worth of screens, then dropped
        BigButton(text="Lanjut")
    OnScreenKeyboard(mode="digits")
    gc.collect()

    visits = [0]
    call = WeakMethod.__call__

    def counted(self: WeakMethod) -> object:
        visits[0] += 1
        return call(self)

    monkeypatch.setattr(WeakMethod, "__call__", counted)
    BigButton(text="Kembali")
    OnScreenKeyboard(mode="digits")
    assert visits[0] < 300, visits[0]  # bind() would visit each dead button's observers


def test_a_dismissed_dialog_is_freed() -> None:
    """A rule that held its dialog (through `self.ids`) kept every confirmation and warning
    alive, and with it the callbacks they were given: the session and the whole app."""
    import weakref

    from kiosk_app.domain.text import Text
    from kiosk_app.ui.widgets import InactivityWarning
    from kiosk_app.ui.widgets.confirm import ask

    class Owner:
        """Stands for the session whose method a confirmation calls."""

        def finish(self) -> None:
            """The yes-answer."""

    owner = Owner()
    question = Text("Akhiri kunjungan?", "End the visit?")
    dialog = ask(question, None, Text("Ya", "Yes"), Text("Tidak", "No"), "id", owner.finish)
    dialog.dispatch("on_no")
    warning = InactivityWarning(seconds_left=20)
    warning.open(animation=False)
    warning.dismiss(animation=False)
    gone = [weakref.ref(owner), weakref.ref(dialog), weakref.ref(warning)]
    del owner, dialog, warning
    gc.collect()
    assert [ref() for ref in gone] == [None, None, None]


def test_the_typed_field_box_follows_large_text_and_is_freed_with_its_editors() -> None:
    """The form's text box follows the heading size live; the theme (which lives as long as
    the process) held it through a setter() partial, and with it its editors and their screen:
    one more form's worth of widgets for every app, every collection slower."""
    import weakref

    from kivy.clock import Clock

    from kiosk_app.ui.screens.form_editors import EditorParts
    from kiosk_app.ui.theme import theme

    class Parts(EditorParts):
        """What FormScreen gives the editors: their cache and the typing callbacks."""

        def __init__(self) -> None:
            self._editors = {}

        def _typed(self, _input: object, text: str) -> None:
            """Typed text (not used here)."""

        def _on_key(self, _keyboard: object, key: str) -> None:
            """A key (not used here)."""

    parts = Parts()
    box, keyboard = parts._keyboard("digits")
    try:
        theme.large_text = True
        assert box.font_size == theme.sp_heading
    finally:
        theme.large_text = False
    assert box.font_size == theme.sp_heading
    freed = weakref.ref(box)
    del parts, box, keyboard
    # a second form's editors: Kivy's own text box refreshes keep the latest box until they run
    later = Parts()._keyboard("digits")
    Clock.tick()
    gc.collect()
    assert freed() is None and later[0].font_size == theme.sp_heading
