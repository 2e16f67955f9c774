"""Accessibility: the bar on every screen (repeat, large text) and spoken guidance."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk_app.domain.session import SessionState
from kiosk_app.domain.speech import date_spoken, join
from kiosk_app.domain.text import Text
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import a11y_texts as A
from kiosk_app.ui.widgets import buttons as _buttons  # noqa: F401 - BigButton's kv rule
from kiosk_app.ui.widgets import strings
from kiosk_app.ui.widgets._kv import load_kv

if TYPE_CHECKING:  # the attract screen shows before the services are imported
    from kiosk_app.services.audio import AudioGuidance

log = logging.getLogger(__name__)


def _controller() -> Accessibility | None:
    app: Any = App.get_running_app()
    controller = getattr(app, "a11y", None)
    return controller if isinstance(controller, Accessibility) else None


class AssistedBadge(Label):
    """ "Dibantu petugas PTG-07" while an attendant assists the visit (nothing otherwise): in
    the screen's own title bar, so the layout makes room for it and no control lies under it
    (a badge drawn over the screens took the touches on the buttons' lower edges)."""

    lang = StringProperty("id")
    attendant = StringProperty("")
    two_line = BooleanProperty(True)

    def role_size(self) -> float:
        """Its font size (FIT measures it as it does a button's)."""
        return float(theme.sp_small)


class A11yButtons(BoxLayout):
    """ "Ulangi suara" and the large-text toggle, side by side (after the assisted badge)."""

    lang = StringProperty("id")
    assisted_by = StringProperty("")  # the attendant assisting the visit, "" when nobody

    _badge: AssistedBadge | None = None

    def on_assisted_by(self, _widget: Any, attendant: str) -> None:
        """Show the badge, first in the row, or take it away (built on first need; an empty
        one would still take the row's spacing from the title)."""
        badge = self._badge
        if attendant and badge is None:
            badge = self._badge = AssistedBadge(lang=self.lang, two_line=self.two_line)
            self.bind(lang=badge.setter("lang"), two_line=badge.setter("two_line"))
        if badge is None:
            return
        badge.attendant = attendant
        if attendant and badge.parent is None:
            self.add_widget(badge, index=len(self.children))
        elif not attendant and badge.parent is self:
            self.remove_widget(badge)

    def repeat(self) -> None:
        """Say the last prompt again."""
        controller = _controller()
        if controller is not None:
            controller.repeat()

    def toggle_large_text(self) -> None:
        """Large text and high contrast on or off (kept until the session ends)."""
        controller = _controller()
        if controller is not None:
            controller.toggle_large_text(self.lang)
        else:
            theme.large_text = not theme.large_text


class A11yBar(BoxLayout):
    """A strip holding the buttons, for screens without a title bar."""

    lang = StringProperty("id")
    assisted_by = StringProperty("")


def attach_a11y_bar(screen: Widget) -> Widget:
    """Put the buttons in each of the screen's title bars (its own, and a panel's shown over
    it: every view the citizen sees keeps them), or in a strip above its content; the
    assisted badge goes with them."""
    top_bars = [w for w in screen.walk(restrict=True) if type(w).__name__ == "KTopBar"]
    for top_bar in top_bars:
        buttons = A11yButtons(lang=getattr(screen, "lang", "id"), size_hint_y=1)
        top_bar.add_widget(buttons)
        screen.bind(lang=buttons.setter("lang"), assisted_by=buttons.setter("assisted_by"))
    if top_bars:
        return top_bars[0].children[0]
    content = list(reversed(screen.children))
    for child in content:
        screen.remove_widget(child)
    box = BoxLayout(orientation="vertical")
    bar = A11yBar(lang=getattr(screen, "lang", "id"))
    box.add_widget(bar)
    for child in content:
        box.add_widget(child)
    screen.add_widget(box)
    screen.bind(lang=bar.setter("lang"), assisted_by=bar.setter("assisted_by"))
    return bar


def visible_title(screen: Widget) -> Text | None:
    """The first heading a screen shows (the prompt of screens that define none)."""
    for widget in screen.walk(restrict=True):
        cls = type(widget).__name__
        if isinstance(widget, Label) and cls in ("KTopLabel", "KTitle", "KHeading") and widget.text:
            return Text(widget.text, widget.text)
    return None


class Accessibility:
    """Speaks each screen's prompt, confirmations and errors; owns the large-text mode."""

    def __init__(self, audio: AudioGuidance) -> None:
        self.audio = audio
        self._state: SessionState | None = None
        self._prompt: str = ""
        self._message: Text | None = None
        self._errors: Mapping[str, Text] = {}
        self._values: Mapping[str, str] = {}
        self._warning = False

    def start(self) -> None:
        """A fresh kiosk starts in normal mode."""
        theme.large_text = False

    def close(self) -> None:
        """Stop speaking."""
        self.audio.close()

    # -- buttons -----------------------------------------------------------------------------
    def repeat(self) -> None:
        """The "Ulangi suara" button."""
        self.audio.repeat()

    def toggle_large_text(self, lang: str) -> None:
        """The large-text button: switch, and say so."""
        theme.large_text = not theme.large_text
        self.audio.say(A.LARGE_ON if theme.large_text else A.LARGE_OFF, lang, remember=False)

    # -- views -------------------------------------------------------------------------------
    def on_view(self, view: Any, screen: Any) -> None:
        """Main thread, after a render: say what changed for the citizen."""
        try:
            self._on_view(view, screen)
        except Exception:  # guidance must never break rendering
            log.exception("audio guidance for %s failed", view.state.value)

    def _on_view(self, view: Any, screen: Any) -> None:
        lang = view.language
        previous = self._state
        if previous is SessionState.GOODBYE and view.state is not SessionState.GOODBYE:
            theme.large_text = False  # the next citizen starts in the normal mode
            self.audio.forget()
        prompt_text = screen.prompt(view) if hasattr(screen, "prompt") else None
        prompt = prompt_text(lang) if prompt_text is not None else ""
        message = view.message
        errors = dict(view.errors)
        warning = view.warning_seconds_left is not None
        said: Text | None = None
        remember = True
        if warning and not self._warning:
            said = join(
                strings.STILL_THERE,
                strings.COUNTDOWN.format(seconds=view.warning_seconds_left),
                A.STILL_HERE_HINT,
            )
        elif view.state is not previous or prompt != self._prompt:
            said = join(prompt_text, message)
        elif message is not None and message != self._message:
            said = message
        elif errors and errors != self._errors:
            said = join(*(errors[k] for k in errors if self._errors.get(k) != errors[k]))
        else:
            said = self._confirmation(view)
            remember = False
        self._state, self._prompt, self._message = view.state, prompt, message
        self._errors, self._values, self._warning = errors, dict(view.values), warning
        if said is not None:
            self.audio.say(said, lang, remember=remember)

    def _confirmation(self, view: Any) -> Text | None:
        """ "Laki-laki dipilih": a choice, a date or a time just set on the form."""
        if view.state is not SessionState.FORM or view.service is None:
            return None
        from kiosk_app.domain.forms import FieldKind  # not before the attract screen's 1st frame

        form = view.service.form
        if form is None or not 0 <= view.page < len(form.pages):
            return None
        for spec in form.pages[view.page].fields:
            value = view.values.get(spec.name, "")
            if not value or value == self._values.get(spec.name, ""):
                continue
            if spec.kind in (FieldKind.CHOICE, FieldKind.LIST):
                label = next((c.label for c in spec.choices if c.key == value), None)
                if label is not None:
                    return Text(
                        A.CHOSEN.id.format(value=label.id), A.CHOSEN.en.format(value=label.en)
                    )
            elif spec.kind is FieldKind.DATE and len(value) == 10:
                year, month, day = (int(p) for p in value.split("-"))
                return Text(
                    A.CHOSEN.id.format(value=date_spoken(day, month, year, "id")),
                    A.CHOSEN.en.format(value=date_spoken(day, month, year, "en")),
                )
            elif spec.kind is FieldKind.TIME:
                hhmm = value.replace(":", ".")
                return Text(
                    A.CHOSEN.id.format(value=f"Pukul {hhmm}"), A.CHOSEN.en.format(value=hhmm)
                )
        return None


load_kv(__file__)
