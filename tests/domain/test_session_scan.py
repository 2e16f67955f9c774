"""The optional document scanning step of the session machine."""

from __future__ import annotations

from datetime import date

from kiosk_app.domain.session import EndReason, SessionMachine, SessionState
from kiosk_app.domain.ticket import Slot
from tests.domain.test_session_machine import new_identity

S = SessionState


def at_form(scan_step: bool) -> SessionMachine:
    m = SessionMachine()
    assert m.card_inserted(0) and m.identity_read(new_identity(1), 1) and m.to_menu(2)
    assert m.start_form("akta_kelahiran", 2, {}, 3, scan_step=scan_step)
    return m


def test_scan_sits_between_the_form_and_the_schedule_both_ways() -> None:
    m = at_form(scan_step=True)
    assert not m.scan_done(4)  # only from the scan step
    assert m.next_page(4) and m.next_page(5) and m.state is S.SCAN
    assert m.previous_page(6) and m.state is S.FORM and m.page == 1
    assert m.next_page(7) and m.state is S.SCAN
    assert m.scan_done(8) and m.state is S.SCHEDULE
    assert m.previous_page(9) and m.state is S.SCAN
    assert m.scan_done(10) and m.choose_slot(Slot(date(2026, 12, 1), "08.00-11.00"), 11)
    assert m.previous_page(12) and m.state is S.SCHEDULE


def test_without_the_step_the_form_leads_to_the_schedule() -> None:
    m = at_form(scan_step=False)
    assert m.next_page(4) and m.next_page(5) and m.state is S.SCHEDULE
    assert not m.scan_done(6)
    assert m.previous_page(7) and m.state is S.FORM


def test_inactivity_on_the_scan_step_warns_then_ends_and_forgets_the_step() -> None:
    m = at_form(scan_step=True)
    m.next_page(4)
    m.next_page(5)
    assert m.tick(5 + m.timeouts.inactivity_s)  # the scan step counts as interactive
    assert m.tick(5 + m.timeouts.inactivity_s + m.timeouts.warning_s)
    assert m.state is S.GOODBYE and m.end_reason is EndReason.INACTIVITY
    assert not m.scan_step and m.values == {}
