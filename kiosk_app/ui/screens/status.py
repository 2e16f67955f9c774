"""Status screen: a registration number typed on a keypad (or read from a QR), and its status."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from kiosk_app.domain.speech import join
from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import SessionView
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import load_kv, tr
from kiosk_app.ui.screens.number_pad import (
    NumberPadScreen,
    add_prefix_buttons,
    label_done_key,
    relabel_prefixes,
)
from kiosk_app.ui.screens.own_applications import OwnApplicationsPanel  # noqa: F401 - the .kv
from kiosk_app.ui.settle import changed_in_place
from kiosk_app.ui.widgets.keyboard import OnScreenKeyboard  # noqa: F401 - used by the .kv

T = Text
TITLE = T("Cek status permohonan", "Check application status")
HINT = T(
    "Pilih jenis layanan, lalu ketik angka nomor registrasi pada tiket Anda.",
    "Choose the service, then type the digits of the registration number on your ticket.",
)
SCAN_HINT = T(
    "Atau dekatkan kode QR pada tiket atau tanda terima ke pemindai di bawah layar.",
    "Or hold the QR code of your ticket or receipt under the scanner below the screen.",
)
CHECK = T("Cek status", "Check status")
CHECKING = T("Memeriksa status...", "Checking the status...")
WAITING = T("Status permohonan akan tampil di sini.", "The application's status will show here.")
NEXT = T("Yang perlu Anda lakukan", "What to do next")
VERIFY_ON = T("Jadwal verifikasi", "Verification date")
# Under each prefix the service in one word: "AKM" or "PDH" alone means nothing to a citizen.
PREFIX_WORDS = {
    "AKTA": T("kelahiran", "birth"),
    "AKM": T("kematian", "death"),
    "KK": T("keluarga", "family"),
    "KTP": T("e-KTP", "e-KTP"),
    "KIA": T("anak", "child"),
    "PDH": T("pindah", "moving"),
}


class StatusScreen(NumberPadScreen):
    """Type or scan a registration number; read the application's status in plain words."""

    number_text = StringProperty("")
    service_text = StringProperty("")
    status_text = StringProperty("")
    next_text = StringProperty("")
    slot_text = StringProperty("")
    office_text = StringProperty("")
    own_shown = BooleanProperty(False)  # the card holder's own applications cover the keypad

    def on_kv_post(self, _base: Any) -> None:
        """One big button per service prefix; the keypad's "done" key looks the number up."""
        add_prefix_buttons(
            self.ids.prefixes,
            "prefix_",
            lambda p: self.call("status_prefix", p),
            self._prefix_text,
        )
        self.bind(lang=lambda *_: relabel_prefixes(self.ids.prefixes, self._prefix_text))
        label_done_key(self.ids.keypad, CHECK)
        # The panel opening or closing: a double tap reaches nothing of what then shows.
        self.fbind("own_shown", changed_in_place)

    def _prefix_text(self, prefix: str) -> str:
        word = PREFIX_WORDS.get(prefix)
        return f"{prefix}\n{word(self.lang)}" if word is not None else prefix

    def prompt(self, view: SessionView) -> Text | None:
        """How to look up, checking, or the status and what to do next."""
        check = view.status_check
        if check is not None and check.loading:
            return CHECKING
        result = check.result if check is not None else None
        if result is None:
            return join(TITLE, HINT, SCAN_HINT)
        slot = result.slot
        when = (
            Text(
                f"{VERIFY_ON.id}: {texts.slot_text(slot, 'id')}",
                f"{VERIFY_ON.en}: {texts.slot_text(slot, 'en')}",
            )
            if slot
            else None
        )
        return join(result.service, result.status_text, result.next_step, when)

    def open_own(self) -> None:
        """Show the card holder's own applications (loaded fresh)."""
        self.own_shown = True
        self.call("show_own_applications")

    def close_own(self) -> None:
        """Back to the keypad."""
        self.own_shown = False

    def update(self, view: SessionView) -> None:
        """Show the number being typed, the look-up's progress and its result or message."""
        self.has_card = bool(view.name)
        self.ids.own.show(
            getattr(view, "card_holder", None) if self.has_card else None, view.language
        )
        check = view.status_check
        if check is None:
            return
        lang = view.language
        self.show_typing(check)
        self.message = tr(check.message, lang)
        result = check.result
        self.has_result = result is not None
        if result is None:
            self.number_text = self.service_text = self.status_text = ""
            self.next_text = self.slot_text = self.office_text = ""
            return
        self.number_text = result.registration_number
        self.service_text = tr(result.service, lang)
        self.status_text = tr(result.status_text, lang)
        self.next_text = tr(result.next_step, lang)
        self.slot_text = texts.slot_text(result.slot, lang) if result.slot else ""
        office = result.office_name
        self.office_text = f"{office} · {result.masked_name}" if result.masked_name else office

    def left(self) -> None:
        """Clear the number and the status."""
        self.own_shown = False
        self.ids.own.clear()
        self.entry = self.number_text = self.service_text = self.status_text = ""
        self.next_text = self.slot_text = self.office_text = self.message = ""
        self.has_result = self.loading = False


load_kv("status")
