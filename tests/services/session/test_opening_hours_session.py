"""Opening hours in the session service: closes only when idle, cards not read, status open."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from central_server.embedded import start_embedded
from drivers.card_reader.simulator import SimulatedCardReader
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.domain.opening_hours import ZONES, parse_opening_hours
from kiosk_app.domain.session import EndReason, SessionState, Timeouts
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.session.opening_hours import CARD_NOT_READ
from kiosk_app.services.session.service import SessionService
from kiosk_app.services.session.views import SessionView

HOURS = parse_opening_hours(
    {
        "timezone": "WIB",
        "monday": ["08.00-12.00", "13.00-16.00"],
        "friday": ["08.00-11.00", "19.00-22.00"],
    }
)
WIB = ZONES["WIB"]


@dataclass
class Clocks:
    monotonic: float = 1000.0
    wall: datetime = datetime(2026, 11, 20, 21, 0, tzinfo=WIB)  # Friday evening service


@dataclass
class Rig:
    service: SessionService
    clocks: Clocks
    changed: threading.Condition

    def wait(self, predicate, timeout: float = 60.0) -> SessionView:
        with self.changed:
            ok = self.changed.wait_for(lambda: predicate(self.service.view), timeout)
        assert ok, f"timed out; last view state {self.service.view.state}"
        return self.service.view

    def at(self, *when: int) -> SessionView:
        """Move the wall clock to `when` (WIB) and tick."""
        self.clocks.wall = datetime(*when, tzinfo=WIB)  # type: ignore[misc]
        self.service.tick()
        return self.service.view


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    server = start_embedded(f"sqlite:///{tmp_path / 'central.db'}")
    central = CentralClient(server.base_url, "KIOSK-HOURS-01", "3517", timeout=5)
    central.register("hours kiosk")
    clocks = Clocks()
    service = SessionService(
        card_reader=SimulatedCardReader(read_delay_s=0.01),
        central=central,
        printing=PrintingService(
            SimulatedTicketPrinter(None), SimulatedDocumentPrinter(None), kiosk_id="KIOSK-HOURS-01"
        ),
        timeouts=Timeouts(inactivity_s=60, warning_s=25, goodbye_s=5),
        clock=lambda: clocks.monotonic,
        opening_hours=HOURS,
        wall_clock=lambda: clocks.wall,
    )
    changed = threading.Condition()

    def listener(_view: SessionView) -> None:
        with changed:
            changed.notify_all()

    service.subscribe(listener)
    service.start()
    try:
        yield Rig(service, clocks, changed)
    finally:
        service.close()
        central.close()
        server.stop()


def test_closes_when_idle_and_says_when_it_opens_again(rig: Rig) -> None:
    assert rig.at(2026, 11, 20, 21, 59).state is SessionState.ATTRACT
    view = rig.at(2026, 11, 20, 22, 0)
    assert view.state is SessionState.CLOSED
    assert view.reopens is not None
    assert view.reopens.id == "Buka lagi Senin, 23 November 2026 pukul 08.00 WIB"
    rig.service.set_language("en")
    assert rig.service.view.reopens.en == "Opens again Monday, 23 November 2026 at 08.00 WIB"
    assert rig.at(2026, 11, 23, 7, 59).state is SessionState.CLOSED
    view = rig.at(2026, 11, 23, 8, 0)
    assert view.state is SessionState.ATTRACT and view.reopens is None
    assert view.language == "id"  # the day's first citizen starts in Bahasa Indonesia


def test_a_citizen_mid_session_is_never_interrupted_by_closing_time(rig: Rig) -> None:
    rig.at(2026, 11, 20, 21, 58)
    rig.service.simulate_card_tap(0)
    rig.wait(lambda v: v.state is SessionState.IDENTITY)
    assert rig.at(2026, 11, 20, 22, 3).state is SessionState.IDENTITY
    rig.service.continue_to_menu()
    assert rig.at(2026, 11, 20, 22, 5).state is SessionState.MENU
    rig.service.simulate_card_removal()
    view = rig.wait(lambda v: v.state is SessionState.GOODBYE)
    assert view.goodbye is not None and view.name == ""
    rig.clocks.monotonic += 6  # the goodbye ends: the kiosk closes instead of inviting a card
    view = rig.at(2026, 11, 20, 22, 6)
    assert view.state is SessionState.CLOSED and view.reopens is not None


def test_inactivity_still_ends_a_session_after_hours(rig: Rig) -> None:
    rig.service.simulate_card_tap(0)
    rig.wait(lambda v: v.state is SessionState.IDENTITY)
    rig.clocks.monotonic += 61
    rig.at(2026, 11, 20, 22, 30)
    assert rig.service.view.warning_seconds_left == 25  # the warning first, as in hours
    rig.clocks.monotonic += 26
    view = rig.at(2026, 11, 20, 22, 31)
    assert view.state is SessionState.GOODBYE
    assert rig.service.core.machine.end_reason is EndReason.INACTIVITY


def test_a_card_while_closed_is_not_read_and_the_citizen_is_told(rig: Rig) -> None:
    rig.at(2026, 11, 21, 10, 0)  # Saturday
    rig.service.simulate_card_tap(1)
    view = rig.wait(lambda v: v.message == CARD_NOT_READ)
    assert view.state is SessionState.CLOSED and view.name == "" and view.masked_nik == ""
    assert rig.service.core.machine.identity is None
    rig.service.simulate_card_removal()
    view = rig.wait(lambda v: v.message is None)
    assert view.state is SessionState.CLOSED


def test_the_status_check_stays_open_after_hours(rig: Rig) -> None:
    rig.at(2026, 11, 21, 10, 0)
    rig.service.open_status()
    view = rig.service.view
    assert view.state is SessionState.STATUS and view.status_check is not None
    assert rig.at(2026, 11, 21, 10, 1).state is SessionState.STATUS  # not cut short
    rig.service.close_status()
    assert rig.service.view.state is SessionState.ATTRACT
    assert rig.at(2026, 11, 21, 10, 2).state is SessionState.CLOSED
