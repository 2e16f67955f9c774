"""PcscCardReader against a real pcscd + vpcd with the virtual e-KTP and SAM."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields

import pytest

from drivers.card_reader.citizens import citizen
from drivers.card_reader.pcsc import PcscCardReader, PcscSettings
from drivers.card_reader.protocol import (
    CardInserted,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
    ReaderStateChanged,
    UidOnlyCard,
)
from drivers.card_reader.virtual.card import minutiae_for
from drivers.card_reader.virtual.testbed import Testbed
from drivers.errors import (
    CardExpired,
    CardNotAuthentic,
    CardUnreadable,
    NoReader,
    SamMissing,
)
from drivers.errors import CardRemoved as CardRemovedError
from kiosk_app.domain.identity import Identity
from tests.drivers.pcsc.fixtures import EventLog, reset_bed, wait_for

Started = tuple[PcscCardReader, EventLog]


@pytest.fixture
def start_reader(pcsc_testbed: Testbed) -> Iterator[Callable[..., Started]]:
    """Start PcscCardReaders with given settings on a clean bed; stop them afterwards."""
    readers: list[PcscCardReader] = []
    reset_bed(pcsc_testbed)

    def start(**settings: object) -> Started:
        reader, log = PcscCardReader(PcscSettings(**settings)), EventLog()  # type: ignore[arg-type]
        readers.append(reader)
        reader.start(log)
        return reader, log

    yield start
    for reader in readers:
        reader.stop()
    reset_bed(pcsc_testbed)


def _ready(reader: PcscCardReader) -> None:
    wait_for(lambda: reader.status()["pcsc_state"] == "no_card", what="reader ready")


def _read(bed: Testbed, log: EventLog, index: int = 0, **faults: object) -> Identity:
    assert bed.insert(index, **faults)
    _, event = log.expect(CardInserted, IdentityRead)
    return event.identity  # type: ignore[no-any-return]


def test_happy_read_gives_the_whole_identity(pcsc_testbed: Testbed, start_reader) -> None:
    reader, log = start_reader()
    _ready(reader)
    identity = _read(pcsc_testbed, log, 2)
    assert identity == citizen(2)  # every field, the ~14 KB photo included
    assert len(identity.photo_jpeg) > 10_000
    assert {f.name for f in fields(identity)} == {f.name for f in fields(Identity)}
    assert reader.status()["pcsc_state"] == "identity_read"
    assert reader.match_fingerprint(minutiae_for(2, 1))
    assert not reader.match_fingerprint(minutiae_for(3, 1))
    pcsc_testbed.remove()
    log.expect(CardRemoved)
    assert not reader.match_fingerprint(minutiae_for(2, 1)), "minutiae must go with the card"
    assert reader.status()["pcsc_state"] == "no_card"


@pytest.mark.parametrize("extended", ["auto", "never"])
def test_short_and_extended_apdus_and_t0_chaining(pcsc_testbed, start_reader, extended) -> None:
    reader, log = start_reader(extended_length=extended)
    _ready(reader)
    assert _read(pcsc_testbed, log, 4) == citizen(4)
    apdus = pcsc_testbed.status()["card_apdus"]
    assert apdus > 60 if extended == "never" else apdus < 20
    pcsc_testbed.remove()
    log.expect(CardRemoved)
    assert _read(pcsc_testbed, log, 4, chained=True, wrong_le=True) == citizen(4)


def _apdus_of_a_clean_read(bed: Testbed, log: EventLog, **settings: object) -> int:
    _read(bed, log, 1)
    count = int(bed.status()["card_apdus"])
    bed.remove()
    log.expect(CardRemoved)
    return count


def _pull_at(bed: Testbed, reader: PcscCardReader, log: EventLog, index: int) -> None:
    assert bed.insert(1, drop_after=index)
    log.expect(CardInserted)
    failed, _ = log.expect(CardReadFailed, CardRemoved)
    assert isinstance(failed.error, CardRemovedError), (index, failed.error)
    assert "terlepas" in failed.error.citizen_message("id")
    bed.remove()
    wait_for(lambda: reader.status()["pcsc_state"] == "no_card", what="back to no_card")


def test_card_pulled_at_every_apdu_index(pcsc_testbed: Testbed, start_reader) -> None:
    reader, log = start_reader()
    _ready(reader)
    total = _apdus_of_a_clean_read(pcsc_testbed, log)
    for index in range(total):
        _pull_at(pcsc_testbed, reader, log, index)
    assert _read(pcsc_testbed, log, 5) == citizen(5)  # and it still reads afterwards


def test_card_pulled_during_short_apdu_reads(pcsc_testbed: Testbed, start_reader) -> None:
    reader, log = start_reader(extended_length="never")
    _ready(reader)
    total = _apdus_of_a_clean_read(pcsc_testbed, log)
    for index in sorted({total // 7, total // 2, total - 1}):  # every index: the soak test
        _pull_at(pcsc_testbed, reader, log, index)


def test_pcscd_killed_and_restarted_mid_session(pcsc_testbed: Testbed, start_reader) -> None:
    reader, log = start_reader()
    _ready(reader)
    _read(pcsc_testbed, log, 0)
    pcsc_testbed.pcscd("kill")
    _, lost = log.expect(CardRemoved, ReaderStateChanged)
    assert lost.available is False
    assert reader.status()["state"] == "unavailable"
    assert reader.status()["pcsc_state"] == "no_service"
    pcsc_testbed.pcscd("start")
    (back,) = log.expect(ReaderStateChanged, timeout=30)
    assert back.available is True
    assert _read(pcsc_testbed, log, 3) == citizen(3)


def test_reader_started_before_pcscd_recovers(pcsc_testbed: Testbed, start_reader) -> None:
    pcsc_testbed.pcscd("stop")
    reader, log = start_reader()
    (down,) = log.expect(ReaderStateChanged)
    assert down.available is False and "PC/SC" in down.detail
    pcsc_testbed.pcscd("start")
    (up,) = log.expect(ReaderStateChanged, timeout=30)
    assert up.available is True
    assert _read(pcsc_testbed, log, 1) == citizen(1)


def test_pcscd_killed_mid_read_fails_with_no_reader(pcsc_testbed: Testbed, start_reader) -> None:
    reader, log = start_reader()
    _ready(reader)
    assert pcsc_testbed.insert(0, slow_s=0.1)
    log.expect(CardInserted)
    pcsc_testbed.pcscd("kill")
    failed, lost = log.expect(CardReadFailed, ReaderStateChanged)
    assert isinstance(failed.error, NoReader) and lost.available is False
    pcsc_testbed.pcscd("start")
    log.expect(ReaderStateChanged, timeout=30)


def test_sam_slot_empty(pcsc_testbed: Testbed, start_reader) -> None:
    reader, log = start_reader()
    _ready(reader)
    pcsc_testbed.set_sam(False)
    (event,) = log.expect(ReaderStateChanged)
    assert event.available is False and "SAM" in event.detail
    assert reader.status()["sam"] == "missing"
    assert reader.status()["state"] == "unavailable"
    assert pcsc_testbed.insert(0)
    _, failed = log.expect(CardInserted, CardReadFailed)
    assert isinstance(failed.error, SamMissing) and not failed.error.retriable
    assert "petugas" in failed.error.citizen_message("id")
    assert reader.status()["pcsc_state"] == "error_fatal"
    pcsc_testbed.set_sam(True)
    (event,) = log.expect(ReaderStateChanged)
    assert event.available is True
    pcsc_testbed.remove()
    log.expect(CardRemoved)
    assert _read(pcsc_testbed, log, 0) == citizen(0)


@pytest.mark.parametrize(
    ("faults", "error", "state"),
    [
        ({"wrong_sw": 0x6F00, "wrong_sw_at": 3}, CardUnreadable, "error_retriable"),
        ({"malformed_tlv": True}, CardUnreadable, "error_retriable"),
        ({"expired": True}, CardExpired, "error_fatal"),
        ({"not_ektp": True}, CardUnreadable, "error_fatal"),
        ({"forged": True}, CardNotAuthentic, "error_fatal"),
        ({"photo_size": 5000}, CardUnreadable, "error_retriable"),
    ],
    ids=["wrong-sw", "malformed-tlv", "expired", "not-ektp", "forged", "cut-photo"],
)
def test_card_faults_give_typed_errors(pcsc_testbed, start_reader, faults, error, state) -> None:
    reader, log = start_reader()
    _ready(reader)
    assert pcsc_testbed.insert(0, **faults)
    _, failed = log.expect(CardInserted, CardReadFailed)
    assert type(failed.error) is error, failed.error
    assert failed.error.citizen_message("id") and failed.error.citizen_message("en")
    assert reader.status()["pcsc_state"] == state
    pcsc_testbed.remove()
    log.expect(CardRemoved)
    assert log.quiet()


def test_slow_card_still_reads(pcsc_testbed: Testbed, start_reader) -> None:
    reader, log = start_reader()
    _ready(reader)
    assert _read(pcsc_testbed, log, 3, slow_s=0.03) == citizen(3)


def test_uid_profile_reports_uid_without_sam(pcsc_testbed: Testbed, start_reader) -> None:
    pcsc_testbed.set_sam(False)
    reader, log = start_reader(profile="uid")
    _ready(reader)
    assert reader.status()["sam"] == "not needed"
    assert pcsc_testbed.insert(1, not_ektp=True)  # any contactless card will do
    _, event = log.expect(CardInserted, UidOnlyCard)
    assert len(event.uid) == 14 and int(event.uid, 16)
    assert log.quiet()


def test_stop_during_a_slow_read_is_prompt_and_silent(pcsc_testbed, start_reader) -> None:
    reader, log = start_reader()
    _ready(reader)
    assert pcsc_testbed.insert(0, slow_s=0.2)
    log.expect(CardInserted)
    reader.stop()
    reader.stop()
    assert reader.status()["state"] == "stopped"
    assert log.quiet(within=0.5), "no event may follow stop()"


def test_listener_exceptions_do_not_kill_the_monitor(pcsc_testbed, start_reader) -> None:
    log = EventLog()

    def buggy(event: object) -> None:
        log(event)  # type: ignore[arg-type]
        raise RuntimeError("listener bug")

    reader, _ = start_reader()
    reader.stop()
    reader = PcscCardReader()
    reader.start(buggy)
    try:
        _ready(reader)
        _read(pcsc_testbed, log, 0)
        pcsc_testbed.remove()
        log.expect(CardRemoved)
    finally:
        reader.stop()


def test_configuration_chooses_the_pcsc_reader() -> None:
    from drivers.registry import DeviceConfig, build_devices

    devices = build_devices(DeviceConfig(card_reader="pcsc", card_profile="uid"))
    reader = devices.card_reader
    assert isinstance(reader, PcscCardReader) and reader.profile.name == "uid"
    assert reader.status()["state"] == "stopped"
    with pytest.raises(ValueError, match="unknown card profile"):
        build_devices(DeviceConfig(card_reader="pcsc", card_profile="vendor-x"))
