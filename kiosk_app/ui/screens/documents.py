"""Documents screen: print the card holder's issued document, or one whose print code is typed."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.gridlayout import GridLayout

from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import CODE_LETTERS, NONE_READY, CardHolderView, SessionView
from kiosk_app.ui.screens.base import KioskScreen, load_kv, tr
from kiosk_app.ui.widgets.buttons import BigButton

T = Text
TITLE = T("Cetak dokumen", "Print documents")
MINE = T("Dokumen Anda yang siap dicetak", "Your documents ready to print")
LOADING = T("Mencari dokumen Anda...", "Looking for your documents...")
CODE = T(
    "Atau ketik kode cetak dari SMS / WhatsApp", "Or type the print code from your SMS / WhatsApp"
)
PRINT_CODE = T("Cetak dengan kode", "Print with the code")
PRINT_THIS = T("Cetak", "Print")
PRINTING = T(
    "Sedang mencetak... Jangan cabut e-KTP Anda.",
    "Printing... Please leave your e-KTP on the reader.",
)
BACKSPACE = T("Hapus", "Delete")
CODE_PAD_COLUMNS = 5


class DocumentsScreen(KioskScreen):
    """Pick a ready document or type a one-time print code; the kiosk prints it on A4."""

    code = StringProperty("")
    busy_text = StringProperty("")
    notice = StringProperty("")
    printed = BooleanProperty(False)
    busy = BooleanProperty(False)  # printing: leaving would not stop the paper
    loading = BooleanProperty(False)
    prompt_text = TITLE

    def on_kv_post(self, _base: Any) -> None:
        """The code pad holds only the letters and digits a print code can have."""
        pad: GridLayout = self.ids.code_pad
        for char in CODE_LETTERS:
            # the keypads' role: "title" never fitted the rows (it shrank to the key size anyway)
            key = BigButton(
                text=char, kind="secondary", font_role="key", size_hint=(1, 1), auto_height=False
            )
            key.pilot_id, key.key = f"code_key_{char}", char
            key.bind(on_release=lambda b: self.call("documents_key", b.key))
            pad.add_widget(key)
        self._shown: tuple[Any, ...] | None = None

    def update(self, view: SessionView) -> None:
        """Show the ready documents, the typed code, progress and the outcome."""
        desk: CardHolderView | None = getattr(view, "card_holder", None)
        if desk is None:
            return
        lang = view.language
        self.code = desk.code
        self.busy, self.loading = desk.printing, desk.loading
        self.busy_text = (
            tr(PRINTING, lang) if desk.printing else (tr(LOADING, lang) if desk.loading else "")
        )
        self.printed = desk.printed
        self.notice = "\n".join(tr(m, lang) for m in desk.messages)
        if desk.loaded and not desk.ready and not desk.loading and not desk.messages:
            self.ids.none_ready.text = tr(NONE_READY, lang)
        else:
            self.ids.none_ready.text = ""
        shown = (lang, desk.ready, desk.printing)
        if shown != self._shown:
            self._shown = shown
            self._build_ready(desk, lang)

    def _build_ready(self, desk: CardHolderView, lang: str) -> None:
        box = self.ids.ready_list
        box.clear_widgets()
        for doc in desk.ready:
            button = BigButton(
                text=f"{PRINT_THIS(lang)}: {doc.title(lang)}\n{doc.document_number}",
                kind="accent",
                disabled=desk.printing,
            )
            button.pilot_id = f"print_{doc.registration_number}"
            button.number = doc.registration_number
            button.bind(on_release=lambda b: self.call("print_own_document", b.number))
            box.add_widget(button)

    def left(self) -> None:
        """Drop what was shown (document numbers, the typed code)."""
        self._shown = None
        self.ids.ready_list.clear_widgets()
        self.ids.none_ready.text = ""
        self.code = self.notice = self.busy_text = ""
        self.printed = self.busy = self.loading = False


load_kv("documents")
