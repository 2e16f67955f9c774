"""The kiosk, configured for PC/SC, reading e-KTPs through the real pcscd (not the simulator)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from drivers.card_reader.citizens import citizen
from drivers.card_reader.virtual.testbed import Testbed
from drivers.errors import CardNotResponding, CardRemoved, SamFault
from kiosk_app.bootstrap import Kiosk, build_kiosk
from kiosk_app.config import load_config
from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.session import SessionState, Timeouts
from tests.drivers.pcsc.fixtures import reset_bed, sam_slot_present, wait_for


@pytest.fixture
def kiosk(pcsc_testbed: Testbed, tmp_path: Path) -> Iterator[Kiosk]:
    with _pcsc_kiosk(pcsc_testbed, tmp_path, Timeouts(goodbye_s=0.2)) as kiosk:
        yield kiosk


@contextmanager
def _pcsc_kiosk(bed: Testbed, tmp_path: Path, timeouts: Timeouts) -> Iterator[Kiosk]:
    pcsc_testbed = bed
    reset_bed(pcsc_testbed)
    config = load_config(None, data_dir=tmp_path, output_dir=tmp_path / "out", headless=True)
    config.devices.card_reader = "pcsc"  # chosen by configuration, as on a real kiosk
    config.timeouts = timeouts
    kiosk = build_kiosk(config)
    try:
        wait_for(lambda: kiosk.session.view.reader_available, what="reader available")
        wait_for(
            lambda: kiosk.devices.card_reader.status()["pcsc_state"] == "no_card",
            what="reader ready",
        )
        yield kiosk
    finally:
        kiosk.close()
        reset_bed(pcsc_testbed)


def _state(kiosk: Kiosk, state: SessionState, timeout: float = 30.0) -> None:
    # Generous: it ends as soon as the state shows; a loaded machine (two suite streams and
    # more) once took over 10 s to free the link after a mute card.
    wait_for(lambda: kiosk.session.view.state is state, timeout, what=f"state {state.value}")


def _reads(kiosk: Kiosk, bed: Testbed, index: int) -> None:
    """Citizen `index`'s card on the reader brings their identity on screen."""
    assert bed.insert(index)
    _state(kiosk, SessionState.IDENTITY)
    assert kiosk.session.view.name == citizen(index).name


def _lift(kiosk: Kiosk, bed: Testbed) -> None:
    """Take the card away and wait until the kiosk's reader has seen it go.

    pcscd polls a vpcd slot (every 0.4 s), so a card put back before its next poll is a card
    that never left, for pcscd and for any kiosk above it: a citizen's lift lasts longer.
    """
    bed.remove()
    wait_for(lambda: kiosk.devices.card_reader.status()["card"] == "false", what="card lifted")


def _back_to_attract(kiosk: Kiosk) -> None:
    def ticked() -> bool:
        kiosk.session.tick()
        return kiosk.session.view.state is SessionState.ATTRACT

    wait_for(ticked, what="attract screen")


def test_identity_from_real_pcscd_then_card_removed_ends_session(
    kiosk: Kiosk, pcsc_testbed: Testbed
) -> None:
    holder = citizen(2)
    assert not kiosk.session.simulated_reader
    _reads(kiosk, pcsc_testbed, 2)
    view = kiosk.session.view
    assert view.name == holder.name and view.masked_nik == mask_nik(holder.nik)
    assert view.photo_jpeg[:2] == b"\xff\xd8"
    pcsc_testbed.remove()
    _state(kiosk, SessionState.GOODBYE)
    assert kiosk.session.view.name == ""
    _back_to_attract(kiosk)


def test_card_pulled_mid_read_says_so_and_returns_to_prompt(
    kiosk: Kiosk, pcsc_testbed: Testbed
) -> None:
    assert pcsc_testbed.insert(0, slow_s=0.15)
    _state(kiosk, SessionState.READING_CARD)
    pcsc_testbed.remove()
    wait_for(
        lambda: (
            kiosk.session.view.state is SessionState.ATTRACT
            and kiosk.session.view.message == CardRemoved.citizen_message
        ),
        what="the card-removed message on the attract screen",
    )
    assert kiosk.session.view.name == ""


def test_pcscd_gone_reader_unavailable_then_recovers_by_itself(
    kiosk: Kiosk, pcsc_testbed: Testbed
) -> None:
    pcsc_testbed.pcscd("kill")
    wait_for(lambda: not kiosk.session.view.reader_available, what="reader unavailable")
    health = kiosk.health
    assert health is not None
    reported = health.collect()["devices"]["card_reader"]
    assert reported["state"] == "unavailable" and reported["pcsc_state"] == "no_service"
    assert reported["detail"]  # the technician sees why
    pcsc_testbed.pcscd("start")
    # Recovers without restarting the kiosk (the wait only guards against a hang).
    wait_for(lambda: kiosk.session.view.reader_available, what="reader back")
    wait_for(
        lambda: health.collect()["devices"]["card_reader"]["pcsc_state"] == "no_card",
        what="health report recovered",
    )
    _reads(kiosk, pcsc_testbed, 1)


def test_mute_card_is_told_to_the_citizen_and_the_next_card_reads(
    kiosk: Kiosk, pcsc_testbed: Testbed
) -> None:
    assert pcsc_testbed.insert(0, mute_after=3)  # silent from MUTUAL AUTHENTICATE on
    # The driver's own deadlines (2 s per APDU, 4 s a read) end it; the wait only guards hangs.
    wait_for(
        lambda: kiosk.session.view.message == CardNotResponding.citizen_message,
        30.0,
        what="the card-not-responding message",
    )
    _lift(kiosk, pcsc_testbed)
    _back_to_attract(kiosk)
    _reads(kiosk, pcsc_testbed, 1)


def test_mute_sam_calls_an_attendant_not_the_citizen_s_card(
    kiosk: Kiosk, pcsc_testbed: Testbed
) -> None:
    pcsc_testbed.set_sam(False)
    wait_for(lambda: not sam_slot_present(), what="pcscd to see the SAM leave")
    pcsc_testbed.set_sam(True, mute_after=1)  # answers SELECT, then never again
    wait_for(sam_slot_present, what="pcscd to see the mute SAM")
    wait_for(lambda: kiosk.session.view.reader_available, what="reader available")
    assert pcsc_testbed.insert(0)
    wait_for(
        lambda: kiosk.session.view.message == SamFault.citizen_message,
        30.0,
        what="the SAM-fault message",
    )
    wait_for(lambda: not kiosk.session.view.reader_available, what="reader not available")
    health = kiosk.health
    assert health is not None
    reported = health.collect()["devices"]["card_reader"]
    assert reported["sam"] == "fault" and "SAM" in reported["detail"]
    assert reported["state"] == "unavailable"  # the fleet dashboard raises its reader alert
    _lift(kiosk, pcsc_testbed)
    pcsc_testbed.set_sam(False)
    pcsc_testbed.set_sam(True)  # an attendant puts a working SAM in
    wait_for(lambda: kiosk.session.view.reader_available, 30.0, what="reader back")
    _back_to_attract(kiosk)
    _reads(kiosk, pcsc_testbed, 2)


def test_a_reader_gone_while_idle_calls_an_attendant_after_its_grace(
    pcsc_testbed: Testbed, tmp_path: Path
) -> None:
    """Nobody reads a card, so no failed read tells anyone: past `reader_missing_s` the kiosk
    calls an attendant itself (once), and the health report says why."""
    timeouts = Timeouts(goodbye_s=0.2, reader_missing_s=0.5)
    with _pcsc_kiosk(pcsc_testbed, tmp_path, timeouts) as kiosk:
        health = kiosk.health
        assert health is not None
        kiosk.session.tick()
        assert health.collect()["devices"]["attendant"]["called"] == ""  # reader present
        pcsc_testbed.pcscd("kill")
        wait_for(lambda: not kiosk.session.view.reader_available, what="reader unavailable")

        def called() -> str:
            kiosk.session.tick()
            return str(health.collect()["devices"]["attendant"]["called"])

        wait_for(lambda: called().startswith("card reader unavailable"), what="attendant call")
        assert "PC/SC service" in called()  # the driver's own words: what is missing
        pcsc_testbed.pcscd("start")
        wait_for(lambda: kiosk.session.view.reader_available, what="reader back")
        _reads(kiosk, pcsc_testbed, 1)
