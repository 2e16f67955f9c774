"""Asking before typed work is discarded or the visit ends (issue 15: one tap lost work)."""

from __future__ import annotations

from kivy.app import App

from kiosk_app.domain.speech import join
from kiosk_app.domain.text import Text
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.widgets.confirm import ask


def end_visit(screen: KioskScreen, *, always: bool) -> None:
    """End the visit from `screen`: asked first when `always` or when this visit's
    pre-application still waits in the outbox (then the citizen is told it is kept)."""
    session = screen.session
    unsent = session.unsent_work()
    if not always and not unsent:
        session.finish()
        return
    detail = texts.END_UNSENT.format(reference=unsent) if unsent else texts.END_DETAIL
    ask(
        texts.END_QUESTION,
        detail,
        texts.END_YES,
        texts.END_NO,
        screen.lang,
        session.finish,
        screen.manager,
    )
    _say(join(texts.END_QUESTION, detail), screen.lang)


def back_to_menu(screen: KioskScreen) -> None:
    """The form's first page going back to the menu: asked first when it would lose typing."""
    session = screen.session
    if not session.typed_data():
        session.previous_page()
        return
    ask(
        texts.DISCARD_QUESTION,
        texts.DISCARD_DETAIL,
        texts.DISCARD_YES,
        texts.DISCARD_NO,
        screen.lang,
        session.previous_page,
        screen.manager,
    )
    _say(join(texts.DISCARD_QUESTION, texts.DISCARD_DETAIL), screen.lang)


def _say(text: Text, lang: str) -> None:
    """The question is spoken too (audio guidance; silent when it is off)."""
    a11y = getattr(App.get_running_app(), "a11y", None)
    if a11y is not None:
        a11y.audio.say(text, lang, remember=True)


__all__ = ["back_to_menu", "end_visit"]
