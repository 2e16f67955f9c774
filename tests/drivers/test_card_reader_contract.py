"""Contract every CardReader implementation must satisfy (simulator today, PC/SC later)."""

from __future__ import annotations

import threading
import time
from datetime import date

from drivers.card_reader.protocol import (
    CardInserted,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
    ReaderStateChanged,
)
from drivers.card_reader.simulator import SimulatedCardReader
from drivers.errors import CardNotResponding, CardUnreadable, NoReader
from drivers.errors import CardRemoved as CardRemovedError
from tests.drivers.conftest import CardReaderHarness


def _nik_matches(nik: str, birth: date, sex: str) -> bool:
    """True when the NIK's date part encodes `birth` (day + 40 for women)."""
    day = int(nik[6:8]) - (40 if sex == "P" else 0)
    return (day, int(nik[8:10]), int(nik[10:12])) == (birth.day, birth.month, birth.year % 100)


def test_insert_emits_inserted_then_identity(card_reader: CardReaderHarness) -> None:
    card_reader.insert(1)
    assert isinstance(card_reader.next_event(), CardInserted)
    event = card_reader.next_event()
    assert isinstance(event, IdentityRead)
    ident = event.identity
    assert len(ident.nik) == 16 and ident.nik.isdigit()
    assert _nik_matches(ident.nik, ident.birth_date, ident.sex)
    assert ident.photo_jpeg[:2] == b"\xff\xd8"
    assert ident.name and ident.address and ident.citizenship == "WNI"
    assert ident.nik not in repr(ident)


def test_different_cards_give_different_people(card_reader: CardReaderHarness) -> None:
    niks = []
    for index in (0, 3):
        card_reader.insert(index)
        assert isinstance(card_reader.next_event(), CardInserted)
        event = card_reader.next_event()
        assert isinstance(event, IdentityRead)
        niks.append(event.identity.nik)
        card_reader.remove()
        assert isinstance(card_reader.next_event(), CardRemoved)
    assert niks[0] != niks[1]


def test_removal_emits_card_removed(card_reader: CardReaderHarness) -> None:
    card_reader.insert(0)
    assert isinstance(card_reader.next_event(), CardInserted)
    assert isinstance(card_reader.next_event(), IdentityRead)
    card_reader.remove()
    assert isinstance(card_reader.next_event(), CardRemoved)
    assert card_reader.no_event()


def test_removal_during_read_cancels_identity(card_reader: CardReaderHarness) -> None:
    card_reader.set_read_delay(0.25)
    card_reader.insert(0)
    card_reader.remove()
    assert isinstance(card_reader.next_event(), CardInserted)
    event = card_reader.next_event()
    if isinstance(event, CardReadFailed):  # a driver may say why first (the citizen's message)
        assert isinstance(event.error, CardRemovedError)
        event = card_reader.next_event()
    assert isinstance(event, CardRemoved)
    assert card_reader.no_event(within=0.4), "identity must not arrive after the card left"


def test_failed_read_reports_error_once(card_reader: CardReaderHarness) -> None:
    card_reader.fail_next(CardUnreadable("test"))
    card_reader.insert(0)
    assert isinstance(card_reader.next_event(), CardInserted)
    event = card_reader.next_event()
    assert isinstance(event, CardReadFailed)
    assert isinstance(event.error, CardUnreadable)
    assert event.error.citizen_message("id")
    card_reader.remove()
    assert isinstance(card_reader.next_event(), CardRemoved)
    card_reader.insert(0)  # the fault was one-shot
    assert isinstance(card_reader.next_event(), CardInserted)
    assert isinstance(card_reader.next_event(), IdentityRead)


def test_mute_card_is_told_within_the_deadline_and_the_next_reads(
    card_reader: CardReaderHarness,
) -> None:
    card_reader.fail_next(CardNotResponding("test: the chip stopped answering"))
    card_reader.insert(0)
    assert isinstance(card_reader.next_event(), CardInserted)
    failed = card_reader.next_event()  # the driver's deadline ends it; WAIT_S only guards hangs
    assert isinstance(failed, CardReadFailed) and isinstance(failed.error, CardNotResponding)
    assert failed.error.retriable and "tempelkan kembali" in failed.error.citizen_message("id")
    card_reader.remove()
    assert isinstance(card_reader.next_event(), CardRemoved)
    card_reader.insert(1)
    assert isinstance(card_reader.next_event(), CardInserted)
    assert isinstance(card_reader.next_event(), IdentityRead)


def test_unplugged_reader_reports_state_and_refuses_cards(card_reader: CardReaderHarness) -> None:
    card_reader.set_available(False)
    event = card_reader.next_event()
    assert isinstance(event, ReaderStateChanged) and event.available is False
    assert card_reader.state() == "unavailable"
    assert card_reader.try_insert(0) is False
    assert card_reader.no_event()
    card_reader.set_available(True)
    event = card_reader.next_event()
    assert isinstance(event, ReaderStateChanged) and event.available is True
    card_reader.insert(2)
    assert isinstance(card_reader.next_event(), CardInserted)


def test_unplug_during_read_fails_with_no_reader(card_reader: CardReaderHarness) -> None:
    card_reader.set_read_delay(0.25)
    card_reader.insert(0)
    card_reader.set_available(False)
    assert isinstance(card_reader.next_event(), CardInserted)
    failed = card_reader.next_event()
    assert isinstance(failed, CardReadFailed) and isinstance(failed.error, NoReader)
    assert isinstance(card_reader.next_event(), ReaderStateChanged)
    assert card_reader.no_event(within=0.4)


def test_status_follows_the_card(card_reader: CardReaderHarness) -> None:
    assert card_reader.state() == "ready"
    card_reader.insert(0)
    card_reader.next_event()
    card_reader.next_event()
    assert card_reader.state() == "card_present"
    card_reader.remove()
    card_reader.next_event()
    assert card_reader.state() == "ready"


def test_listener_exception_does_not_kill_reader() -> None:
    calls: list[object] = []
    done = threading.Event()

    def listener(event: object) -> None:
        calls.append(event)
        if isinstance(event, IdentityRead):
            done.set()
        if isinstance(event, CardInserted):
            raise RuntimeError("buggy listener")

    reader = SimulatedCardReader(read_delay_s=0.01)
    reader.start(listener)
    try:
        reader.insert_card(0)
        assert done.wait(10.0)
    finally:
        reader.stop()
    assert [type(e) for e in calls] == [CardInserted, IdentityRead]


def test_stop_is_prompt_and_idempotent() -> None:
    reader = SimulatedCardReader(read_delay_s=3600.0)  # a read in progress that never ends here
    reader.stop_timeout_s = 60.0  # generous for a busy machine, a minute short of the read
    reader.start(lambda event: None)
    reader.insert_card(0)
    assert reader.stop()  # the thread ended: the stop did not wait for the read
    assert reader.stop()
    assert reader.status()["state"] == "stopped"
    assert reader.insert_card(0) is False


def test_stop_reports_the_truth_while_a_listener_blocks() -> None:
    release, inside = threading.Event(), threading.Event()

    def listener(event: object) -> None:
        if isinstance(event, CardInserted):
            inside.set()
            release.wait(10.0)

    reader = SimulatedCardReader(read_delay_s=0.01)
    reader.stop_timeout_s = 0.2
    reader.start(listener)
    reader.insert_card(0)
    assert inside.wait(10.0)
    assert reader.stop() is False
    assert reader.status()["state"] == "stopping"
    release.set()
    deadline = time.monotonic() + 10.0
    while reader.status()["state"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reader.status()["state"] == "stopped"
    assert reader.stop() is True


def test_stop_returns_true_once_stopped(card_reader: CardReaderHarness) -> None:
    assert card_reader.reader.stop() is True
    assert card_reader.state() == "stopped"
    assert card_reader.reader.stop() is True


def test_bad_citizen_index_is_a_clear_error(card_reader: CardReaderHarness) -> None:
    for bad in (-1, 99):
        try:
            card_reader.try_insert(bad)
        except ValueError as exc:
            assert "citizen index" in str(exc)
        else:
            raise AssertionError("expected ValueError")
    assert card_reader.no_event(within=0.05)
