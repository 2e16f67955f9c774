"""The attendant's held submissions against the real outbox (SQLite) and the central server on
loopback: a row the server refused and a row with no place, listed, retried, marked handled,
counted in the heartbeat the fleet dashboard reads."""
# ruff: noqa: F811  (tests take the imported rig fixture as an argument)

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from central_server.quota import MAX_DAILY_QUOTA
from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, hash_pin
from kiosk_app.services.attendant.service import AttendantService
from kiosk_app.services.health import HealthReporter, RecordingSystemActions
from kiosk_app.services.outbox.records import HANDLED, NEEDS_SLOT, PENDING, REJECTED, SENT
from tests.services.outbox.test_outbox import Rig, rig, set_quota  # noqa: F401  (fixture)
from tests.services.outbox_rig import (
    ADMIN,
    CANARY_NAME,
    KIOSK_ID,
    canary_nik,
    server_rows,
    slot_plan,
    submission,
)

PIN = "482913"


@pytest.fixture(scope="module")
def settings() -> AttendantSettings:
    return AttendantSettings(staff=[Attendant("PTG-07", hash_pin(PIN), ())])


@pytest.fixture
def attendant(rig: Rig, settings: AttendantSettings) -> Iterator[AttendantService]:
    """Attendant mode over test_outbox's rig: its outbox, sender and server."""
    service = AttendantService(
        settings,
        kiosk_id=KIOSK_ID,
        session=None,
        journal=None,
        ticket_printer=None,
        outbox=rig.sender,
    )
    try:
        yield service
    finally:
        service.close()


def held_rows(rig: Rig) -> tuple[int, int]:
    """One row the server refuses (a value over its 2,000 characters), one with no place."""
    slot = next(slot_plan(rig.central, 1))
    fine = submission(slot)
    refused = rig.outbox.enqueue(replace(fine, data={**fine.data, "child_name": "X" * 2001}))
    rig.sender.drain_once()
    assert rig.outbox.get(refused.id).status == REJECTED
    set_quota(rig, 0)  # nothing left anywhere in the horizon
    no_place = rig.outbox.enqueue(submission(slot, 1))
    rig.sender.drain_once()
    assert rig.outbox.get(no_place.id).status == NEEDS_SLOT
    assert server_rows(rig.db) == []
    return refused.id, no_place.id


def fleet_entry(rig: Rig) -> dict[str, Any]:
    """This kiosk as the fleet dashboard's API shows it."""
    fleet = requests.get(
        f"{rig.server.base_url}/api/v1/fleet/kiosks",
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    )
    fleet.raise_for_status()
    return dict({k["kiosk_id"]: k for k in fleet.json()}[KIOSK_ID])


def audit_lines(caplog: pytest.LogCaptureFixture, action: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "anjungan.audit" and f"action={action}" in r.getMessage()
    ]


def test_held_rows_listed_retried_handled_and_counted(
    rig: Rig, attendant: AttendantService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    refused, no_place = held_rows(rig)
    assert attendant.view().held == ()  # locked: nothing shown
    assert attendant.unlock_with_pin(PIN)
    view = attendant.view()
    assert [(h.entry_id, h.kind) for h in view.held] == [
        (refused, "refused"),
        (no_place, "no_place"),
    ]
    first, second = view.held
    assert first.reference == rig.outbox.get(refused).local_reference
    assert first.reference.startswith(f"LOK-{KIOSK_ID}-")
    assert first.service.id == "Akta Kelahiran"
    assert first.reason.id.startswith("Ditolak server pusat: ")
    assert "at most 2000 characters" in first.reason.id and "(HTTP 422)" in first.reason.id
    assert "Tidak ada jadwal kosong" in second.reason.id and "booking period" in second.reason.en
    datetime.strptime(first.queued_at, "%d-%m-%Y %H:%M")  # local time, as people read it
    assert first.masked_nik == canary_nik()[:4] + "*" * 8 + canary_nik()[-4:]
    assert canary_nik() not in repr(view) and CANARY_NAME not in repr(view)

    # The heartbeat carries the count as its own field: the fleet raises an alert for it.
    health = HealthReporter(
        central=rig.central,
        devices={"attendant": attendant},
        app_version="test",
        data_dir=tmp_path,
        system=RecordingSystemActions(),
        held_submissions=rig.outbox.held_count,
    )
    assert health.collect()["held_submissions"] == 2
    health.beat_once()
    mine = fleet_entry(rig)
    assert mine["held_submissions"] == 2 and "held_submissions" in mine["alerts"]
    assert "held_submissions" not in mine["devices"]["attendant"]  # one place only

    # A refused row is not sent again: the same payload would be refused again.
    assert not attendant.retry_held(refused)
    assert rig.outbox.get(refused).status == REJECTED and server_rows(rig.db) == []

    # No place yet: tried now, still held, and said so.
    assert not attendant.retry_held(no_place)
    assert rig.outbox.get(no_place).status == NEEDS_SLOT
    assert "masih belum mendapat jadwal" in attendant.view().message.id
    # The office raised the quota: sent now with the same key; the next free place is booked.
    set_quota(rig, MAX_DAILY_QUOTA)
    assert attendant.retry_held(no_place)
    sent = rig.outbox.get(no_place)
    assert sent.status == SENT and sent.registration_number
    assert [(k, n) for k, _, n in server_rows(rig.db)] == [
        (sent.idempotency_key, sent.registration_number)
    ]
    view = attendant.view()
    assert view.message_ok and sent.registration_number in view.message.id
    assert [h.entry_id for h in view.held] == [refused]

    # Handled: out of the list, kept with its data, who and when.
    assert attendant.mark_handled(refused)
    row = rig.outbox.get(refused)
    assert row.status == HANDLED and "422" in row.last_error
    assert rig.outbox.submission(refused).applicant_nik == canary_nik()  # never deleted
    who = rig.outbox.handled_by(refused)
    assert who is not None and who[0] == "PTG-07" and who[2] == REJECTED
    datetime.fromisoformat(who[1])
    assert attendant.view().held == () and rig.outbox.held_count() == 0
    health.beat_once()
    mine = fleet_entry(rig)
    assert mine["held_submissions"] == 0 and "held_submissions" not in mine["alerts"]
    assert not attendant.mark_handled(refused)  # not held any more: nothing changes
    assert rig.outbox.handled_by(refused) == who

    retries = audit_lines(caplog, "retry_held")
    assert [line.split("outcome=")[1] for line in retries] == ["not_held", "needs_slot", "sent"]
    handled = audit_lines(caplog, "handled_held")
    assert [line.endswith("ok=true") for line in handled] == [True, False]
    assert all("attendant=PTG-07" in line for line in retries + handled)
    logged = caplog.text
    assert canary_nik() not in logged and CANARY_NAME not in logged


def test_retry_while_the_server_is_down_goes_back_to_the_queue(
    rig: Rig, attendant: AttendantService
) -> None:
    _, no_place = held_rows(rig)
    set_quota(rig, MAX_DAILY_QUOTA)
    rig.server.stop()
    assert attendant.unlock_with_pin(PIN)
    assert attendant.retry_held(no_place)  # queued: the background sender sends it later
    row = rig.outbox.get(no_place)
    assert row.status == PENDING and row.attempts == 2
    assert "otomatis" in attendant.view().message.id
    assert [h.kind for h in attendant.view().held] == ["refused"]


def test_locked_attendant_cannot_act(rig: Rig, attendant: AttendantService) -> None:
    refused, no_place = held_rows(rig)
    assert not attendant.retry_held(no_place)
    assert not attendant.mark_handled(refused)
    assert {rig.outbox.get(refused).status, rig.outbox.get(no_place).status} == {
        REJECTED,
        NEEDS_SLOT,
    }
    assert rig.outbox.handled_by(refused) is None
