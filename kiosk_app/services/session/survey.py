"""The satisfaction survey part of the session service (a mixin, like scanning and status)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from kiosk_app.domain import ikm
from kiosk_app.domain.session import SessionState
from kiosk_app.domain.text import Text
from kiosk_app.services.session.status import StatusJourneyMixin
from kiosk_app.services.surveys import SurveySender

log = logging.getLogger("kiosk_app.services.session.service")

PER_PAGE = 3  # three questions per page: four big answers each still fit a 800 px screen
PAGE_COUNT = -(-len(ikm.ELEMENTS) // PER_PAGE)
STATUS_VISIT = "status"  # the service key of a visit that only checked a status


@dataclass(frozen=True)
class SurveyView:
    """What the survey screen shows: the questions of one page and the answers so far."""

    service: str
    answers: Mapping[str, int] = field(default_factory=dict)
    page: int = 0
    page_count: int = PAGE_COUNT
    message: Text | None = None

    @property
    def elements(self) -> tuple[ikm.Element, ...]:
        """The questions of the current page."""
        return ikm.ELEMENTS[self.page * PER_PAGE : (self.page + 1) * PER_PAGE]

    @property
    def complete(self) -> bool:
        """True when all nine questions are answered."""
        return not ikm.missing(self.answers)


@dataclass
class _SurveyForm:
    service: str
    answers: dict[str, int] = field(default_factory=dict)
    page: int = 0
    message: Text | None = None


class SurveyJourneyMixin(StatusJourneyMixin):
    """Citizen actions of the SURVEY state; SessionService holds the machine and the lock."""

    _surveys: SurveySender | None
    _survey: _SurveyForm | None
    _survey_after_menu: tuple[int, str] | None
    _survey_today: Callable[[], date]

    def _init_survey(self, sender: SurveySender | None,
                     today: Callable[[], date] = date.today) -> None:
        """No sender: no survey, the visit ends straight with the goodbye."""
        self._surveys = sender
        self._survey = None
        self._survey_after_menu = None  # (generation, service): a visit done, back at the menu
        self._survey_today = today

    # -- when it is offered ------------------------------------------------------------------
    def _survey_instead_of_finish(self) -> bool:
        """finish(): after a visit that did something, show the survey (True) instead."""
        with self._lock:
            m = self._machine
            service: str | None = None
            if m.state is SessionState.RESULT:
                service = m.service
            elif m.state is SessionState.MENU and self._survey_after_menu is not None:
                generation, key = self._survey_after_menu
                service = key if generation == self._generation else None
            if not service or not self._open_survey(service):
                return False
        self._publish()
        return True

    def note_visit_for_survey(self, service: str) -> None:
        """Another journey (e.g. document printing) finished: offer the survey at the end."""
        with self._lock:
            self._survey_after_menu = (self._generation, service)

    def close_status(self) -> None:
        """Leaving a status check that showed a result: the survey (no card) or the menu."""
        with self._lock:
            checked = (self._machine.state is SessionState.STATUS
                       and self._status_check.view().result is not None)
            if checked and self._machine.identity is None and self._open_survey(STATUS_VISIT):
                opened = True
            else:
                opened = False
        if opened:
            self._publish()
            return
        super().close_status()
        if checked:
            self.note_visit_for_survey(STATUS_VISIT)

    def _open_survey(self, service: str) -> bool:
        """Wipe the visit and open the survey (lock held)."""
        if self._surveys is None or not self._machine.open_survey(self._clock()):
            return False
        self._clear_session_extras()
        self._survey_after_menu = None
        self._survey = _SurveyForm(service)
        self._message = None
        log.info("survey offered after %s", service)
        return True

    # -- citizen input -----------------------------------------------------------------------
    def survey_answer(self, code: str, value: int) -> None:
        """One answer (1..4) to one element."""
        with self._lock:
            form = self._survey_form()
            if form is None or code not in ikm.BY_CODE or value not in ikm.SCALE:
                return
            form.answers[code] = value
            if form.message is not None:
                form.message = ikm.missing_message(form.answers)
        self._publish()

    def survey_page(self, delta: int) -> None:
        """The next (+1) or previous (-1) page of questions."""
        with self._lock:
            form = self._survey_form()
            if form is None:
                return
            form.page = min(PAGE_COUNT - 1, max(0, form.page + delta))
        self._publish()

    def survey_send(self) -> None:
        """Send the answers (in the background) and say goodbye; or say what is missing."""
        with self._lock:
            form = self._survey_form()
            if form is None:
                return
            left = ikm.missing(form.answers)
            if left:
                form.message = ikm.missing_message(form.answers)
                form.page = ikm.CODES.index(left[0]) // PER_PAGE
            else:
                answers, service = dict(form.answers), form.service
                self._survey = None
                self._machine.survey_done(self._clock())
                today = self._survey_today()
        self._publish()
        if not left and self._surveys is not None:
            self._worker.submit(self._survey_commit, service, today, answers)

    def survey_skip(self) -> None:
        """No survey: nothing is kept, the goodbye."""
        with self._lock:
            if self._survey_form() is None:
                return
            self._survey = None
            self._machine.survey_done(self._clock())
            log.info("survey skipped")
        self._publish()

    # -- internals ---------------------------------------------------------------------------
    def _survey_commit(self, service: str, today: date, answers: dict[str, int]) -> None:
        assert self._surveys is not None
        try:
            self._surveys.submit(service, today, answers)
        except Exception:  # the citizen has left; the technician reads the log
            log.exception("survey for %s could not be queued", service)

    def _survey_form(self) -> _SurveyForm | None:
        """The open survey (lock held); marks activity."""
        if self._machine.state is not SessionState.SURVEY or self._survey is None:
            return None
        self._machine.activity(self._clock())
        return self._survey

    def _survey_view(self) -> SurveyView | None:
        """The snapshot for SessionView (lock held)."""
        form = self._survey
        if form is None or self._machine.state is not SessionState.SURVEY:
            return None
        return SurveyView(form.service, dict(form.answers), form.page, PAGE_COUNT, form.message)
