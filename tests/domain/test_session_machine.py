"""The session state machine under every event in any order, with an advancing fake clock."""

from __future__ import annotations

from datetime import date

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from kiosk_app.domain.identity import Identity
from kiosk_app.domain.nik import make_nik
from kiosk_app.domain.session import (
    _INTERACTIVE,
    READ_TIMED_OUT,
    EndReason,
    SessionMachine,
    SessionState,
    Timeouts,
)
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot

S = SessionState
NO_IDENTITY = {S.ATTRACT, S.GOODBYE, S.READING_CARD}
WITH_VALUES = {S.FORM, S.SCAN, S.SCHEDULE, S.REVIEW, S.SUBMITTING, S.RESULT}
MESSAGE = Text("Gagal", "Failed")
REACHED: set[SessionState] = set()


def new_identity(serial: int) -> Identity:
    return Identity(
        nik=make_nik("35", "17", "01", date(1990, 1, 2), "P", serial % 9999 + 1),
        name="SITI AMINAH",
        birth_place="JOMBANG",
        birth_date=date(1990, 1, 2),
        sex="P",
        blood_type="O",
        address="JL. MERDEKA 1",
        rt_rw="001/002",
        kelurahan_desa="PERAK",
        kecamatan="PERAK",
        kabupaten_kota="JOMBANG",
        province="JAWA TIMUR",
        religion="ISLAM",
        marital_status="KAWIN",
        occupation="WIRASWASTA",
        citizenship="WNI",
        valid_until="SEUMUR HIDUP",
        photo_jpeg=b"\xff\xd8jpeg",
    )


steps = st.floats(min_value=0, max_value=200, allow_nan=False)
names = st.sampled_from(["child_name", "mother_nik", "x"])


class SessionEvents(RuleBasedStateMachine):
    """Fires every public event; checks the privacy and timing promises after each one."""

    @initialize(warning_s=st.floats(20, 60), inactivity_s=st.floats(5, 120))
    def start(self, warning_s: float, inactivity_s: float) -> None:
        self.timeouts = Timeouts(inactivity_s=inactivity_s, warning_s=warning_s)
        self.m = SessionMachine(timeouts=self.timeouts)
        self.now = 1000.0
        self.handed: list[Identity] = []  # every Identity object given to the machine
        self.warning_since: float | None = None
        self.serial = 0

    def fire(self, event: str, *args: object, **kwargs: object) -> bool:
        """Call one event at the current time, then check what changed."""
        before = self.m.state
        accepted = getattr(self.m, event)(*args, self.now, **kwargs)
        assert isinstance(accepted, bool)
        REACHED.add(self.m.state)
        if self.m.state is S.GOODBYE and before is not S.GOODBYE:
            if self.m.end_reason is EndReason.INACTIVITY:
                assert self.warning_since is not None, "ended without a warning"
                assert self.now - self.warning_since >= 20
        if self.m.warning_deadline is None:
            self.warning_since = None
        elif self.warning_since is None:
            self.warning_since = self.now
            assert self.m.warning_seconds_left(self.now) >= 20
        if event == "card_removed":
            assert self.m.state in (S.ATTRACT, S.GOODBYE)
            assert all(i.nik == "" and i.name == "" and i.photo_jpeg == b"" for i in self.handed)
        return accepted

    @rule(dt=steps)
    def wait(self, dt: float) -> None:
        self.now += dt

    @rule()
    def tick(self) -> None:
        self.fire("tick")

    @rule(seconds=st.integers(1, 60))
    def tick_every_second(self, seconds: int) -> None:
        for _ in range(seconds):
            self.now += 1
            self.fire("tick")

    @rule()
    def card_inserted(self) -> None:
        self.fire("card_inserted")

    @rule()
    def identity_read(self) -> None:
        self.serial += 1
        card = new_identity(self.serial)
        self.handed.append(card)
        if not self.fire("identity_read", card):
            assert card.nik == "", "a refused identity must be wiped at once"

    @rule()
    def read_failed(self) -> None:
        self.fire("read_failed", MESSAGE)

    @rule()
    def card_removed(self) -> None:
        self.fire("card_removed")

    @rule()
    def to_menu(self) -> None:
        self.fire("to_menu")

    @rule(pages=st.integers(-1, 9), prefill=st.dictionaries(names, st.text(max_size=5)))
    def start_form(self, pages: int, prefill: dict[str, str]) -> None:
        self.fire("start_form", "akta_kelahiran", pages, prefill)

    @rule()
    def next_page(self) -> None:
        self.fire("next_page")

    @rule()
    def scan_done(self) -> None:
        if self.fire("scan_done"):
            assert self.m.state is S.SCHEDULE and self.m.scan_step

    @rule()
    def previous_page(self) -> None:
        self.fire("previous_page")

    @rule()
    def open_status(self) -> None:
        with_card = self.m.identity is not None
        if self.fire("open_status"):
            assert self.m.state is S.STATUS and (self.m.identity is not None) == with_card

    @rule()
    def close_status(self) -> None:
        if self.fire("close_status"):
            assert self.m.state is (S.MENU if self.m.identity is not None else S.ATTRACT)

    @rule(index=st.integers(-2, 10))
    def edit_page(self, index: int) -> None:
        page_count = self.m.page_count
        if self.fire("edit_page", index):
            assert 0 <= self.m.page < page_count

    @rule(name=names, value=st.text(max_size=5))
    def set_value(self, name: str, value: str) -> None:
        self.fire("set_value", name, value)

    @rule(day=st.dates(date(2025, 1, 1), date(2025, 12, 31)))
    def choose_slot(self, day: date) -> None:
        self.fire("choose_slot", Slot(day, "08.00-11.00"))

    @rule()
    def submit(self) -> None:
        self.fire("submit")

    @rule()
    def submitted(self) -> None:
        self.fire("submitted", {"registration_number": "AKTA-1"})

    @rule()
    def submit_failed(self) -> None:
        self.fire("submit_failed", MESSAGE)

    @rule()
    def finish(self) -> None:
        self.fire("finish")

    @rule()
    def cancel(self) -> None:
        self.fire("end", EndReason.CANCELLED)

    @rule()
    def activity(self) -> None:
        self.fire("activity")

    @rule()
    def still_here(self) -> None:
        self.fire("still_here")

    @rule(count=st.integers(1, 12), pages=st.integers(1, 3), dt=st.floats(0, 5), scan=st.booleans())
    def go_forward(self, count: int, pages: int, dt: float, scan: bool) -> None:
        """The citizen's natural next steps, so that deep states are reached often."""
        for _ in range(count):
            self.now += dt
            state = self.m.state
            if state is S.ATTRACT or state is S.GOODBYE:
                self.card_inserted()
            elif state is S.READING_CARD:
                self.identity_read()
            elif state is S.IDENTITY:
                self.to_menu()
            elif state is S.MENU:
                self.fire("start_form", "akta_kelahiran", pages, {"x": "1"}, scan_step=scan)
            elif state is S.FORM:
                self.set_value("child_name", "Ayu")
                self.next_page()
            elif state is S.SCAN:
                self.scan_done()
            elif state is S.SCHEDULE:
                self.choose_slot(date(2025, 6, 2))
            elif state is S.REVIEW:
                self.submit()
            elif state is S.SUBMITTING:
                self.submitted()
            else:
                self.finish()

    @rule()
    def warning_seconds_left(self) -> None:
        left = self.m.warning_seconds_left(self.now)
        assert (left is None) == (self.m.warning_deadline is None)

    @precondition(lambda self: self.m.state in _INTERACTIVE and self.m.warning_deadline is None)
    @rule()
    def extend_warning_ten_times(self) -> None:
        state = self.m.state
        for _ in range(12):
            self.now += self.timeouts.inactivity_s + 0.5
            self.fire("tick")
            assert self.m.warning_deadline is not None and self.m.state is state
            self.now += 19.5  # answer with 0.5 s to spare at the shortest warning
            assert self.fire("still_here")
            assert self.m.warning_deadline is None and self.m.state is state

    @precondition(lambda self: self.m.state is S.READING_CARD)
    @rule()
    def reader_goes_quiet(self) -> None:
        """No identity and no failure: the reading state ends at its deadline, with a message."""
        self.now += self.timeouts.reading_s
        assert self.fire("tick")
        assert self.m.state is S.ATTRACT and self.m.error == READ_TIMED_OUT
        self.card_inserted()
        assert self.m.state is S.READING_CARD  # a new tap works at once

    @invariant()
    def never_stuck_reading(self) -> None:
        if not hasattr(self, "m"):
            return
        deadline = self.m.reading_deadline
        if self.m.state is S.READING_CARD:
            assert deadline is not None and deadline <= self.now + self.timeouts.reading_s
        else:
            assert deadline is None  # a stale deadline would fire in a later visit

    @invariant()
    def privacy(self) -> None:
        if not hasattr(self, "m"):
            return
        if self.m.state in NO_IDENTITY:
            assert self.m.identity is None
        if self.m.state not in WITH_VALUES:
            assert self.m.values == {}
        if self.m.state in (S.ATTRACT, S.GOODBYE):
            assert all(i.nik == "" for i in self.handed)
            assert self.m.slot is None and self.m.result is None and self.m.service is None

    @invariant()
    def page_in_range(self) -> None:
        if hasattr(self, "m") and self.m.state is S.FORM:
            assert 0 <= self.m.page < self.m.page_count


SessionEvents.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestSessionEvents = SessionEvents.TestCase


def test_inactivity_warns_then_ends_and_wipes() -> None:
    m = SessionMachine()
    card = new_identity(1)
    assert m.card_inserted(0) and m.identity_read(card, 1) and m.to_menu(2)
    assert not m.tick(2 + m.timeouts.inactivity_s - 0.5)
    assert m.tick(2 + m.timeouts.inactivity_s)
    shown = 2 + m.timeouts.inactivity_s
    assert m.warning_seconds_left(shown) == int(m.timeouts.warning_s)
    assert not m.tick(shown + m.timeouts.warning_s - 0.1) and m.state is S.MENU
    assert m.tick(shown + m.timeouts.warning_s)
    assert m.state is S.GOODBYE and m.end_reason is EndReason.INACTIVITY and card.nik == ""


def test_a_read_with_no_answer_ends_at_its_deadline_and_a_new_tap_works() -> None:
    m = SessionMachine(timeouts=Timeouts(reading_s=8.0))
    assert m.card_inserted(10)
    assert not m.tick(17.9) and m.state is S.READING_CARD
    assert m.tick(18.0) and m.state is S.ATTRACT and m.error == READ_TIMED_OUT
    late = new_identity(3)
    assert not m.identity_read(late, 19) and late.nik == ""  # the late answer is dropped, wiped
    assert not m.read_failed(MESSAGE, 19) and m.error == READ_TIMED_OUT
    assert m.card_inserted(20) and m.identity_read(new_identity(4), 21)
    assert m.state is S.IDENTITY and m.reading_deadline is None
