"""A booking held for an officer tells its citizen how the hold ended, once per decision:
admitted (an officer releasing it, or a technician approving the seal key it waited for),
moved to another slot on release, or rejected. Over HTTP on loopback on SQLite and PostgreSQL,
the messages read from the notification outbox's recording channels; on PostgreSQL two app
servers deciding at once write one decision and one message."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
import requests
from argon2 import PasswordHasher
from sqlalchemy import select

from central_server.app import create_app
from central_server.auth import create_user, use_hasher
from central_server.embedded import EmbeddedServer
from central_server.models import Application
from central_server.notify.channels import SentMessage
from central_server.review_models import ApplicationEvent, OutboxMessage
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.dates import long_date
from kiosk_app.services import receipt_seal
from tests.central.conftest import ADMIN_TOKEN, TODAY, wait_for
from tests.central.fleet.helpers import Technician
from tests.central.lease_rig import (
    DATA,
    NAME,
    NIK,
    SERVICE,
    LeaseKiosk,
    LeaseServer,
    lease_server,
    seed_office,
)
from tests.central.officer.conftest import PASSWORD, Staff

IMPOSSIBLE_NIK = "3517087208850001"  # born on the 32nd: held for its content
PHONE = DATA["contact_phone"]
KEY_PATH = "/api/v1/kiosk/signing-key"
GOES_AHEAD, REJECTED = "diteruskan / application", "ditolak / application"


@pytest.fixture(autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    previous = use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    use_hasher(previous)


@pytest.fixture
def rig(database_url: str) -> Iterator[LeaseServer]:
    with lease_server(database_url) as running:
        create_user(running.app.state.db, "petugas", PASSWORD, "officer", office_code="3517")
        yield running


def held_booking(kiosk: LeaseKiosk, lease: dict[str, Any], rig: LeaseServer, **kw: Any) -> str:
    """An offline booking admitted held for an officer; its registration number."""
    r = kiosk.submit(kiosk.offline_booking(lease, rig.clock(), **kw))
    assert r.status_code == 201, r.text
    number: str = r.json()["registration_number"]
    with rig.app.state.db.transaction() as session:
        app = session.scalars(
            select(Application).where(Application.registration_number == number)
        ).one()
        assert app.hold_reason, number
    return number


def told(rig: LeaseServer, number: str, marker: str) -> list[SentMessage]:
    """The messages about `number`'s hold (subject with `marker`) delivered by SMS so far."""
    return [m for m in rig.sms.sent if number in m.subject and marker in m.subject]


def delivered(rig: LeaseServer, number: str, marker: str) -> SentMessage:
    """The one message of the decision, once the worker sent it (and no second one)."""
    wait_for(lambda: len(told(rig, number, marker)) >= 1, 20)
    [message] = told(rig, number, marker)
    return message


def outbox_rows(rig: LeaseServer, number: str, marker: str) -> list[OutboxMessage]:
    with rig.app.state.db.transaction() as session:
        app_id = session.scalar(
            select(Application.id).where(Application.registration_number == number)
        )
        return [
            m
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.application_id == app_id)
            )
            if marker in m.subject
        ]


def test_approving_the_seal_key_tells_each_admitted_citizen_once(rig: LeaseServer) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    [lease, *_] = kiosk.leases(days=4)
    new_key = receipt_seal.new_key()
    assert kiosk.call("PUT", KEY_PATH, json={"signing_key": receipt_seal.public_key_text(new_key)})
    renewed = replace(kiosk, key=new_key)
    only_key = held_booking(renewed, lease, rig)
    key_and_content = held_booking(renewed, lease, rig, nik=IMPOSSIBLE_NIK)

    assert Technician(rig.base_url, ADMIN_TOKEN).decide(kiosk.kiosk_id, "approve").ok

    message = delivered(rig, only_key, GOES_AHEAD)
    assert message.recipient == PHONE
    with rig.app.state.db.transaction() as session:
        app = session.scalars(
            select(Application).where(Application.registration_number == only_key)
        ).one()
    info = SERVICES[SERVICE]
    for expected in (
        only_key,
        str(app.local_reference),
        info.title("id"),
        info.title("en"),
        long_date(app.slot_date),
        long_date(app.slot_date, "en"),
        app.slot_window,
        app.queue_number,
        "Bawa dokumen asli",
        "Bring the originals",
        info.required_documents[0]("id"),
        info.required_documents[0]("en"),
    ):
        assert expected in message.body, (expected, message.body)
    assert NIK not in message.body and NAME not in message.body  # no NIK, no name
    # Still held for its content: no word yet. A second decision is refused: nothing more.
    assert told(rig, key_and_content, GOES_AHEAD) == []
    assert outbox_rows(rig, key_and_content, GOES_AHEAD) == []
    assert len(outbox_rows(rig, only_key, GOES_AHEAD)) == 1


def officer_page(officer: Staff, number: str) -> str:
    return officer.get(f"/officer/applications/{number}").text


def test_an_officers_release_move_and_rejection_are_told_once_each(rig: LeaseServer) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 8})
    [lease, *_] = kiosk.leases(days=4)
    released, moved, rejected = (
        held_booking(kiosk, lease, rig, nik=IMPOSSIBLE_NIK) for _ in range(3)
    )
    bad_contact = held_booking(
        kiosk, lease, rig, nik=IMPOSSIBLE_NIK, data=DATA | {"contact_phone": "0812"}
    )
    officer = Staff(rig.base_url, "petugas")
    assert officer.login_response.status_code == 303

    # Released as booked.
    page = officer_page(officer, released)
    assert 'id="release-slot"' in page and "Warga dikabari keputusan ini" in page
    assert officer.act(released, "release").status_code == 303
    message = delivered(rig, released, GOES_AHEAD)
    assert "Jadwal verifikasi tetap" in message.body and "stays on" in message.body
    assert officer.act(released, "release").status_code == 409  # not held any more

    # Released onto another slot: a new queue number and the server's seal.
    options = re.findall(r'<option value="([^"]+)">pindah ke', officer_page(officer, moved))
    assert options, "no other slot offered"
    day_text, _, window = options[-1].partition("|")
    assert officer.act(moved, "release", slot=options[-1]).status_code == 303
    message = delivered(rig, moved, GOES_AHEAD)
    with rig.app.state.db.transaction() as session:
        app = session.scalars(
            select(Application).where(Application.registration_number == moved)
        ).one()
        history = session.scalars(
            select(ApplicationEvent).where(ApplicationEvent.application_id == app.id)
        ).all()
    assert (app.slot_date, app.slot_window) == (date.fromisoformat(day_text), window)
    assert app.server_seal and app.hold_reason is None
    assert "dipindah dari" in message.body and "moved from" in message.body
    assert long_date(app.slot_date) in message.body and app.queue_number in message.body
    assert receipt_seal.qr_text(app.server_seal, rig.base_url) in message.body
    assert history[-1].action == "release" and "jadwal dipindah ke" in history[-1].note

    # Rejected: the hold's own message, with the reason, and no second (generic) one.
    assert officer.act(rejected, "reject", reason="Data NIK tidak sesuai KK").status_code == 303
    message = delivered(rig, rejected, REJECTED)
    assert "Alasan: Data NIK tidak sesuai KK" in message.body and "Reason:" in message.body
    assert "Untuk mengajukan lagi" in message.body and "bring:" in message.body
    wait_for(lambda: rig.app.state.review.worker.run_once() == 0, 10)
    about = [m for m in rig.sms.sent if rejected in m.subject]
    assert len([m for m in about if "ditolak" in m.body or "Ditolak" in m.body]) == 1

    # A contact failing the kiosk's rules is never written to.
    assert officer.act(bad_contact, "release").status_code == 303
    assert outbox_rows(rig, bad_contact, GOES_AHEAD) == []


def test_two_app_servers_deciding_at_once_tell_once(rig: LeaseServer, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two app servers share PostgreSQL (SQLite serves one process)")
    other = create_app(
        database_url,
        today=lambda: TODAY,
        admin_token=ADMIN_TOKEN,
        secret_key="test-session-key-0123456789abcdef",
        clock=rig.clock,
    )
    server_b = EmbeddedServer(other, "127.0.0.1", 0).start()
    try:
        [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 8})
        [lease, *_] = kiosk.leases(days=4)
        new_key = receipt_seal.new_key()
        r = kiosk.call("PUT", KEY_PATH, json={"signing_key": receipt_seal.public_key_text(new_key)})
        assert r.status_code == 202, r.text
        renewed = replace(kiosk, key=new_key)
        by_key = [held_booking(renewed, lease, rig) for _ in range(3)]
        by_content = [held_booking(kiosk, lease, rig, nik=IMPOSSIBLE_NIK) for _ in range(3)]
        officers = [Staff(base, "petugas") for base in (rig.base_url, server_b.base_url)]
        technicians = [Technician(b, ADMIN_TOKEN) for b in (rig.base_url, server_b.base_url)]
        for number in by_content:  # two officers, one on each server, release at once
            codes = together(
                [lambda o=o, n=number: o.act(n, "release").status_code for o in officers]
            )
            assert sorted(codes) == [303, 409], codes
            assert len(outbox_rows(rig, number, GOES_AHEAD)) == 1
        # Two technicians approve the key at once, one on each server.
        together([lambda t=t: t.decide(kiosk.kiosk_id, "approve").status_code for t in technicians])
        for number in by_key:
            assert len(outbox_rows(rig, number, GOES_AHEAD)) == 1
            delivered(rig, number, GOES_AHEAD)
    finally:
        server_b.stop()


def together(calls: list[Any]) -> list[Any]:
    """Run `calls` on threads released at the same moment; their results."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except (AssertionError, ValueError, requests.RequestException) as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
