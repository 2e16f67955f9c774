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
