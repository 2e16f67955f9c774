"""The scanning step: real SANE test backend, simulator, real central server on loopback."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from central_server.embedded import start_embedded
from drivers.card_reader.simulator import SimulatedCardReader
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.errors import FeederEmpty, ScannerCoverOpen, ScannerJam
from drivers.scanner.sane import SaneScanner
from drivers.scanner.simulator import SimulatedScanner
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient, CentralError
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.session import SessionState, Timeouts
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.scanning.step import (
    NO_SCANNER,
    SCANS_AT_COUNTER,
    DocStatus,
    DocumentScanStep,
    ScanView,
    scan_name,
)
from kiosk_app.services.session.service import SessionService
from kiosk_app.services.session.views import SessionView
from tests.drivers.sane.fixtures import sane_config  # noqa: F401  (session fixture)
from tests.drivers.sane.harness import sane_harness

DOCS = SERVICES["akta_kelahiran"].required_documents


class StepRig:
    """A scanning step whose changes can be awaited."""

    def __init__(self, scanner: object) -> None:
        self.changed = threading.Condition()
        self.finished = 0
        self.step = DocumentScanStep(scanner, on_change=self._changed, dpi=75)  # type: ignore[arg-type]

    def _changed(self, finished: bool) -> None:
        with self.changed:
            self.finished += finished
            self.changed.notify_all()

    def wait(self, predicate: Callable[[ScanView], bool], timeout: float = 60.0) -> ScanView:
        with self.changed:
            ok = self.changed.wait_for(lambda: predicate(self.step.view()), timeout)
        assert ok, f"timed out; view {self.step.view()}"
        return self.step.view()

    def idle(self) -> ScanView:
        return self.wait(lambda v: not v.busy)


@pytest.fixture
def sim() -> Iterator[StepRig]:
    rig = StepRig(SimulatedScanner())
    rig.step.begin(DOCS)
    rig.idle()
    yield rig
    rig.step.close()


@pytest.fixture
def sane_rig(sane_config: Path) -> Iterator[tuple[StepRig, SaneScanner]]:  # noqa: F811
    scanner = sane_harness(sane_config)[0]
    rig = StepRig(scanner)
    rig.step.begin(DOCS[:2])
    rig.wait(lambda v: v.has_feeder)
    yield rig, scanner
    rig.step.close()


def test_names_are_stable_and_accepted_by_the_server() -> None:
    names = [scan_name(i, t) for i, t in enumerate(DOCS)]
    assert names[1] == "02-kartu-keluarga-kk-asli"
    assert len(set(names)) == len(DOCS)
    assert all(1 <= len(n) <= 64 and n.replace("-", "").isalnum() for n in names)


def test_preview_scan_retake_remove_then_one_pdf(sim: StepRig) -> None:
    view = sim.step.view()
    assert [d.status for d in view.documents] == [DocStatus.PENDING] * len(DOCS)
    assert view.scanner_ready and view.current is not None and view.current.title == DOCS[0]
    sim.step.preview()
    view = sim.wait(lambda v: not v.busy and v.image_png != b"")
    assert view.image_is_preview and view.current.pages == 0  # a preview is not a page
    assert view.image_png.startswith(b"\x89PNG")
    for _ in range(3):
        sim.step.scan()
        sim.idle()
    view = sim.step.view()
    assert view.current.pages == 3 and not view.image_is_preview
    first = sim.step._docs[0].pages.pages[1]
    sim.step.retake(1)
    sim.idle()
    assert sim.step._docs[0].pages.pages[1] != first
    sim.step.remove(0)
    assert sim.step.view().current.pages == 2
    sim.step.next_document()
    view = sim.wait(lambda v: not v.busy and v.index == 1)
    assert view.documents[0].status is DocStatus.SCANNED and view.image_png == b""
    [(name, pdf)] = sim.step.documents()
    assert name == scan_name(0, DOCS[0]) and pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 2 or b"/Count 2" in pdf


def test_skipping_never_blocks_and_finishes_the_step(sim: StepRig) -> None:
    sim.step.skip_document()
    view = sim.step.view()
    assert view.index == 1 and view.documents[0].status is DocStatus.SKIPPED
    sim.step.next_document()  # no page: the same as skipping
    assert sim.step.view().documents[1].status is DocStatus.SKIPPED and sim.finished == 0
    sim.step.previous_document()
    assert sim.step.view().index == 1
    sim.step.skip_rest()
    view = sim.step.view()
    assert view.current is None and sim.finished == 1
    assert {d.status for d in view.documents} == {DocStatus.SKIPPED}
    assert sim.step.documents() == []
    sim.step.reopen()  # back from the schedule: the last document shows again
    assert sim.step.view().index == len(DOCS) - 1


def test_a_missing_scanner_says_so_and_lets_the_citizen_skip() -> None:
    scanner = SimulatedScanner()
    scanner.set_available(False)
    rig = StepRig(scanner)
    try:
        rig.step.begin(DOCS)
        view = rig.wait(lambda v: not v.scanner_ready)
        assert view.message == NO_SCANNER
        rig.step.scan()
        view = rig.idle()
        assert view.message == NO_SCANNER and view.current.pages == 0
        rig.step.skip_rest()
        assert rig.finished == 1
    finally:
        rig.step.close()


@pytest.mark.parametrize(
    ("status", "error"),
    [("SANE_STATUS_JAMMED", ScannerJam), ("SANE_STATUS_COVER_OPEN", ScannerCoverOpen)],
)
def test_jam_and_cover_open_give_their_own_message_then_scanning_resumes(
    sane_rig: tuple[StepRig, SaneScanner],
    status: str,
    error: type[Exception],
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig, scanner = sane_rig
    scanner.options["read-return-value"] = status
    rig.step.scan()
    view = rig.wait(lambda v: not v.busy and v.message is not None)
    assert view.message == error.citizen_message  # type: ignore[attr-defined]
    assert view.scanner_ready and view.current.pages == 0
    assert any(
        error.__name__ in r.getMessage() and "SANE says" in r.getMessage() for r in caplog.records
    )
    scanner.options["read-return-value"] = "Default"
    rig.step.scan()
    view = rig.wait(lambda v: not v.busy and v.current.pages == 1)
    assert view.message is None


def test_feeder_pages_and_an_empty_feeder(sane_rig: tuple[StepRig, SaneScanner]) -> None:
    rig, scanner = sane_rig
    rig.step.scan_feeder()
    view = rig.wait(lambda v: not v.busy and v.current.pages > 0)
    assert view.current.pages >= 2 and view.message is None
    rig.step.skip_document()  # on to the next document with an empty feeder
    scanner.options["read-return-value"] = "SANE_STATUS_NO_DOCS"
    rig.step.scan_feeder()
    view = rig.wait(lambda v: not v.busy and v.message is not None)
    assert view.message == FeederEmpty.citizen_message


def test_clear_wipes_pages_and_drops_a_scan_still_running(sim: StepRig) -> None:
    sim.step.scan()
    sim.idle()
    pages = sim.step._docs[0].pages
    gate = threading.Event()
    slow = sim.step.scanner
    original = slow.scan_page

    def held(*args: object, **kwargs: object) -> bytes:
        gate.wait(30)
        return original(*args, **kwargs)

    slow.scan_page = held  # type: ignore[method-assign]
    sim.step.scan()
    sim.wait(lambda v: v.busy)
    sim.step.clear()
    gate.set()
    sim.step._worker.submit(lambda: None).result(5)
    assert pages.pages == [] and sim.step.view().documents == ()
    assert sim.step.documents() == [] and sim.step.view().image_png == b""


# -- the session service with a real central server --------------------------------------


class Session:
    def __init__(self, tmp_path: Path, central: CentralClient, scanner: object) -> None:
        self.reader = SimulatedCardReader(read_delay_s=0.01)
        out = tmp_path / "out"
        self.service = SessionService(
            card_reader=self.reader,
            central=central,
            printing=PrintingService(
                SimulatedTicketPrinter(out), SimulatedDocumentPrinter(out), kiosk_id="KIOSK-TEST-01"
            ),
            timeouts=Timeouts(inactivity_s=60, warning_s=25, goodbye_s=5),
            scanner=scanner,  # type: ignore[arg-type]
        )
        self.changed = threading.Condition()
        self.service.subscribe(self._changed)
        self.service.start()

    def _changed(self, _view: SessionView) -> None:
        with self.changed:
            self.changed.notify_all()

    def wait(self, predicate: Callable[[SessionView], bool], timeout: float = 60.0) -> SessionView:
        with self.changed:
            ok = self.changed.wait_for(lambda: predicate(self.service.view), timeout)
        assert ok, f"timed out in {self.service.view.state}: {self.service.view.scan}"
        return self.service.view

    def to_scan(self) -> None:
        s = self.service
        s.simulate_card_tap(0)
        self.wait(lambda v: v.state is SessionState.IDENTITY)
        s.continue_to_menu()
        s.choose_service("akta_kelahiran")
        form, values = SERVICES["akta_kelahiran"].form, sample_birth_values()
        assert form is not None
        for index in range(len(form.pages)):
            for name in form.page_fields(index):
                s.set_value(name, values[name])
            s.next_page()
        self.wait(lambda v: v.state is SessionState.SCAN and v.scan is not None and not v.scan.busy)

    def scan_one_page_skip_rest(self) -> None:
        s = self.service
        s.scan_page()
        self.wait(lambda v: v.scan is not None and not v.scan.busy and v.scan.current.pages == 1)
        s.scan_next_document()
        self.wait(lambda v: v.scan is not None and not v.scan.busy and v.scan.index == 1)
        s.scan_skip_all()

    def submit(self) -> SessionView:
        view = self.wait(lambda v: v.state is SessionState.SCHEDULE and bool(v.slots))
        self.service.choose_slot(view.slots[0].slot)
        self.service.submit()
        return self.wait(lambda v: v.state is SessionState.RESULT)

    def close(self) -> None:
        self.service.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[object, CentralClient, Path]]:
    db = tmp_path / "central.db"
    server = start_embedded(f"sqlite:///{db}")
    central = CentralClient(server.base_url, "KIOSK-TEST-01", "3517")
    central.register("test kiosk")
    yield server, central, db
    central.close()
    server.stop()


def stored_scans(db: Path, number: str) -> dict[str, bytes]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT s.name, s.content FROM application_scans s JOIN applications a"
            " ON a.id = s.application_id WHERE a.registration_number = ?",
            (number,),
        ).fetchall()
    return {name: bytes(content) for name, content in rows}


def test_journey_scans_one_document_and_the_officer_gets_it(server, tmp_path: Path) -> None:
    _srv, central, db = server
    session = Session(tmp_path, central, SimulatedScanner())
    try:
        session.to_scan()
        view = session.service.view
        assert view.scan is not None and len(view.scan.documents) == len(DOCS)
        session.service.previous_page()  # back to the form, then forward again: scans kept
        assert session.service.view.state is SessionState.FORM
        session.service.next_page()
        session.wait(lambda v: v.state is SessionState.SCAN)
        session.scan_one_page_skip_rest()
        view = session.submit()
        number = view.outcome.registration_number
        session.wait(lambda v: bool(stored_scans(db, number)) or v.outcome.messages != (), 10)
        stored = stored_scans(db, number)
        assert list(stored) == [scan_name(0, DOCS[0])]
        assert stored[scan_name(0, DOCS[0])].startswith(b"%PDF")
        assert SCANS_AT_COUNTER not in session.service.view.outcome.messages
        session.service.finish()
        assert session.service._scan.step.view().documents == ()
    finally:
        session.close()


class UploadsNowhere(CentralClient):
    """Submits to the real server; uploads go to a closed port (a real network failure)."""

    def upload_scan(self, registration_number: str, name: str, pdf: bytes) -> None:
        dead = CentralClient(
            "http://127.0.0.1:9", self.kiosk_id, self.office_code, token=self.token, timeout=1.0
        )
        dead.upload_scan(registration_number, name, pdf)


def test_failed_upload_keeps_the_submission_and_says_counter(
    server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    srv, central, db = server
    failing = UploadsNowhere(srv.base_url, "KIOSK-TEST-01", "3517", token=central.token)
    session = Session(tmp_path, failing, SimulatedScanner())
    queued: list[tuple[str, str, int]] = []
    session.service._scan.step.on_upload_failed = lambda number, name, pdf, exc: queued.append(
        (number, name, len(pdf))
    )
    try:
        session.to_scan()
        session.scan_one_page_skip_rest()
        view = session.submit()
        number = view.outcome.registration_number
        view = session.wait(lambda v: SCANS_AT_COUNTER in v.outcome.messages)
        assert central.status(number).status == "submitted"  # the submission is stored
        assert stored_scans(db, number) == {}
        assert queued and queued[0][:2] == (number, scan_name(0, DOCS[0]))
        assert any("scan upload failed for " + number in r.getMessage() for r in caplog.records)
    finally:
        session.close()


def test_card_removed_mid_scan_wipes_every_page(server, tmp_path: Path) -> None:
    _srv, central, _db = server
    session = Session(tmp_path, central, SimulatedScanner())
    try:
        session.to_scan()
        session.service.scan_page()
        session.wait(lambda v: v.scan is not None and v.scan.current.pages == 1)
        pages = session.service._scan.step._docs[0].pages
        session.reader.remove_card()
        view = session.wait(lambda v: v.state is SessionState.GOODBYE)
        assert view.scan is None and pages.pages == []
        assert session.service._scan.step.view().documents == ()
    finally:
        session.close()


def test_upload_scan_reaches_the_server_and_unknown_numbers_fail(server) -> None:
    _srv, central, _db = server
    with pytest.raises(CentralError) as caught:
        central.upload_scan("AKTA-00.00.000000.0000", "01-x", b"%PDF-1.4 test")
    assert caught.value.status == 404


def test_without_a_scanner_the_journey_skips_the_step(server, tmp_path: Path) -> None:
    _srv, central, _db = server
    session = Session(tmp_path, central, None)
    try:
        s = session.service
        s.simulate_card_tap(0)
        session.wait(lambda v: v.state is SessionState.IDENTITY)
        s.continue_to_menu()
        s.choose_service("akta_kelahiran")
        form, values = SERVICES["akta_kelahiran"].form, sample_birth_values()
        for index in range(len(form.pages)):
            for name in form.page_fields(index):
                s.set_value(name, values[name])
            s.next_page()
        assert s.view.state is SessionState.SCHEDULE and s.view.scan is None
        s.scan_page()  # ignored outside the step
        assert s.view.state is SessionState.SCHEDULE
    finally:
        session.close()


def test_offline_submission_hands_scans_to_the_outbox_seam(sim: StepRig) -> None:
    sim.step.scan()
    sim.idle()
    sim.step.next_document()
    sim.wait(lambda v: not v.busy and v.index == 1)
    handed: list[tuple[str, str, bytes]] = []
    sim.step.on_upload_failed = lambda ref, name, pdf, exc: handed.append((ref, name, pdf))
    failed = sim.step.hand_over_unsent("LOK-0001", "submission queued offline")
    assert failed == [scan_name(0, DOCS[0])]
    assert handed and handed[0][0] == "LOK-0001" and handed[0][2].startswith(b"%PDF")
