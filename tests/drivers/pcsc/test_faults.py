"""Mute, slow and garbled cards and SAMs through the real pcscd + vpcd: typed errors, recovery.

No test asserts on durations: each waits (with a generous outer timeout against hangs) for the
typed outcome, then checks that the next card reads fine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from drivers.card_reader.citizens import citizen
from drivers.card_reader.pcsc import PcscCardReader, PcscSettings
from drivers.card_reader.pcsc_link import NoAnswer, PcscWorker
from drivers.card_reader.protocol import (
    CardInserted,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
    ReaderStateChanged,
)
from drivers.card_reader.virtual.testbed import Testbed
from drivers.errors import CardNotResponding, CardUnreadable, NoReader, SamFault
from drivers.errors import CardRemoved as CardRemovedError
from kiosk_app.domain.identity import Identity
from tests.drivers.pcsc.fixtures import EventLog, reset_bed, sam_slot_present, wait_for

Started = tuple[PcscCardReader, EventLog]
HANG_GUARD_S = 30.0  # only against hangs: every outcome below comes within the driver's deadlines


@pytest.fixture
def start_reader(pcsc_testbed: Testbed) -> Iterator[Callable[..., Started]]:
    """Start a PcscCardReader with given settings on a clean bed; stop it afterwards."""
    readers: list[PcscCardReader] = []
    reset_bed(pcsc_testbed)

    def start(**settings: float | str) -> Started:
        reader, log = PcscCardReader(PcscSettings(**settings)), EventLog()  # type: ignore[arg-type]
        readers.append(reader)
        reader.start(log)
        wait_for(lambda: reader.status()["pcsc_state"] == "no_card", what="reader ready")
        return reader, log

    yield start
    for reader in readers:
        assert reader.stop(), "the monitor thread must end within stop()'s bound"
    reset_bed(pcsc_testbed)


def _read(bed: Testbed, log: EventLog, index: int = 0, **faults: object) -> Identity:
    assert bed.insert(index, **faults)
    _, event = log.expect(CardInserted, IdentityRead, timeout=HANG_GUARD_S)
    assert isinstance(event, IdentityRead)
    return event.identity


def _fails(bed: Testbed, log: EventLog, index: int = 0, **faults: object) -> CardReadFailed:
    assert bed.insert(index, **faults)
    _, failed = log.expect(CardInserted, CardReadFailed, timeout=HANG_GUARD_S)
    assert isinstance(failed, CardReadFailed)
    return failed


def _pull(bed: Testbed, log: EventLog) -> None:
    bed.remove()
    log.expect(CardRemoved, timeout=HANG_GUARD_S)


# APDUs of a read: 1 GET DATA UID, 2 SELECT AID, 3 GET CHALLENGE, 4 MUTUAL AUTH, 5-6 DG1, 7-8 DG2
@pytest.mark.parametrize("mute_after", [0, 2, 3, 7], ids=["uid", "challenge", "auth", "photo"])
def test_mute_card_ends_in_a_typed_error_and_the_next_card_reads(
    pcsc_testbed: Testbed, start_reader: Callable[..., Started], mute_after: int
) -> None:
    reader, log = start_reader(apdu_timeout_s=0.5, read_timeout_s=3.0)
    failed = _fails(pcsc_testbed, log, 0, mute_after=mute_after)
    assert type(failed.error) is CardNotResponding, failed.error
    assert failed.error.retriable and not failed.error.attendant_alert
    assert "tempelkan kembali" in failed.error.citizen_message("id")
    assert reader.status()["pcsc_state"] == "error_retriable"
    assert reader.status()["card"] == "true"  # the mute card still lies on the reader
    _pull(pcsc_testbed, log)
    assert _read(pcsc_testbed, log, 1) == citizen(1)


def test_mute_card_pulled_while_the_reader_waits(pcsc_testbed, start_reader) -> None:
    reader, log = start_reader(apdu_timeout_s=60.0, read_timeout_s=60.0)  # pull comes first
    assert pcsc_testbed.insert(0, mute_after=4)
    log.expect(CardInserted)
    wait_for(lambda: pcsc_testbed.status()["card_apdus"] >= 5, what="the unanswered APDU")
    pcsc_testbed.remove()
    failed, _ = log.expect(CardReadFailed, CardRemoved, timeout=HANG_GUARD_S)
    assert isinstance(failed.error, CardRemovedError), failed.error
    assert _read(pcsc_testbed, log, 2) == citizen(2)


def test_slow_card_hits_the_read_deadline(pcsc_testbed, start_reader) -> None:
    reader, log = start_reader(apdu_timeout_s=5.0, read_timeout_s=0.6)
    failed = _fails(pcsc_testbed, log, 0, slow_s=0.15)  # ~12 APDUs: ~1.8 s in all
    assert type(failed.error) is CardNotResponding, failed.error
    assert "deadline" in str(failed.error)
    _pull(pcsc_testbed, log)
    assert _read(pcsc_testbed, log, 3) == citizen(3)


@pytest.mark.parametrize("garbled_at", [1, 4, 8])
def test_garbled_answer_is_unreadable_not_mute(pcsc_testbed, start_reader, garbled_at) -> None:
    reader, log = start_reader()
    failed = _fails(pcsc_testbed, log, 0, garbled_at=garbled_at)
    assert type(failed.error) is CardUnreadable, failed.error
    _pull(pcsc_testbed, log)
    assert _read(pcsc_testbed, log, 4) == citizen(4)


@pytest.mark.parametrize("extended", ["auto", "never"])
@pytest.mark.parametrize(
    "faults",
    [
        {"wrong_le_extended": True, "wrong_le": True},
        {"eof_6282": True},
        {"photo_padding": 40_000},
        {"photo_padding": 70_000, "eof_6282": True},
    ],
    ids=["6Cxx", "6282", "photo-54KB", "photo-84KB-6282"],
)
def test_iso7816_corners_read_the_whole_card(pcsc_testbed, start_reader, extended, faults) -> None:
    reader, log = start_reader(extended_length=extended)
    identity = _read(pcsc_testbed, log, 5, **faults)
    expected = citizen(5)
    padding = int(faults.get("photo_padding", 0))
    assert len(identity.photo_jpeg) == len(expected.photo_jpeg) + padding
    assert identity.photo_jpeg[-2:] == b"\xff\xd9"
    assert identity.nik == expected.nik and identity.name == expected.name
    _pull(pcsc_testbed, log)


def test_big_file_on_a_card_without_odd_ins_is_a_typed_error(pcsc_testbed, start_reader) -> None:
    reader, log = start_reader()
    failed = _fails(pcsc_testbed, log, 0, photo_padding=70_000, odd_ins=False)
    assert type(failed.error) is CardUnreadable and "READ BINARY" in str(failed.error)
    _pull(pcsc_testbed, log)


def _swap_sam(bed: Testbed, **faults: object) -> None:
    """Put a SAM with `faults` in, making sure pcscd saw the old one leave."""
    bed.set_sam(False)
    wait_for(lambda: not sam_slot_present(), what="pcscd to see the SAM leave")
    bed.set_sam(True, **faults)
    wait_for(sam_slot_present, what="pcscd to see the SAM")


def _until_available(log: EventLog) -> None:
    """Take events until the reader says it is available again (a SAM swap may say 'missing')."""
    while True:
        event = log.next(timeout=HANG_GUARD_S)
        assert isinstance(event, ReaderStateChanged), event
        if event.available:
            return


def _sam_fault_then_recovery(bed: Testbed, reader: PcscCardReader, log: EventLog) -> None:
    """The read fails as a SAM fault; a healthy SAM brings the reader back without a card."""
    failed = _fails(bed, log, 0)
    assert isinstance(failed.error, SamFault), failed.error
    assert not failed.error.retriable and failed.error.attendant_alert
    assert "petugas" in failed.error.citizen_message("id").lower()
    assert "e-KTP" not in str(type(failed.error).__name__)
    (down,) = log.expect(ReaderStateChanged, timeout=HANG_GUARD_S)
    assert down.available is False and "SAM" in down.detail
    assert reader.status()["sam"] == "fault"
    assert reader.status()["state"] == "unavailable"  # what the fleet's reader alert looks for
    assert reader.status()["pcsc_state"] == "error_fatal"
    _pull(bed, log)
    _swap_sam(bed)  # the attendant puts a working SAM in
    _until_available(log)
    assert reader.status()["sam"] == "present"
    assert _read(bed, log, 1) == citizen(1)


@pytest.mark.parametrize(
    "sam_faults",
    [{"mute_after": 1}, {"wrong_sw": 0x6581}, {"garbled": True}, {"mute_after": 0}],
    ids=["mute-in-auth", "failing", "garbled", "mute-at-select"],
)
def test_sam_faults_are_sam_faults(pcsc_testbed, start_reader, sam_faults) -> None:
    _swap_sam(pcsc_testbed, **sam_faults)
    reader, log = start_reader(sam_timeout_s=0.5, sam_probe_s=0.2)
    _sam_fault_then_recovery(pcsc_testbed, reader, log)


def test_card_pulled_while_the_sam_is_mute(pcsc_testbed, start_reader) -> None:
    _swap_sam(pcsc_testbed, mute_after=1)
    reader, log = start_reader(sam_timeout_s=60.0, read_timeout_s=60.0)  # the pull comes first
    assert pcsc_testbed.insert(0)
    log.expect(CardInserted)
    wait_for(lambda: pcsc_testbed.status()["sam_apdus"] >= 2, what="the unanswered AUTHENTICATE")
    pcsc_testbed.remove()
    failed, _ = log.expect(CardReadFailed, CardRemoved, timeout=HANG_GUARD_S)
    assert isinstance(failed.error, CardRemovedError), failed.error
    _swap_sam(pcsc_testbed)
    _until_available(log)
    assert _read(pcsc_testbed, log, 2) == citizen(2)


def test_stop_during_a_mute_card_reports_the_truth(pcsc_testbed, start_reader) -> None:
    reader, log = start_reader(apdu_timeout_s=60.0, read_timeout_s=60.0)
    assert pcsc_testbed.insert(0, mute_after=2)
    log.expect(CardInserted)
    wait_for(lambda: pcsc_testbed.status()["card_apdus"] >= 3, what="the unanswered APDU")
    stopped = reader.stop()
    assert stopped is True  # the transmit is abandoned on its own thread; the monitor ends
    assert reader.status()["state"] == "stopped"
    assert log.quiet(within=0.3)


def test_pcscd_hanging_while_idle_is_told_and_the_reader_recovers(
    pcsc_testbed: Testbed, start_reader: Callable[..., Started]
) -> None:
    reader, log = start_reader()
    pcsc_testbed.pcscd("freeze")  # SIGSTOP: pcscd takes requests and never answers
    try:
        (down,) = log.expect(ReaderStateChanged, timeout=HANG_GUARD_S)
        assert down.available is False
        assert reader.status()["state"] == "unavailable"
    finally:
        pcsc_testbed.pcscd("thaw")
    _until_available(log)
    assert _read(pcsc_testbed, log, 3) == citizen(3)


def test_stop_says_stopping_until_the_thread_has_ended(pcsc_testbed: Testbed) -> None:
    reset_bed(pcsc_testbed)
    release, inside = threading.Event(), threading.Event()

    def listener(event: object) -> None:
        if isinstance(event, CardInserted):  # a listener stuck in the kiosk's code
            inside.set()
            release.wait(HANG_GUARD_S)

    reader = PcscCardReader(PcscSettings(stop_timeout_s=0.2))
    reader.start(listener)
    try:
        wait_for(lambda: reader.status()["pcsc_state"] == "no_card", what="reader ready")
        assert pcsc_testbed.insert(0)
        assert inside.wait(HANG_GUARD_S)
        assert reader.stop() is False
        assert reader.status()["state"] == "stopping"
    finally:
        release.set()
    wait_for(lambda: reader.status()["state"] == "stopped", what="the thread to end")
    assert reader.stop() is True
    reset_bed(pcsc_testbed)


def test_pcscd_hanging_mid_read_is_told_and_the_reader_recovers(
    pcsc_testbed: Testbed, start_reader: Callable[..., Started]
) -> None:
    reader, log = start_reader(apdu_timeout_s=60.0, read_timeout_s=60.0)  # pcscd's fault first
    assert pcsc_testbed.insert(0, slow_s=0.1)
    log.expect(CardInserted)
    pcsc_testbed.pcscd("freeze")
    try:
        failed, down = log.expect(CardReadFailed, ReaderStateChanged, timeout=HANG_GUARD_S)
    finally:
        pcsc_testbed.pcscd("thaw")
    assert isinstance(failed.error, NoReader) and "not answering" in str(failed.error)
    assert down.available is False
    # pcscd is back with the card still on it: the reader may read it again; then it leaves.
    wait_for(
        lambda: reader.status()["state"] in ("ready", "card_present"),
        HANG_GUARD_S,
        what="the reader back after pcscd answers again",
    )
    pcsc_testbed.remove()
    wait_for(lambda: reader.status()["pcsc_state"] == "no_card", HANG_GUARD_S, what="no card")
    while not log.events.empty():
        log.events.get_nowait()
    assert _read(pcsc_testbed, log, 1) == citizen(1)


def test_read_deadline_spent_by_a_slow_card_is_not_blamed_on_the_sam(
    pcsc_testbed: Testbed, start_reader: Callable[..., Started]
) -> None:
    _swap_sam(pcsc_testbed, slow_s=0.4)  # a sluggish SAM, yet well within its own deadline
    # SAM SELECT ~0.4 s, three card APDUs ~0.3 s: the read's time runs out inside AUTHENTICATE.
    reader, log = start_reader(read_timeout_s=0.9, sam_timeout_s=5.0)
    failed = _fails(pcsc_testbed, log, 0, slow_s=0.1)
    assert type(failed.error) is CardNotResponding, failed.error
    assert reader.status()["sam"] == "present"
    _pull(pcsc_testbed, log)


def test_a_late_answer_is_disposed_of_and_nothing_queues_behind_a_stuck_call() -> None:
    worker = PcscWorker("test-worker")
    release, disposed = threading.Event(), []

    def stuck() -> str:
        release.wait(HANG_GUARD_S)
        return "late context"

    with pytest.raises(NoAnswer):
        worker.run(stuck, 0.05, "stuck call", dispose=disposed.append)
    with pytest.raises(NoAnswer, match="still unanswered"):
        worker.run(lambda: "next", HANG_GUARD_S, "next call")
    release.set()
    wait_for(lambda: disposed == ["late context"], what="the late result disposed of")
    assert worker.run(lambda: "next", HANG_GUARD_S, "next call") == "next"
    worker.end()
