"""The attendant panel: assist the citizen, continue a UID-only card, devices, reprints, held
outbox rows, lock."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView
from kivy.uix.widget import Widget

from kiosk_app.domain.dates import local_time
from kiosk_app.domain.text import Text
from kiosk_app.services.attendant.service import AttendantService
from kiosk_app.services.session.views import AttendantView, HeldItem, ReprintItem
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.buttons import BigButton
from kiosk_app.ui.widgets.keyboard import OnScreenKeyboard
from kiosk_app.ui.widgets.stepper import ThemedLabel

TITLE = Text("Mode petugas \u00b7 {attendant}", "Attendant mode \u00b7 {attendant}")
CLOSE = Text("Tutup", "Close")
LOCK = Text("Kunci & keluar", "Lock & leave")
ASSIST = Text("Bantu isi formulir", "Fill in for the citizen")
UID = Text("Kartu tanpa chip", "Card without chip")
DEVICES = Text("Periksa perangkat", "Check devices")
REPRINTS = Text("Cetak ulang tiket", "Reprint tickets")
PRIORITY = Text("Jalur prioritas", "Priority lane")
PRIORITY_HINT = Text(
    "Untuk warga yang nomor antreannya tampil di layar check-in:",
    "For the citizen whose calling number shows on the check-in screen:",
)
PRIORITY_REASONS = (
    ("lansia", Text("Lansia", "Elderly")),
    ("disabilitas", Text("Disabilitas", "Disability")),
    ("ibu_hamil", Text("Ibu hamil", "Pregnant")),
)
HOME = Text(
    "Pilih tugas di atas. Mode ini terkunci sendiri bila tidak disentuh.",
    "Choose a task above. This mode locks itself when left untouched.",
)
SESSION_ASSISTED = Text(
    "Sesi saat ini dibantu petugas {attendant}.", "The current session is assisted by {attendant}."
)
SESSION_NONE = Text("Sesi saat ini belum dibantu petugas.", "The current session is not assisted.")
UID_WAITING = Text(
    "Kartu warga tanpa data e-KTP sudah terbaca. Ketik NIK dan nama dari kartu.",
    "A citizen's card without e-KTP data was read. Type the NIK and name from it.",
)
UID_NONE = Text(
    "Minta warga menempelkan kartunya dulu; lalu ketik NIK dan nama dari kartu.",
    "Ask the citizen to place the card first; then type the NIK and name from it.",
)
NIK = Text("NIK (16 angka)", "NIK (16 digits)")
NAME = Text("Nama sesuai kartu", "Name as on the card")
CONTINUE = Text("Lanjutkan layanan", "Continue the service")
RECHECK = Text("Periksa ulang", "Check again")
RESUME_A4 = Text("Lanjutkan printer A4", "Resume the A4 printer")
REPRINT = Text("Cetak ulang", "Reprint")
REPRINT_RECEIPT = Text("Cetak ulang bukti", "Reprint receipt")
RECEIPT = Text("bukti A4", "A4 receipt")
CALLING = Text("nomor panggilan", "calling number")
DISMISS = Text("Hapus", "Remove")
NO_REPRINTS = Text("Tidak ada tiket yang perlu dicetak ulang.", "No ticket needs a reprint.")
STATES = {
    "failed": Text("gagal", "failed"),
    "interrupted": Text("terputus", "interrupted"),
    "last": Text("tiket terakhir", "last ticket"),
    "printed": Text("sudah tercetak", "printed"),
}
HELD = Text("Kiriman tertahan", "Held submissions")
HELD_COUNTED = Text("Kiriman tertahan ({count})", "Held submissions ({count})")
HELD_WAITING = Text(
    "{count} kiriman tertahan menunggu petugas: sentuh Kiriman tertahan.",
    "{count} held submission(s) wait for an attendant: touch Held submissions.",
)
NO_HELD = Text("Tidak ada kiriman yang tertahan.", "No submission is held.")
MORE_HELD = Text(
    "...dan {count} lagi: tangani yang di atas dulu.",
    "...and {count} more: deal with those above first.",
)
RETRY_HELD = Text("Coba kirim lagi", "Try sending again")
HANDLED = Text("Sudah ditangani", "Handled")
MAX_ROWS = 5
MAX_HELD_ROWS = 4


def held_title(count: int) -> Text:
    """The held section's button, with the number of held rows when there are any."""
    return HELD_COUNTED.format(count=count) if count else HELD


class AttendantPanel(ModalView):
    """Full-screen panel over the citizen's screen while attendant mode is unlocked."""

    lang = StringProperty("id")
    attendant_id = StringProperty("")
    message = StringProperty("")
    message_ok = BooleanProperty(False)
    busy = BooleanProperty(False)
    section = OptionProperty(
        "home", options=("home", "uid", "devices", "reprints", "held", "priority")
    )
    held_count = NumericProperty(0)
    nik_text = StringProperty("")
    name_text = StringProperty("")
    field = OptionProperty("nik", options=("nik", "name"))

    def __init__(self, service: AttendantService, **kwargs: Any) -> None:
        """A panel acting through `service`."""
        theme.track_window()
        kwargs["auto_dismiss"] = False
        super().__init__(**kwargs)
        self.service = service
        self.pilot_id = "attendant_panel"
        self.view = service.view()
        self._errors: dict[str, Text] = {}
        self._uid: BoxLayout | None = None
        self._uid_ids: dict[str, Any] = {}
        self._keyboards: dict[str, OnScreenKeyboard] = {}
        self.bind(section=self._rebuild, lang=self._rebuild)
        self.show(self.view)
        self._rebuild()

    def t(self, text: Text | None) -> str:
        """`text` in the panel's language."""
        return "" if text is None else text("en" if self.lang == "en" else "id")

    def on_dismiss(self) -> None:
        """Closed or locked: forget what was typed (personal data) and go back home."""
        self.nik_text = self.name_text = ""
        self._errors = {}
        self.field = "nik"
        self._refresh_fields()

    # -- actions ------------------------------------------------------------------------------
    def assist(self) -> None:
        """Mark the citizen's session assisted, then get out of the way of the form."""
        if self.service.assist():
            self.dismiss(animation=False)

    def check_devices(self) -> None:
        """Ask every device again, in the background."""
        self.section = "devices"
        self.service.in_background("check_devices")

    def resume_a4(self) -> None:
        """Restart the A4 printer's stopped print queue, in the background."""
        self.section = "devices"
        self.service.in_background("resume_a4")

    def reprint(self, job_id: int) -> None:
        """Reprint one ticket, in the background."""
        self.service.in_background("reprint", job_id)

    def dismiss_job(self, job_id: int) -> None:
        """Drop a ticket from the reprint list, in the background."""
        self.service.in_background("dismiss", job_id)

    def retry_held(self, entry_id: int) -> None:
        """Send a held submission again, in the background."""
        self.service.in_background("retry_held", entry_id)

    def mark_handled(self, entry_id: int) -> None:
        """Mark a held submission handled, in the background."""
        self.service.in_background("mark_handled", entry_id)

    def continue_uid(self) -> None:
        """Start the citizen's session from the typed NIK and name."""
        self._errors = self.service.continue_uid_card(self.nik_text, self.name_text)
        if not self._errors:
            self.nik_text = self.name_text = ""
            self.dismiss(animation=False)
        else:
            self._rebuild()

    def on_key(self, key: str) -> None:
        """A key of the keyboard edits the selected field."""
        text = self.nik_text if self.field == "nik" else self.name_text
        if key == "backspace":
            text = text[:-1]
        elif key == "done":
            self.select("name" if self.field == "nik" else "nik")
            return
        elif self.field == "nik" and key.isdigit() and len(text) < 16:
            text += key
        elif self.field == "name" and len(text) < 60 and key != "done":
            text += " " if key == "space" else key
        if self.field == "nik":
            self.nik_text = text
        else:
            self.name_text = text
        self._refresh_fields()

    def select(self, field: str) -> None:
        """Choose which field the keyboard types into."""
        self.field = field
        self._rebuild()

    # -- rendering ----------------------------------------------------------------------------
    def show(self, view: AttendantView) -> None:
        """Render the attendant service's view."""
        old, self.view = self.view, view
        self.attendant_id = view.attendant_id
        self.busy = view.busy
        self.message = self.t(view.message)
        self.message_ok = view.message_ok
        self.held_count = len(view.held)
        if (old.devices, old.reprints, old.held, old.session_assisted_by, old.uid_card_waiting) != (
            view.devices,
            view.reprints,
            view.held,
            view.session_assisted_by,
            view.uid_card_waiting,
        ):
            self._rebuild()

    def _rebuild(self, *_args: Any) -> None:
        body = self.ids.body
        body.clear_widgets()
        getattr(self, f"_build_{self.section}")(body)

    def _build_home(self, body: BoxLayout) -> None:
        body.add_widget(ThemedLabel(text=self.t(HOME), halign="left"))
        who = self.view.session_assisted_by
        body.add_widget(
            ThemedLabel(
                text=self.t(SESSION_ASSISTED.format(attendant=who) if who else SESSION_NONE),
                halign="left",
            )
        )
        if self.view.held:  # e.g. at the start of the day: rows refused or not booked overnight
            waiting = ThemedLabel(
                text=self.t(HELD_WAITING.format(count=len(self.view.held))),
                halign="left",
                color=theme.error,
            )
            waiting.pilot_id = "held_waiting"
            body.add_widget(waiting)
        body.add_widget(Widget())

    def _build_uid(self, body: BoxLayout) -> None:
        if self._uid is None:  # built once: a full keyboard takes seconds to draw in software
            self._uid = self._make_uid()
        ids = self._uid_ids
        ids["hint"].text = self.t(UID_WAITING if self.view.uid_card_waiting else UID_NONE)
        for name, label in (("nik", NIK), ("name", NAME)):
            ids[f"{name}_label"].text = self.t(label)
            ids[name].kind = "primary" if self.field == name else "secondary"
            ids[f"{name}_error"].text = self.t(self._errors.get(name))
        ids["go"].text = self.t(CONTINUE)
        mode = "digits" if self.field == "nik" else "text"
        keys = self._keyboards.get(mode)
        if keys is None:
            keys = self._keyboards[mode] = OnScreenKeyboard(mode=mode, size_hint_y=None)
            keys.pilot_id = "uid_keys"
            keys.bind(on_key=lambda _k, key: self.on_key(key))
        keys.lang = self.lang
        slot = ids["keys_slot"]
        if keys.parent is not slot:
            slot.clear_widgets()
            if keys.parent is not None:
                keys.parent.remove_widget(keys)
            slot.add_widget(Widget())
            slot.add_widget(keys)
        if self._uid.parent is not None:
            self._uid.parent.remove_widget(self._uid)
        body.add_widget(self._uid)
        self._refresh_fields()

    def _make_uid(self) -> BoxLayout:
        """The NIK and name fields, the continue button, and a place for the keyboard."""
        ids = self._uid_ids
        row = BoxLayout(orientation="horizontal", spacing=theme.spacing * 2)
        left = BoxLayout(orientation="vertical", spacing=theme.spacing, size_hint_x=0.42)
        ids["hint"] = ThemedLabel(font_role="small", halign="left")
        left.add_widget(ids["hint"])
        for name in ("nik", "name"):
            ids[f"{name}_label"] = ThemedLabel(halign="left")
            box = ids[name] = BigButton(font_role="heading")
            box.pilot_id = f"uid_{name}"
            box.bind(on_release=lambda _b, n=name: self.select(n))
            error = ids[f"{name}_error"] = ThemedLabel(
                font_role="small", halign="left", color=theme.error
            )
            error.pilot_id = f"uid_{name}_error"
            for widget in (ids[f"{name}_label"], box, error):
                left.add_widget(widget)
        left.add_widget(Widget())
        go = ids["go"] = BigButton(kind="accent")
        go.pilot_id = "uid_continue"
        go.bind(on_release=lambda _b: self.continue_uid())
        left.add_widget(go)
        ids["keys_slot"] = BoxLayout(orientation="vertical")
        row.add_widget(left)
        row.add_widget(ids["keys_slot"])
        return row

    def _refresh_fields(self) -> None:
        if self._uid is not None:
            self._uid_ids["nik"].text = _grouped(self.nik_text) or " "
            self._uid_ids["name"].text = self.name_text or " "

    def _build_devices(self, body: BoxLayout) -> None:
        for line in self.view.devices:
            mark = theme.symbol("check") if line.ok else "\u2716"
            text = f"{mark} {self.t(line.label)}: {self.t(line.advice)}"
            label = ThemedLabel(
                text=text,
                halign="left",
                font_role="body",
                color=theme.success if line.ok else theme.error,
            )
            label.pilot_id = f"device_{line.name}"
            body.add_widget(label)
        body.add_widget(Widget())
        if any(line.resumable for line in self.view.devices):
            resume = BigButton(text=self.t(RESUME_A4), kind="accent", size_hint_y=None)
            resume.pilot_id = "resume_a4"
            resume.bind(on_release=lambda _b: self.resume_a4())
            body.add_widget(resume)
        again = BigButton(text=self.t(RECHECK), size_hint_y=None)
        again.pilot_id = "devices_recheck"
        again.bind(on_release=lambda _b: self.check_devices())
        body.add_widget(again)

    def _build_priority(self, body: BoxLayout) -> None:
        body.add_widget(ThemedLabel(text=self.t(PRIORITY_HINT), halign="left"))
        row = BoxLayout(size_hint_y=None, height=theme.touch * 1.3, spacing=theme.spacing * 1.5)
        for reason, label in PRIORITY_REASONS:
            button = BigButton(text=self.t(label), size_hint_y=1, auto_height=False)
            button.pilot_id = f"priority_{reason}"
            button.bind(
                on_release=lambda _b, r=reason: self.service.in_background("grant_priority", r)
            )
            row.add_widget(button)
        body.add_widget(row)
        body.add_widget(Widget())

    def _build_reprints(self, body: BoxLayout) -> None:
        items = list(reversed(self.view.reprints))[:MAX_ROWS]
        if not items:
            body.add_widget(ThemedLabel(text=self.t(NO_REPRINTS), halign="left"))
        for item in items:
            body.add_widget(self._reprint_row(item))
        body.add_widget(Widget())

    def _reprint_row(self, item: ReprintItem) -> BoxLayout:
        row = BoxLayout(
            orientation="horizontal", spacing=theme.spacing, size_hint_y=None, height=theme.touch
        )
        state = self.t(STATES.get(item.state, Text(item.state, item.state)))
        when = local_time(item.created_at, "%H:%M")
        receipt = item.kind == "receipt"
        reference, what = item.reference, f" \u00b7 {self.t(RECEIPT)}" if receipt else ""
        if item.kind == "calling":  # "A-012/AKTA-.../2026-12-07": the number is what is asked
            reference, what = item.reference.split("/")[0], f" \u00b7 {self.t(CALLING)}"
        row.add_widget(
            ThemedLabel(
                text=f"{reference}{what} \u00b7 {state} \u00b7 {when}",
                halign="left",
                size_hint_y=1,
            )
        )
        again = BigButton(
            text=self.t(REPRINT_RECEIPT if receipt else REPRINT),
            size_hint=(0.26 if receipt else 0.22, 1),
        )
        again.pilot_id = f"reprint_{item.job_id}"
        again.bind(on_release=lambda _b, j=item.job_id: self.reprint(j))
        row.add_widget(again)
        if item.state not in ("last", "printed"):
            drop = BigButton(text=self.t(DISMISS), kind="secondary", size_hint=(0.16, 1))
            drop.pilot_id = f"dismiss_{item.job_id}"
            drop.bind(on_release=lambda _b, j=item.job_id: self.dismiss_job(j))
            row.add_widget(drop)
        return row

    def _build_held(self, body: BoxLayout) -> None:
        items = self.view.held[:MAX_HELD_ROWS]
        if not items:
            body.add_widget(ThemedLabel(text=self.t(NO_HELD), halign="left"))
        for item in items:
            body.add_widget(self._held_row(item))
        more = len(self.view.held) - len(items)
        if more > 0:
            body.add_widget(
                ThemedLabel(
                    text=self.t(MORE_HELD.format(count=more)), font_role="small", halign="left"
                )
            )
        body.add_widget(Widget())

    def _held_row(self, item: HeldItem) -> BoxLayout:
        """Reference, service, when queued, masked NIK, why held; the actions its reason allows."""
        row = BoxLayout(orientation="horizontal", spacing=theme.spacing, size_hint_y=None)
        words = BoxLayout(orientation="vertical", size_hint_y=None)
        words.bind(minimum_height=words.setter("height"))
        nik = f" \u00b7 NIK {item.masked_nik}" if item.masked_nik else ""
        head = ThemedLabel(
            text=f"{item.reference} \u00b7 {self.t(item.service)} \u00b7 {item.queued_at}{nik}",
            halign="left",
            font_role="small",
        )
        head.pilot_id = f"held_{item.entry_id}"
        why = ThemedLabel(
            text=self.t(item.reason), halign="left", font_role="small", color=theme.error
        )
        why.pilot_id = f"held_reason_{item.entry_id}"
        words.add_widget(head)
        words.add_widget(why)
        row.add_widget(words)
        row.height = max(theme.touch, words.height)
        words.bind(height=lambda _w, h: setattr(row, "height", max(theme.touch, h)))
        if item.kind == "no_place":
            again = BigButton(text=self.t(RETRY_HELD), size_hint=(0.22, None), height=theme.touch)
            again.pilot_id = f"held_retry_{item.entry_id}"
            again.bind(on_release=lambda _b, e=item.entry_id: self.retry_held(e))
            row.add_widget(again)
        else:  # keeps "Sudah ditangani" in one column
            row.add_widget(Widget(size_hint_x=0.22))
        done = BigButton(
            text=self.t(HANDLED), kind="secondary", size_hint=(0.2, None), height=theme.touch
        )
        done.pilot_id = f"held_handled_{item.entry_id}"
        done.bind(on_release=lambda _b, e=item.entry_id: self.mark_handled(e))
        row.add_widget(done)
        return row


def _grouped(nik: str) -> str:
    """A NIK in groups of four, as printed on the card."""
    return " ".join(nik[i : i + 4] for i in range(0, len(nik), 4))


load_kv(__file__)
