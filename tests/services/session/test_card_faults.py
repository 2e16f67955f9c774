"""Card reader faults as the citizen, the attendant and the fleet meet them: a read with no
answer ends at the session's deadline; a SAM fault calls an attendant and names the SAM."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from drivers.card_reader.simulator import SimulatedCardReader
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.errors import SamFault
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.domain.session import READ_TIMED_OUT, SessionState, Timeouts
from kiosk_app.services.attendant.auth import AttendantSettings
from kiosk_app.services.attendant.service import AttendantService
from kiosk_app.services.health import HealthReporter, RecordingSystemActions
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.session.service import SessionService
from kiosk_app.services.session.views import SessionView
from tests.drivers.pcsc.fixtures import (
    reset_bed,
    sam_slot_present,
    wait_for,
)
from tests.services.outbox_rig import ADMIN, KIOSK_ID, client, start_server
from tests.services.session.test_session_service import FakeClock

TIMEOUTS = Timeouts(inactivity_s=60, warning_s=25, goodbye_s=5, reading_s=8)
HANG_GUARD_S = 30.0  # only against hangs


class Session:
    """A session service on a given reader, with a way to wait for a view."""

    def __init__(self, reader: Any, central: CentralClient, clock: Callable[[], float]) -> None:
        self.service = SessionService(
            card_reader=reader,
            central=central,
            timeouts=TIMEOUTS,
            clock=clock,
            printing=PrintingService(
                SimulatedTicketPrinter(), SimulatedDocumentPrinter(), kiosk_id=KIOSK_ID
            ),
        )
        self._changed = threading.Condition()
        self.service.subscribe(self._notify)

    def _notify(self, _view: SessionView) -> None:
        with self._changed:
            self._changed.notify_all()

    def wait(self, predicate: Callable[[SessionView], bool]) -> SessionView:
        """The first view satisfying `predicate` (fails after HANG_GUARD_S)."""
        with self._changed:
            ok = self._changed.wait_for(lambda: predicate(self.service.view), HANG_GUARD_S)
        assert ok, f"timed out; last view state {self.service.view.state}"
        return self.service.view


@pytest.fixture
def mute_session() -> Iterator[tuple[Session, SimulatedCardReader, FakeClock]]:
    reader, clock = SimulatedCardReader(read_delay_s=3600.0), FakeClock()  # a read never ends
    session = Session(reader, CentralClient("http://127.0.0.1:9", KIOSK_ID, "3517"), clock)
    session.service.start()
    try:
        yield session, reader, clock
    finally:
        session.service.close()


def test_a_read_with_no_answer_ends_in_a_message_and_a_new_tap_works(
    mute_session: tuple[Session, SimulatedCardReader, FakeClock],
) -> None:
    session, reader, clock = mute_session
    assert reader.insert_card(0)
    session.wait(lambda v: v.state is SessionState.READING_CARD)
    clock.now += TIMEOUTS.reading_s - 0.5
    session.service.tick()
    assert session.service.view.state is SessionState.READING_CARD  # not before its deadline
    clock.now += 0.5
    session.service.tick()
    view = session.wait(lambda v: v.state is SessionState.ATTRACT)
    assert view.message == READ_TIMED_OUT
    assert reader.remove_card()  # lifting the card keeps the message on screen
    reader.read_delay_s = 0.01
    assert reader.insert_card(1)
    view = session.wait(lambda v: v.state is SessionState.IDENTITY)
    assert view.message is None


def test_a_sam_fault_is_told_as_one_and_calls_an_attendant(
    mute_session: tuple[Session, SimulatedCardReader, FakeClock],
) -> None:
    session, reader, _clock = mute_session
    attendant = AttendantService(
        AttendantSettings(),
        kiosk_id=KIOSK_ID,
        session=session.service,
        journal=None,
        ticket_printer=None,
    )
    try:
        reader.read_delay_s = 0.01
        reader.fail_next_read(SamFault("SAM does not answer"))
        assert reader.insert_card(0)
        view = session.wait(lambda v: v.state is SessionState.ATTRACT and v.message is not None)
        assert view.message == SamFault.citizen_message
        assert view.message is not None and "make sure" not in view.message.en.lower()
        wait_for(lambda: "SamFault" in attendant.view().called, what="the attendant call")
        status = attendant.status()
        assert "SamFault" in status["called"] and status["called_at"]
    finally:
        attendant.close()


def test_a_mute_sam_on_real_pcscd_reaches_the_citizen_the_attendant_and_the_fleet(
    pcsc_testbed: Any, tmp_path: Path
) -> None:
    from drivers.card_reader.pcsc import PcscCardReader, PcscSettings

    reset_bed(pcsc_testbed)
    pcsc_testbed.set_sam(False)
    wait_for(lambda: not sam_slot_present(), what="pcscd to see the SAM leave")
    pcsc_testbed.set_sam(True, mute_after=1)  # answers SELECT, then goes silent
    wait_for(sam_slot_present, what="pcscd to see the SAM")
    server = start_server(tmp_path / "central.db")
    reader = PcscCardReader(PcscSettings(sam_timeout_s=0.5, sam_probe_s=60.0))
    central = client(server.base_url)
    session = Session(reader, central, FakeClock())
    attendant = AttendantService(
        AttendantSettings(),
        kiosk_id=KIOSK_ID,
        session=session.service,
        journal=None,
        ticket_printer=None,
    )
    try:
        session.service.start()
        wait_for(lambda: reader.status()["pcsc_state"] == "no_card", what="reader ready")
        assert pcsc_testbed.insert(0)
        view = session.wait(lambda v: v.state is SessionState.ATTRACT and v.message is not None)
        assert view.message == SamFault.citizen_message
        wait_for(lambda: attendant.view().called != "", what="the attendant call")
        health = HealthReporter(
            central=central,
            app_version="test",
            data_dir=tmp_path,
            devices={"card_reader": reader, "attendant": attendant},
            system=RecordingSystemActions(),
        )
        health.beat_once()
        fleet = requests.get(
            f"{server.base_url}/api/v1/fleet/kiosks",
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=10,
        )
        mine = {k["kiosk_id"]: k for k in fleet.json()}[KIOSK_ID]
        assert "sam_fault" in mine["alerts"] and "attendant_called" in mine["alerts"]
        assert "reader_missing" not in mine["alerts"]  # the reader is there; its SAM is not
        assert mine["devices"]["card_reader"]["sam"] == "fault"
    finally:
        attendant.close()
        session.service.close()
        server.stop()
        pcsc_testbed.remove()
        reset_bed(pcsc_testbed)


class CountingCentral:
    """Counts heartbeats; answers with no commands."""

    def __init__(self) -> None:
        self.beats = threading.Semaphore(0)

    def heartbeat(self, _body: dict[str, Any]) -> dict[str, Any]:
        self.beats.release()
        return {"commands": []}


def test_an_attendant_call_goes_out_in_a_heartbeat_at_once(tmp_path: Path) -> None:
    central = CountingCentral()
    health = HealthReporter(
        central=central,
        devices={},
        app_version="test",  # type: ignore[arg-type]
        data_dir=tmp_path,
        system=RecordingSystemActions(),
        interval_s=3600.0,
    )  # the next regular beat is an hour away
    health.start()
    try:
        assert central.beats.acquire(timeout=HANG_GUARD_S)  # the first beat
        health.beat_soon()
        assert central.beats.acquire(timeout=HANG_GUARD_S)  # not an hour later
    finally:
        health.stop()
