"""The session core and single journeys, built alone: each needs only the core and its own
collaborators."""

from __future__ import annotations

import threading

from drivers.card_reader.citizens import citizen
from kiosk_app.domain.session import SessionState, Timeouts
from kiosk_app.domain.text import Text
from kiosk_app.services.session.assisted import AssistedJourney
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.schedule import ScheduleJourney
from kiosk_app.services.session.survey import SurveyJourney
from kiosk_app.services.session.views import SessionView


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_core() -> SessionCore:
    holder: list[SessionCore] = []

    def plain() -> SessionView:
        core = holder[0]
        return SessionView(
            state=core.state(),
            language=core.language,
            reader_available=True,
            simulated_reader=False,
            message=core.message,
        )

    core = SessionCore(timeouts=Timeouts(), language="id", clock=Clock(), render=plain)
    holder.append(core)
    return core


def test_ending_a_visit_wipes_every_journey_and_makes_late_work_stale() -> None:
    core = make_core()
    wiped: list[str] = []
    core.on_visit_end(lambda: wiped.append("a"))
    core.on_visit_end(lambda: wiped.append("b"))
    core.message = Text("Jadwal penuh.", "The date is full.")  # the last action's answer
    started = core.generation
    with core.lock:
        core.end_visit()
        assert not core.is_current(started) and core.is_current(core.generation)
    assert wiped == ["a", "b"] and core.message is None
    core.close()


class SlowCentral:
    """Answers slots only when the test lets it."""

    office_code = "3517"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.asked: list[str] = []

    def slots(self, service: str) -> list[str]:
        self.asked.append(service)
        self.release.wait(5)
        return ["slot-1"]


def test_the_schedule_runs_with_a_core_and_a_central_only_and_drops_a_late_answer() -> None:
    central = SlowCentral()
    views: list[SessionView] = []
    core = make_core()
    schedule = ScheduleJourney(core, central)  # type: ignore[arg-type]
    core.subscribe(views.append)
    schedule.load()
    with core.lock:
        assert schedule.loading()
        core.end_visit()  # the citizen left while the server was thinking
    central.release.set()
    core.close()  # waits for the worker
    assert central.asked == [""] and schedule.slots() == () and not schedule.loading()

    central = SlowCentral()
    central.release.set()
    core = make_core()
    schedule = ScheduleJourney(core, central)  # type: ignore[arg-type]
    schedule.load()
    core.close()
    assert schedule.slots() == ("slot-1",) and not schedule.loading()


class Hooks:
    """Attendant mode as the session sees it: one attendant card, audit lines kept."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str | None, str, str]] = []

    def card_presented(self, uid: str) -> bool:
        return uid == "ATTENDANT-CARD"

    def audit(
        self, action: str, *, attendant: str | None = None, nik: str = "-", detail: str = ""
    ) -> None:
        self.lines.append((action, attendant, nik, detail))


def test_assisted_journey_talks_to_attendant_mode_only_through_its_hooks() -> None:
    core = make_core()
    assisted = AssistedJourney(core)
    with core.lock:  # no hooks yet: no card is an attendant's
        assert not assisted.card_presented("ATTENDANT-CARD", core.now())
    hooks = Hooks()
    assisted.attach(hooks)
    with core.lock:
        assert assisted.card_presented("ATTENDANT-CARD", core.now())
        assert not assisted.card_presented("CITIZEN-UID", core.now())
    assert assisted.uid_card_waiting()  # the citizen's UID-only card waits for an attendant

    holder = citizen(0)
    with core.lock:
        core.machine.card_inserted(core.now())
        core.machine.identity_read(holder, core.now())
    assert core.state() is SessionState.IDENTITY
    masked = assisted.assist("PTG-07")
    assert masked is not None and holder.nik not in masked
    with core.lock:
        data = assisted.stamp({"child_name": "RAFA"})
    assert data == {"child_name": "RAFA", "assisted_by": "PTG-07", "assisted_kind": "form"}
    assert hooks.lines == [("submit_assisted", "PTG-07", masked, "kind=form")]
    with core.lock:
        core.end_visit()
        assert assisted.stamp({"x": "1"}) == {"x": "1"}  # the next visit is the citizen's own
    core.close()


def test_taking_the_card_during_the_survey_keeps_the_survey() -> None:
    core = make_core()
    survey = SurveyJourney(core, sender=object())  # type: ignore[arg-type]  # never sent here
    with core.lock:
        core.machine.card_inserted(core.now())
        core.machine.identity_read(citizen(0), core.now())
        core.machine.to_menu(core.now())
    survey.note_visit("print")  # e.g. a document printed, then back at the menu
    assert survey.offer_at_finish()
    survey.answer("U1", 2)
    with core.lock:  # the card leaves the reader: the visit's personal part ends
        assert core.machine.card_removed(core.now())
        core.end_visit()
    view = survey.view()
    assert view is not None and view.service == "print" and view.answers == {"U1": 2}
    core.close()
