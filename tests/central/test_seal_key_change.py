"""Replacing a kiosk's seal key, over HTTP on loopback against the real server on SQLite and
PostgreSQL: a stolen token's key without proof of the key in force stays pending (its seals
verify as pending approval, never valid; its offline bookings are admitted held; check-in
sends the citizen to an attendant) until a technician decides on the fleet page; a
replacement proven with the key in force is in force at once; a replayed proof is refused."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from central_server.config import LimitSettings
from central_server.models import Application, Kiosk, KioskSigningKey
from central_server.reconcile import SEAL_PENDING_HOLD
from central_server.review_models import ApplicationEvent
from central_server.throttle import RateBucket
from kiosk_app.services import receipt_seal
from tests.central.conftest import ADMIN_TOKEN
from tests.central.fleet.helpers import Technician, heartbeat_body
from tests.central.lease_rig import SERVICE, LeaseKiosk, LeaseServer, lease_server, seed_office

KEY_PATH = "/api/v1/kiosk/signing-key"


@pytest.fixture
def rig(database_url: str) -> Iterator[LeaseServer]:
    with lease_server(database_url) as running:
        yield running


def status_of(rig: LeaseServer, sealed: str) -> str:
    r = requests.get(
        f"{rig.base_url}/r/{sealed}", headers={"Accept": "application/json"}, timeout=10
    )
    status: str = r.json()["status"]
    return status


def states(rig: LeaseServer, kiosk: LeaseKiosk) -> list[tuple[str, str]]:
    """(first 8 characters of the key, state) of every key the kiosk submitted, oldest first."""
    with rig.app.state.db.transaction() as session:
        rows = session.execute(
            select(KioskSigningKey.public_key, KioskSigningKey.state)
            .where(KioskSigningKey.kiosk_id == kiosk.kiosk_id)
            .order_by(KioskSigningKey.valid_from, KioskSigningKey.id)
        )
        return [(key[:8], state) for key, state in rows]


def current_key(rig: LeaseServer, kiosk: LeaseKiosk) -> str | None:
    with rig.app.state.db.transaction() as session:
        return session.scalar(select(Kiosk.signing_key).where(Kiosk.kiosk_id == kiosk.kiosk_id))


def text(key: Ed25519PrivateKey) -> str:
    return receipt_seal.public_key_text(key)


def proven(kiosk: LeaseKiosk, old: Ed25519PrivateKey, new: Ed25519PrivateKey) -> dict[str, Any]:
    """The body of a replacement signed with `old` over a fresh challenge."""
    r = kiosk.call("POST", f"{KEY_PATH}/challenge")
    assert r.status_code == 200, r.text
    nonce = r.json()["nonce"]
    signature = receipt_seal.sign_key_change(old, kiosk.kiosk_id, text(new), nonce)
    return {"signing_key": text(new), "proof": {"nonce": nonce, "signature": signature}}


def test_a_stolen_tokens_key_stays_pending_its_seals_never_valid_until_rejected(
    rig: LeaseServer, caplog: pytest.LogCaptureFixture
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    [lease, *_] = kiosk.leases(days=4)
    genuine_key = kiosk.key
    assert genuine_key is not None
    thief_key = receipt_seal.new_key()
    r = kiosk.call("PUT", KEY_PATH, json={"signing_key": text(thief_key)})
    assert r.status_code == 202 and r.json()["state"] == "pending", r.text
    assert current_key(rig, kiosk) == text(genuine_key)  # not in force
    thief = replace(kiosk, key=thief_key)
    forged = thief.offline_booking(lease, rig.clock())
    forged_seal = forged["lease"]["seal"]
    assert status_of(rig, forged_seal) == "pending_approval"
    page = requests.get(f"{rig.base_url}/r/{forged_seal}", timeout=10).text
    assert 'data-status="pending_approval"' in page
    assert "MENUNGGU PERSETUJUAN" in page and "tidak dinyatakan palsu" in page
    # the kiosk's own seals, issued after the thief's key, are still valid
    genuine = kiosk.offline_booking(lease, rig.clock())
    assert status_of(rig, genuine["lease"]["seal"]) == "valid"
    # the booking a citizen holds a pending receipt for is admitted, held for an officer
    admitted = kiosk.submit(forged)
    assert admitted.status_code == 201, admitted.text
    number = admitted.json()["registration_number"]
    with rig.app.state.db.transaction() as session:
        app = session.scalars(
            select(Application).where(Application.registration_number == number)
        ).one()
        assert app.seal_status == "pending_approval"
        assert app.hold_reason is not None and "menunggu persetujuan teknisi" in app.hold_reason
    # check-in with that ticket: an attendant, neither "valid" nor "forged"
    r = kiosk.call("POST", "/api/v1/checkin", json={"seal": receipt_seal.qr_text(forged_seal)})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "seal_pending", r.text
    # the technician rejects it: its seals are forged from now on, the page says so
    technician = Technician(rig.base_url, ADMIN_TOKEN)
    assert "Kunci segel baru menunggu persetujuan" in technician.page(kiosk.kiosk_id)
    with caplog.at_level(logging.WARNING, logger="central_server.audit"):
        decided = technician.decide(kiosk.kiosk_id, "reject")
    assert decided.status_code == 200 and 'id="key-decision"' in decided.text
    audit = [m.getMessage() for m in caplog.records if m.name == "central_server.audit"]
    assert any(m.startswith("technician technician rejected receipt signing key") for m in audit), (
        audit
    )
    assert 'id="key-rejected-' in decided.text and "ditolak oleh technician" in decided.text
    assert status_of(rig, forged_seal) == "bad_signature"
    # the booking admitted with it stays held for an officer, its history saying why
    held, history = application(rig, number)
    assert held.hold_reason is not None and "menunggu persetujuan teknisi" in held.hold_reason
    assert history[-1].action == "hold" and history[-1].actor == "technician"
    assert "kunci segel anjungan ditolak teknisi" in history[-1].note
    assert states(rig, kiosk) == [
        (text(genuine_key)[:8], "in_force"),
        (text(thief_key)[:8], "rejected"),
    ]
    again = kiosk.call("PUT", KEY_PATH, json={"signing_key": text(thief_key)})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "key_rejected"
    # a second decision on the same key is refused in words
    page = technician.page(kiosk.kiosk_id)
    assert 'id="key-pending-' not in page


def application(rig: LeaseServer, number: str) -> tuple[Application, list[ApplicationEvent]]:
    """The application of registration `number` and its history, oldest first."""
    with rig.app.state.db.transaction() as session:
        app = session.scalars(
            select(Application).where(Application.registration_number == number)
        ).one()
        events = session.scalars(
            select(ApplicationEvent)
            .where(ApplicationEvent.application_id == app.id)
            .order_by(ApplicationEvent.id)
        ).all()
        session.expunge_all()
        return app, list(events)


IMPOSSIBLE_NIK = "3517087208850001"  # born on the 32nd (a woman's day + 40)


def test_approving_a_pending_key_admits_the_bookings_held_only_for_it(rig: LeaseServer) -> None:
    """Bookings held because their seal's key was pending are admitted when the technician
    approves that key (their history says why); a hold for the content stays, and a booking
    held for its content alone is left as it was. The kiosk is told with its next heartbeat
    (a check_seal_key command)."""
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    [lease, *_] = kiosk.leases(days=4)
    new_key = receipt_seal.new_key()  # the kiosk lost its key file and made a new one
    r = kiosk.call("PUT", KEY_PATH, json={"signing_key": text(new_key)})
    assert r.status_code == 202, r.text
    renewed = replace(kiosk, key=new_key)
    numbers = []
    for booker, nik in ((renewed, None), (renewed, IMPOSSIBLE_NIK), (kiosk, IMPOSSIBLE_NIK)):
        body = booker.offline_booking(lease, rig.clock(), **({"nik": nik} if nik else {}))
        admitted = booker.submit(body)
        assert admitted.status_code == 201, admitted.text
        numbers.append(admitted.json()["registration_number"])
    only_key, key_and_content, content_only = numbers
    assert application(rig, only_key)[0].hold_reason == SEAL_PENDING_HOLD
    content_hold = application(rig, content_only)[0].hold_reason
    assert content_hold is not None and "NIK tidak sah" in content_hold
    before = len(application(rig, content_only)[1])

    assert Technician(rig.base_url, ADMIN_TOKEN).decide(kiosk.kiosk_id, "approve").ok

    app, history = application(rig, only_key)
    assert app.hold_reason is None and app.seal_status == "valid"
    assert history[-1].action == "release" and history[-1].actor == "technician"
    assert "kunci segel anjungan disetujui teknisi" in history[-1].note
    app, history = application(rig, key_and_content)
    assert app.hold_reason == content_hold  # held still, for its content alone
    assert history[-1].action == "hold" and "masih ditahan" in history[-1].note
    app, history = application(rig, content_only)
    assert app.hold_reason == content_hold and len(history) == before  # untouched
    beat = kiosk.call("POST", "/api/v1/fleet/heartbeat", json=heartbeat_body())
    assert [c["kind"] for c in beat.json()["commands"]] == ["check_seal_key"]


def test_a_proven_replacement_is_in_force_at_once_and_a_replayed_proof_is_refused(
    rig: LeaseServer,
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    [lease, *_] = kiosk.leases(days=4)
    first = kiosk.key
    assert first is not None
    second = receipt_seal.new_key()
    to_second = proven(kiosk, first, second)
    r = kiosk.call("PUT", KEY_PATH, json=to_second)
    assert r.status_code == 204, r.text
    assert current_key(rig, kiosk) == text(second)
    sealed = replace(kiosk, key=second).offline_booking(lease, rig.clock())
    assert status_of(rig, sealed["lease"]["seal"]) == "valid"
    # back to the first key, proven with the second
    r = kiosk.call("PUT", KEY_PATH, json=proven(kiosk, second, first))
    assert r.status_code == 204, r.text
    # the captured first proof, replayed: its signer (the first key) is in force again, but
    # its nonce was used
    replayed = kiosk.call("PUT", KEY_PATH, json=to_second)
    assert replayed.status_code == 409, replayed.text
    assert replayed.json()["detail"]["code"] == "proof_invalid"
    assert current_key(rig, kiosk) == text(first)
    # a proof signed with another key than the one in force, on a fresh nonce
    thief = receipt_seal.new_key()
    r = kiosk.call("PUT", KEY_PATH, json=proven(kiosk, thief, thief))
    assert r.status_code == 409 and r.json()["detail"]["code"] == "proof_invalid"
    # a nonce the server never gave
    body = proven(kiosk, first, thief)
    body["proof"]["nonce"] = "A" * 32
    r = kiosk.call("PUT", KEY_PATH, json=body)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "proof_invalid"
    assert states(rig, kiosk) == [
        (text(first)[:8], "in_force"),
        (text(second)[:8], "in_force"),
        (text(first)[:8], "in_force"),
    ]


def call_from(
    rig: LeaseServer,
    kiosk: LeaseKiosk,
    source: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
) -> tuple[int, Any, str]:
    """Call `path` from the loopback address `source`: (status, JSON or None, Retry-After)."""
    host, port = rig.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    headers = kiosk.headers | ({"Content-Type": "application/json"} if body is not None else {})
    try:
        payload = json.dumps(body) if body is not None else None
        connection.request(method, path, body=payload, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        return (
            answer.status,
            json.loads(data) if data else None,
            answer.getheader("Retry-After") or "",
        )
    finally:
        connection.close()


def challenge_from(rig: LeaseServer, kiosk: LeaseKiosk, source: str) -> tuple[int, Any, str]:
    """POST the challenge from the loopback address `source`: (status, JSON, Retry-After)."""
    return call_from(rig, kiosk, source, "POST", f"{KEY_PATH}/challenge")


def test_a_stolen_token_asking_for_challenges_neither_blocks_nor_starves_the_kiosks_rotation(
    rig: LeaseServer,
) -> None:
    """The nonce outstanding is given again (asking gains a thief nothing), a refused proof
    leaves it for the kiosk, and the challenges are rate-limited per kiosk and client address
    in the database (429 with Retry-After), so a thief asking from elsewhere cannot use up the
    kiosk's own allowance."""
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    first, second, thief = kiosk.key, receipt_seal.new_key(), receipt_seal.new_key()
    assert first is not None
    status, asked, _ = challenge_from(rig, kiosk, "127.0.0.1")  # the kiosk, rotating
    assert status == 200, asked
    burst = LimitSettings().key_challenge_burst
    for _ in range(burst):  # the thief, holding the same token, from another address
        status, again, _ = challenge_from(rig, kiosk, "127.0.0.2")
        assert status == 200 and again == asked  # the same nonce, the same expiry
    status, refused, retry_after = challenge_from(rig, kiosk, "127.0.0.2")
    assert status == 429 and refused["detail"]["code"] == "rate_limited", refused
    assert int(retry_after) >= 1
    # the thief uses the nonce it was given with a key of its own: refused, the nonce kept
    forged = receipt_seal.sign_key_change(thief, kiosk.kiosk_id, text(thief), asked["nonce"])
    body = {"signing_key": text(thief), "proof": {"nonce": asked["nonce"], "signature": forged}}
    r = kiosk.call("PUT", KEY_PATH, json=body)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "proof_invalid", r.text
    # the kiosk's own address still has its allowance, and its proof takes the key at once
    assert challenge_from(rig, kiosk, "127.0.0.1")[:2] == (200, asked)
    signature = receipt_seal.sign_key_change(first, kiosk.kiosk_id, text(second), asked["nonce"])
    body = {"signing_key": text(second), "proof": {"nonce": asked["nonce"], "signature": signature}}
    r = kiosk.call("PUT", KEY_PATH, json=body)
    assert r.status_code == 204, r.text
    assert current_key(rig, kiosk) == text(second)
    # used: the next challenge is a new nonce
    status, fresh, _ = challenge_from(rig, kiosk, "127.0.0.1")
    assert status == 200 and fresh["nonce"] != asked["nonce"]


def test_key_submissions_are_rate_limited_per_kiosk_and_address(rig: LeaseServer) -> None:
    """PUT of the signing key is rate-limited in the database like the challenge: a stolen
    token hammering it from elsewhere gets 429 with Retry-After (the documented error body),
    and the kiosk's own address keeps its allowance."""
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    assert kiosk.key is not None
    own = {"signing_key": text(kiosk.key)}  # the key in force again: 204, changes nothing
    burst = LimitSettings().key_submission_burst
    for _ in range(burst):  # a thief holding the token, from another address
        status, _, _ = call_from(rig, kiosk, "127.0.0.2", "PUT", KEY_PATH, own)
        assert status == 204
    status, refused, retry_after = call_from(rig, kiosk, "127.0.0.2", "PUT", KEY_PATH, own)
    assert status == 429 and refused["detail"]["code"] == "rate_limited", refused
    assert int(retry_after) >= 1
    assert call_from(rig, kiosk, "127.0.0.1", "PUT", KEY_PATH, own)[0] == 204
    with rig.app.state.db.transaction() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(RateBucket)
                .where(RateBucket.key.like("key-submission:%"))
            )
            == 2
        )  # one bucket per kiosk and address, in the shared database
