"""Result screen: registration number, queue number, verification date, what was printed."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk_app.domain.speech import join
from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import Outcome, SessionView
from kiosk_app.ui.screens import texts
from kiosk_app.ui.screens.base import KioskScreen, load_kv, tr
from kiosk_app.ui.screens.endings import end_visit
from kiosk_app.ui.widgets import a11y_texts
from kiosk_app.ui.widgets.buttons import BigButton  # noqa: F401 - used by the .kv

REPRINT = Text("Cetak ulang tiket", "Reprint the ticket")
REPRINTING = Text("Mencetak ulang tiket...", "Reprinting the ticket...")


def printed_text(outcome: Outcome) -> Text | None:
    """What was printed and where to take it (None: nothing printed)."""
    if outcome.ticket_printed and outcome.receipt_printed:
        return texts.BOTH_PRINTED
    if outcome.ticket_printed:
        return texts.TICKET_PRINTED
    return texts.RECEIPT_PRINTED if outcome.receipt_printed else None


class ResultScreen(KioskScreen):
    """What the citizen takes away."""

    registration_number = StringProperty("")
    queue_number = StringProperty("")
    visit_text = StringProperty("")
    printed_text = StringProperty("")
    bring_text = StringProperty("")  # the originals to bring, one "•" line each
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
        printed = printed_text(out)
        offline = texts.OFFLINE if out.offline else None
        documents = view.service.required_documents if view.service is not None else ()
        return join(
            texts.RESULT_SAVED if out.offline else texts.RESULT_TITLE,
            numbers,
            visit,
            printed,
            offline,
            *out.messages,
            texts.BRING if documents else None,
            *documents,
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
        printed = printed_text(outcome)
        self.printed_text = "✔ " + printed(lang) if printed is not None else ""
        documents = view.service.required_documents if view.service is not None else ()
        self.bring_text = "\n".join("•  " + tr(doc, lang) for doc in documents)
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
        self.printed_text = self.message = self.bring_text = ""
        self.offline = self.reprint_shown = self.reprint_ready = False
        self.reprint_text = ""


load_kv("result")
