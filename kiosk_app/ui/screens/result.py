"""Result screen: registration number, queue number, verification date, what was printed."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk_app.domain.speech import join
from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import SessionView
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import KioskScreen, load_kv, tr
from kiosk_app.ui.screens.endings import end_visit
from kiosk_app.ui.widgets import a11y_texts
from kiosk_app.ui.widgets.buttons import BigButton  # noqa: F401 - used by the .kv

REPRINT = Text("Cetak ulang tiket", "Reprint the ticket")
REPRINTING = Text("Mencetak ulang tiket...", "Reprinting the ticket...")


class ResultScreen(KioskScreen):
    """What the citizen takes away."""

    registration_number = StringProperty("")
    queue_number = StringProperty("")
    visit_text = StringProperty("")
    printed_text = StringProperty("")
    offline = BooleanProperty(False)
    reprint_shown = BooleanProperty(False)  # the ticket did not print: offer it again
    reprint_ready = BooleanProperty(False)
    reprint_text = StringProperty("")

    def prompt(self, view: SessionView) -> Text | None:
        """Sent, the numbers, the date, what was printed, take the ticket."""
        out = view.outcome
        if out is None:
            return texts.RESULT_TITLE
        reg = out.local_reference or out.registration_number
        numbers = (
            a11y_texts.RESULT_OFFLINE.format(reg=reg)
            if out.offline
            else a11y_texts.RESULT_NUMBERS.format(reg=reg, queue=out.queue_number)
        )
        visit = Text(
            f"{texts.VISIT.id} {texts.slot_text(out.slot, 'id')}",
            f"{texts.VISIT.en} {texts.slot_text(out.slot, 'en')}",
        )
        printed = texts.TICKET_PRINTED if out.ticket_printed else None
        offline = texts.OFFLINE if out.offline else None
        return join(
            texts.RESULT_TITLE,
            numbers,
            visit,
            printed,
            offline,
            *out.messages,
            a11y_texts.RESULT_END,
        )

    def update(self, view: SessionView) -> None:
        """Show the outcome of the submission."""
        outcome = view.outcome
        if outcome is None:
            return
        lang = view.language
        self.registration_number = outcome.registration_number
        self.queue_number = outcome.queue_number
        self.visit_text = texts.slot_text(outcome.slot, lang)
        lines: list[str] = []
        if outcome.ticket_printed:
            lines.append("✔ " + texts.TICKET_PRINTED(lang))
        if outcome.receipt_printed:
            lines.append("✔ " + texts.RECEIPT_PRINTED(lang))
        self.printed_text = "\n".join(lines)
        self.message = "\n".join(tr(m, lang) for m in outcome.messages)
        self.offline = outcome.offline
        offer = view.reprint
        self.reprint_shown = offer is not None and not offer.printed
        self.reprint_ready = offer is not None and offer.printer_ready and not offer.busy
        self.reprint_text = tr(offer.message, lang) if offer is not None else ""
        if offer is not None and offer.busy:
            self.reprint_text = REPRINTING(lang)

    def end_visit(self) -> None:
        """Done: asked first only when the pre-application still waits in the outbox."""
        end_visit(self, always=False)

    def left(self) -> None:
        """Clear the outcome."""
        self.registration_number = self.queue_number = self.visit_text = ""
        self.printed_text = self.message = ""
        self.offline = self.reprint_shown = self.reprint_ready = False
        self.reprint_text = ""


load_kv("result")
