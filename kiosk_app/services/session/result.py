"""The result journey: the outcome the result screen shows and the ticket's reprint."""

from __future__ import annotations

import dataclasses

from kiosk_app.domain.session import SessionState
from kiosk_app.domain.text import Text
from kiosk_app.services.printing.reprint import ReprintOffer, TicketReprint
from kiosk_app.services.printing.service import TICKET_FAILED_HINT
from kiosk_app.services.scanning.step import SCANS_AT_COUNTER
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.views import Outcome


def ticket_now_printed(outcome: Outcome) -> Outcome:
    """The outcome once its ticket printed after all: the ticket's messages go."""
    messages = outcome.messages  # the ticket's come first, ending with the hint
    if TICKET_FAILED_HINT in messages:
        messages = messages[messages.index(TICKET_FAILED_HINT) + 1 :]
    return dataclasses.replace(outcome, ticket_printed=True, messages=messages)


class ResultJourney:
    """The RESULT state: the outcome, a note on unsent scans, the reprint of a failed ticket."""

    def __init__(self, core: SessionCore, reprint: TicketReprint | None) -> None:
        """`reprint`: offers a failed ticket again once the printer is back (None: never)."""
        self._core = core
        self._reprint = reprint
        self._outcome: Outcome | None = None
        self._notice: Text | None = None  # scanned documents not sent: checked at the counter
        core.on_visit_end(self._wipe)

    def outcome(self) -> Outcome | None:
        """The outcome for the view (lock held)."""
        return self._outcome

    def reprint_offer(self) -> ReprintOffer | None:
        """The reprint button's state on the result screen (lock held)."""
        if self._reprint is None or self._core.state() is not SessionState.RESULT:
            return None
        return self._reprint.view()

    def show(self, outcome: Outcome) -> None:
        """The submission is done (lock held): show it; offer a ticket that did not print."""
        self._outcome = self._with_notice(outcome)
        if self._reprint is not None and not outcome.ticket_printed:
            self._reprint.offer(outcome.registration_number, self._core.publish)

    def documents_not_sent(self, generation: int) -> None:
        """Scanned documents did not reach the server: the citizen brings them to the counter."""
        core = self._core
        with core.lock:
            if not core.is_current(generation):
                return
            self._notice = SCANS_AT_COUNTER
            if self._outcome is not None:
                self._outcome = self._with_notice(self._outcome)
        core.publish()

    def reprint_ticket(self) -> None:
        """The citizen asked for the ticket that did not print, now that the printer is back."""
        core = self._core
        with core.lock:
            if self._reprint is None or core.state() is not SessionState.RESULT:
                return
            offer = self._reprint.view()
            if offer is None or not offer.printer_ready or offer.busy or offer.printed:
                return
            core.touch()
            generation = core.generation
        core.run(self._reprint_job, generation)

    def ticket_reprinted(self, reference: str) -> None:
        """An attendant reprinted `reference`'s ticket: the result screen stops offering it."""
        core = self._core
        with core.lock:
            outcome = self._outcome
            if (
                outcome is None
                or outcome.registration_number != reference
                or outcome.ticket_printed
            ):
                return
            if self._reprint is not None:
                self._reprint.withdraw()
            self._outcome = ticket_now_printed(outcome)
        core.publish()

    # -- internals ---------------------------------------------------------------------------
    def _reprint_job(self, generation: int) -> None:
        if self._reprint is None or not self._reprint.reprint("citizen"):
            return
        core = self._core
        with core.lock:
            if not core.is_current(generation) or self._outcome is None:
                return
            self._outcome = ticket_now_printed(self._outcome)
        core.publish()

    def _with_notice(self, outcome: Outcome) -> Outcome:
        """The outcome with the scan notice added once, when there is one."""
        if self._notice is None or self._notice in outcome.messages:
            return outcome
        return dataclasses.replace(outcome, messages=(*outcome.messages, self._notice))

    def _wipe(self) -> None:
        self._outcome, self._notice = None, None
        if self._reprint is not None:
            self._reprint.withdraw()
