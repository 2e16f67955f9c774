"""The card holder's own applications on the status screen: one timeline each, in plain words."""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk_app.domain.text import Text
from kiosk_app.domain.timeline import Timeline
from kiosk_app.services.session.views import CardHolderView
from kiosk_app.ui.screens.base import load_kv, scroll_by, tr
from kiosk_app.ui.widgets.shield import TouchShield

T = Text
TITLE = T("Permohonan saya", "My applications")
OPEN = T("Permohonan saya", "My applications")
LOADING = T("Mengambil permohonan Anda...", "Fetching your applications...")
NEXT = T("Berikutnya", "Next")
WHEN = T("Kapan", "When")
BRING = T("Yang perlu dibawa", "What to bring")
CODE = T("Kode cetak (rahasia, sekali pakai)", "Print code (secret, works once)")
NUMBER = T("Nomor registrasi", "Registration number")
BACK = T("Kembali", "Back")
COPY = T("Cetak ulang tanda terima", "Print the receipt again")
COPYING = T("Mencetak ulang tanda terima...", "Printing the receipt again...")
SCROLL_SHARE = 0.8


class OwnApplicationsPanel(TouchShield, BoxLayout):
    """Timelines of the card holder's applications; scrolled with ▲/▼ buttons, never a swipe.
    Shown over the status screen's keypad: a touch on it never reaches what it covers, and its
    title bar has the accessibility buttons (attach_a11y_bar puts them in every title bar)."""

    lang = StringProperty("id")
    busy_text = StringProperty("")
    notice = StringProperty("")
    notice_ok = BooleanProperty(False)  # the notice says a receipt copy printed (green, not red)
    __events__ = ("on_close", "on_copy")

    def on_close(self) -> None:
        """The Back button: the status screen hides the panel."""

    def on_copy(self, registration_number: str) -> None:
        """A "Cetak ulang tanda terima" button: the status screen asks the session."""

    def __init__(self, **kwargs: Any) -> None:
        """Empty until shown."""
        super().__init__(**kwargs)
        self._shown: tuple[Any, ...] | None = None

    def show(self, view: CardHolderView | None, lang: str) -> None:
        """Render the desk's timelines (rebuilt only when they or the language changed)."""
        self.lang = lang
        if view is None:
            self.clear()
            return
        busy = LOADING if view.loading else COPYING if view.copying else None
        self.busy_text = tr(busy, lang) if busy is not None else ""
        self.notice = "\n".join(tr(m, lang) for m in view.messages)
        self.notice_ok = view.printed
        shown = (lang, view.timelines, view.copyable)
        if shown == self._shown:
            return
        self._shown = shown
        rows = self.ids.rows
        rows.clear_widgets()
        for index, line in enumerate(view.timelines):
            self._add_timeline(rows, index, line, lang, line.registration_number in view.copyable)
        self.ids.scroll.scroll_y = 1

    def _add_timeline(
        self, rows: Any, index: int, line: Timeline, lang: str, copyable: bool
    ) -> None:
        def label(text: str, kind: str = "KLabel", **kw: Any) -> Any:
            widget = getattr(Factory, kind)(text=text, **kw)
            rows.add_widget(widget)
            return widget

        heading = label(f"{tr(line.title, lang)}", "KHeading")
        heading.pilot_id = f"own_title_{index}"
        label(f"{tr(NUMBER, lang)}: {line.registration_number}")
        if copyable:  # a lost receipt, printed again from the server's data (at the top)
            number = line.registration_number
            button = Factory.BigButton(text=tr(COPY, lang), kind="secondary")
            button.pilot_id = f"own_copy_{index}"
            button.bind(on_release=lambda *_: self.dispatch("on_copy", number))
            rows.add_widget(button)
        for step in line.steps:
            label(f"•  {tr(step.when, lang)}  —  {tr(step.what, lang)}")
        nxt = label(f"{tr(NEXT, lang)}: {tr(line.next, lang)}", "KHeading")
        nxt.pilot_id = f"own_next_{index}"
        if line.when is not None:
            label(f"{tr(WHEN, lang)}: {tr(line.when, lang)}").pilot_id = f"own_when_{index}"
        if line.bring:
            items = "".join(f"\n   •  {tr(b, lang)}" for b in line.bring)
            label(f"{tr(BRING, lang)}:{items}").pilot_id = f"own_bring_{index}"
        if line.print_code:
            label(f"{tr(CODE, lang)}: {line.print_code}", "KTitle").pilot_id = f"own_code_{index}"
        label(" ")

    def scroll(self, direction: int) -> None:
        """Move by most of a screenful (+1 down, -1 up)."""
        scroll_by(self.ids.scroll, self.ids.rows.height, direction, SCROLL_SHARE)

    def clear(self) -> None:
        """Drop everything shown (a print code is secret)."""
        self._shown = None
        self.ids.rows.clear_widgets()
        self.busy_text = self.notice = ""


load_kv("own_applications")
