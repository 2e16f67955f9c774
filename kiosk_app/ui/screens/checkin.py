"""Check-in screen: scan the ticket's QR, tap the e-KTP or type the number; the calling number."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from kiosk_app.domain.speech import join
from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import SessionView
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import load_kv, tr
from kiosk_app.ui.screens.number_pad import NumberPadScreen, add_prefix_buttons, label_done_key
from kiosk_app.ui.widgets.keyboard import OnScreenKeyboard  # noqa: F401 - used by the .kv

T = Text
TITLE = texts.CHECKIN_TILE
HOW = T(
    "Ambil nomor antrean verifikasi: pindai kode QR pada tiket atau tanda terima Anda ke "
    "pemindai di bawah layar, atau tempelkan e-KTP pada pembaca kartu.",
    "Get your verification calling number: hold the QR code of your ticket or receipt under "
    "the scanner below the screen, or place your e-KTP on the card reader.",
)
TYPE_HINT = T(
    "Atau ketik nomor registrasi pada tiket Anda, lalu tekan 'Ambil nomor'.",
    "Or type the registration number on your ticket, then press 'Get number'.",
)
CHECK_IN = T("Ambil nomor", "Get number")
CHECKING = T("Memeriksa jadwal Anda...", "Checking your appointment...")
CALLING = T("Nomor antrean Anda", "Your calling number")
COUNTER = T("Loket", "Counter")
AHEAD = T("{people} orang di depan Anda", "{people} people ahead of you")
WAIT = T("Perkiraan menunggu {minutes} menit", "Estimated wait {minutes} minutes")
NEXT_UP = T("Tidak ada antrean di depan Anda", "Nobody is ahead of you")
PRINTING = T("Mencetak nomor antrean...", "Printing your calling number...")
PRINTED = T(
    "Ambil tiket nomor antrean Anda di bawah layar, lalu silakan duduk.",
    "Take your calling ticket below the screen, then please take a seat.",
)
ATTENDANT_CALLED = T("Petugas sudah dipanggil.", "An attendant has been called.")
DONE = T("Selesai", "Done")


class CheckinScreen(NumberPadScreen):
    """The verification day: a calling number for the ticket, shown large."""

    calling_number = StringProperty("")
    service_text = StringProperty("")
    counter_text = StringProperty("")
    ahead_text = StringProperty("")
    wait_text = StringProperty("")
    print_text = StringProperty("")

    def on_kv_post(self, _base: Any) -> None:
        """One button per service prefix; the keypad's "done" key checks in."""
        add_prefix_buttons(
            self.ids.prefixes, "checkin_prefix_", lambda p: self.call("checkin_prefix", p)
        )
        label_done_key(self.ids.keypad, CHECK_IN)

    def prompt(self, view: SessionView) -> Text | None:
        """How to check in, checking, or the calling number said aloud (in words)."""
        checkin = view.checkin
        if checkin is None:
            return None
        if checkin.loading:
            return CHECKING
        if checkin.result is not None:
            return checkin.result.announcement
        if checkin.message is not None:
            return None  # the message is said on its own
        return join(TITLE, HOW, TYPE_HINT)

    def update(self, view: SessionView) -> None:
        """The number typed, the check-in's progress, and the calling number or the refusal."""
        self.has_card = bool(view.name)
        checkin = view.checkin
        if checkin is None:
            return
        lang = view.language
        self.show_typing(checkin)
        message = tr(checkin.message, lang)
        if checkin.attendant_called:
            message = f"{message} {ATTENDANT_CALLED(lang)}".strip()
        self.message = message
        result = checkin.result
        self.has_result = result is not None
        if result is None:
            self.calling_number = self.service_text = self.counter_text = ""
            self.ahead_text = self.wait_text = self.print_text = ""
            return
        self.calling_number = result.calling_number
        self.service_text = tr(result.service, lang)
        self.counter_text = (
            f"{COUNTER(lang)} {result.counter_group}" if result.counter_group else ""
        )
        if result.people_ahead:
            self.ahead_text = AHEAD.format(people=result.people_ahead)(lang)
            self.wait_text = WAIT.format(minutes=result.estimated_wait_minutes)(lang)
        else:
            self.ahead_text, self.wait_text = NEXT_UP(lang), ""
        if result.priority is not None:  # granted by an attendant
            self.ahead_text = f"{result.priority(lang)} {self.ahead_text}"
        self.print_text = (
            PRINTING(lang) if result.printed is None else PRINTED(lang) if result.printed else ""
        )

    def left(self) -> None:
        """Nothing of the check-in stays on screen."""
        self.entry = self.calling_number = self.service_text = self.counter_text = ""
        self.ahead_text = self.wait_text = self.print_text = self.message = ""
        self.has_result = self.loading = False


load_kv("checkin")
