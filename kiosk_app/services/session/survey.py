"""The survey journey: the optional IKM satisfaction survey at the end of a visit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from kiosk_app.domain import ikm
from kiosk_app.domain.session import SessionState
from kiosk_app.domain.text import Text
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.views import PAGE_COUNT, PER_PAGE, SurveyView
from kiosk_app.services.surveys import SurveySender

log = logging.getLogger("kiosk_app.services.session.service")

STATUS_VISIT = "status"  # the service key of a visit that only checked a status


@dataclass
class _SurveyForm:
    service: str
    answers: dict[str, int] = field(default_factory=dict)
    page: int = 0
    message: Text | None = None


class SurveyJourney:
    """Citizen actions of the SURVEY state, and when the survey is offered."""

    def __init__(
        self, core: SessionCore, sender: SurveySender | None, today: Callable[[], date] = date.today
    ) -> None:
        """No sender: no survey, the visit ends straight with the goodbye."""
        self._core = core
        self._sender = sender
        self._today = today
        self._form: _SurveyForm | None = None
        self._after_menu: str | None = None  # a journey done, back at the menu: its service
        core.on_visit_end(self._wipe)

    # -- when it is offered ------------------------------------------------------------------
    def offer_at_finish(self) -> bool:
        """finish(): after a visit that did something, show the survey (True) instead."""
        core = self._core
        with core.lock:
            m = core.machine
            service: str | None = None
            if m.state is SessionState.RESULT:
                service = m.service
            elif m.state is SessionState.MENU:
                service = self._after_menu
            if not service or not self._open(service):
                return False
        core.publish()
        return True

    def offer_without_card(self, service: str) -> bool:
        """A visit without a card (e.g. a status check) ends: the survey (True), if any."""
        core = self._core
        with core.lock:
            if core.machine.identity is not None or not self._open(service):
                return False
        core.publish()
        return True

    def note_visit(self, service: str) -> None:
        """A journey (e.g. document printing) finished: offer the survey at the end."""
        with self._core.lock:
            self._after_menu = service

    # -- citizen input -----------------------------------------------------------------------
    def answer(self, code: str, value: int) -> None:
        """One answer (1..4) to one element."""
        with self._core.lock:
            form = self._open_form()
            if form is None or code not in ikm.BY_CODE or value not in ikm.SCALE:
                return
            form.answers[code] = value
            if form.message is not None:
                form.message = ikm.missing_message(form.answers)
        self._core.publish()

    def page(self, delta: int) -> None:
        """The next (+1) or previous (-1) page of questions."""
        with self._core.lock:
            form = self._open_form()
            if form is None:
                return
            form.page = min(PAGE_COUNT - 1, max(0, form.page + delta))
        self._core.publish()

    def send(self) -> None:
        """Send the answers (in the background) and say goodbye; or say what is missing."""
        core = self._core
        with core.lock:
            form = self._open_form()
            if form is None:
                return
            left = ikm.missing(form.answers)
            if left:
                form.message = ikm.missing_message(form.answers)
                form.page = ikm.CODES.index(left[0]) // PER_PAGE
            else:
                answers, service = dict(form.answers), form.service
                self._form = None
                core.machine.survey_done(core.now())
                today = self._today()
        core.publish()
        if not left and self._sender is not None:
            core.run(self._commit, self._sender, service, today, answers)

    def skip(self) -> None:
        """No survey: nothing is kept, the goodbye."""
        core = self._core
        with core.lock:
            if self._open_form() is None:
                return
            self._form = None
            core.machine.survey_done(core.now())
            log.info("survey skipped")
        core.publish()

    def view(self) -> SurveyView | None:
        """The snapshot for the view (lock held)."""
        form = self._form
        if form is None or self._core.state() is not SessionState.SURVEY:
            return None
        return SurveyView(form.service, dict(form.answers), form.page, PAGE_COUNT, form.message)

    # -- internals ---------------------------------------------------------------------------
    def _open(self, service: str) -> bool:
        """Wipe the visit and open the survey (lock held)."""
        core = self._core
        if self._sender is None or not core.machine.open_survey(core.now()):
            return False
        core.end_visit()
        self._form = _SurveyForm(service)
        core.message = None
        log.info("survey offered after %s", service)
        return True

    def _open_form(self) -> _SurveyForm | None:
        """The open survey (lock held); marks activity."""
        if self._core.state() is not SessionState.SURVEY or self._form is None:
            return None
        self._core.touch()
        return self._form

    @staticmethod
    def _commit(sender: SurveySender, service: str, today: date, answers: dict[str, int]) -> None:
        try:
            sender.submit(service, today, answers)
        except Exception:  # the citizen has left; the technician reads the log
            log.exception("survey for %s could not be queued", service)

    def _wipe(self) -> None:
        # The open survey stays: it holds nothing personal, and taking the card (which ends
        # the visit) must not end it.
        self._after_menu = None
