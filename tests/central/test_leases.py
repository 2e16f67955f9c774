"""Slot leases over HTTP on SQLite and PostgreSQL: granted from the kiosk's recent use within a
fair share, renewed, returned, reclaimed at expiry; leased places are out of /api/v1/slots and
of online bookings; offline bookings carrying a seal are admitted exactly once on their sealed
slot; forged, altered and unknown-kiosk seals; the duplicate-citizen flag; a content refusal
held for an officer and told to the citizen; the public verification page GET /r/{seal}."""

from __future__ import annotations

import random
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from central_server.auth import create_user
from central_server.leases import day_start
from central_server.models import Application, SlotLease
from kiosk_app.services import receipt_seal
from tests.central.conftest import ADMIN_TOKEN, OFFICE, wait_for
from tests.central.lease_rig import (
    AFTERNOON,
    DATA,
    MONDAY,
    MORNING,
    NIK,
    SERVICE,
    LeaseKiosk,
    LeaseServer,
    enrol_kiosk,
    lease_server,
    online_booking,
    over_quota,
    seed_office,
    set_quota,
)
from tests.central.officer.conftest import PASSWORD, Staff


@pytest.fixture
def rig(database_url: str) -> Iterator[LeaseServer]:
    with lease_server(database_url) as running:
        yield running


def slots(kiosk: LeaseKiosk, days: int = 4) -> dict[tuple[str, str], int]:
    r = kiosk.call("GET", "/api/v1/slots", params={"service": SERVICE, "days": days})
    assert r.status_code == 200, r.text
    return {(s["date"], s["window"]): s["remaining"] for s in r.json()}


def held_by(kiosk: LeaseKiosk) -> list[dict[str, Any]]:
    """The leases a kiosk still holds, without a grant (an empty return)."""
    r = kiosk.call("POST", "/api/v1/leases/return", json={"returns": []})
    assert r.status_code == 200, r.text
    leases: list[dict[str, Any]] = r.json()["leases"]
    return leases


def rows(rig: LeaseServer) -> list[Application]:
    with rig.app.state.db.transaction() as session:
        return list(session.scalars(select(Application).order_by(Application.id)))


def lease_rows(rig: LeaseServer) -> list[SlotLease]:
    with rig.app.state.db.transaction() as session:
        return list(session.scalars(select(SlotLease)))


def test_leases_are_granted_renewed_returned_and_reclaimed_at_expiry(rig: LeaseServer) -> None:
    k1, k2 = seed_office(rig.base_url, 2, {SERVICE: 8})  # 4 places a window
    before = slots(k1)
    assert before == {
        ("2026-11-20", MORNING): 4,  # Friday: the morning only
        ("2026-11-23", MORNING): 4,
        ("2026-11-23", AFTERNOON): 4,
    }
    leases = k1.leases(days=4)
    # no history: one place each (at least 1 where quota allows), for kia only (others 0)
    assert sorted((x["date"], x["window"], x["places"], x["used"]) for x in leases) == [
        ("2026-11-20", MORNING, 1, 0),
        ("2026-11-23", MORNING, 1, 0),
        ("2026-11-23", AFTERNOON, 1, 0),
    ]
    now = rig.clock()
    for lease in leases:
        until = datetime.fromisoformat(lease["book_until"])
        expires = datetime.fromisoformat(lease["expires_at"])
        assert now < until <= day_start(date.fromisoformat(lease["date"]))
        assert expires == until + timedelta(hours=6)
    assert slots(k1) == {slot: n - 1 for slot, n in before.items()}
    assert k1.leases(days=4) == leases  # idempotent: the same set, nothing more
    # renewed later: the times move on, places stay
    rig.clock.advance(hours=2)
    renewed = {x["lease_id"]: x for x in k1.leases(days=4)}
    for lease in leases:
        again = renewed[lease["lease_id"]]
        assert again["places"] == 1
        assert again["expires_at"] >= lease["expires_at"]
    monday = next(x for x in leases if (x["date"], x["window"]) == ("2026-11-23", MORNING))
    # give one back: it is free again for everyone; returning more than held returns what is
    held = k1.give_back([(monday["lease_id"], 5)])
    assert next(x for x in held if x["lease_id"] == monday["lease_id"])["places"] == 0
    assert slots(k1)[("2026-11-23", MORNING)] == 4
    k2.leases(days=4)
    assert slots(k1)[("2026-11-23", AFTERNOON)] == 2  # one each
    # both fall silent: past expiry their unused places stay in doubt (still taken), until
    # each reports after the booking time: then they are back in the pool
    rig.clock.advance(hours=40)
    assert slots(k2)[("2026-11-23", AFTERNOON)] == 2
    assert len(held_by(k1)) == 1  # Monday afternoon's (Friday's day has begun)
    k1.report({x["lease_id"]: 0 for x in leases})
    assert slots(k2)[("2026-11-23", AFTERNOON)] == 3
    k2.report({x["lease_id"]: 0 for x in held_by(k2)})
    assert slots(k2)[("2026-11-23", AFTERNOON)] == 4
    assert held_by(k1) == []
    k1.leases(days=4)  # a grant writes the reclaim down: returned = given back + expired
    returned: Counter[str] = Counter()
    for row in lease_rows(rig):
        returned[row.kiosk_id] += row.returned
    assert returned == {"kiosk-01": 3, "kiosk-02": 3}  # k1: 1 given back, 2 expired


def test_leases_follow_recent_use_within_a_fair_share(rig: LeaseServer, database_url: str) -> None:
    [busy, quiet, *_] = seed_office(rig.base_url, 3, {SERVICE: 40})  # 20 a window
    # the busy kiosk booked 30 times online recently
    for n in range(30):
        day, window = (MONDAY, MORNING) if n < 15 else (MONDAY, AFTERNOON)
        body = online_booking(day, window, nik=f"35170812088{n:05d}", data={})
        assert busy.submit(body).status_code == 201
    busy_leases = {(x["date"], x["window"]): x["places"] for x in busy.leases(days=7)}
    quiet_leases = {(x["date"], x["window"]): x["places"] for x in quiet.leases(days=7)}
    assert quiet_leases and set(quiet_leases.values()) == {1}
    # 30 bookings over the 20 windows of the last 14 days, doubled: 3 a slot (within the fair
    # share of 20 among 3 kiosks and the online path: 5)
    assert busy_leases[("2026-11-24", MORNING)] == 3
    # Monday has 5 places left in each window: a share of 1
    assert busy_leases[("2026-11-23", MORNING)] == 1
    assert over_quota(database_url, rig.clock()) == {}
    # the check sees a quota cut below what is booked and lent (15 + one place to each of two
    # kiosks on each Monday window; 31 a day is 16 in the morning, 15 in the afternoon)
    set_quota(rig.base_url, SERVICE, 31)
    assert over_quota(database_url, rig.clock()) == {
        (SERVICE, MONDAY, MORNING): 17,
        (SERVICE, MONDAY, AFTERNOON): 17,
    }


def test_an_offline_booking_is_admitted_once_on_its_sealed_slot(rig: LeaseServer) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    lease = next(x for x in kiosk.leases(days=4) if x["date"] == "2026-11-23")
    booking = kiosk.offline_booking(lease, rig.clock())
    set_quota(rig.base_url, SERVICE, 0)  # the quota cut meanwhile: the lent place stands
    key = uuid.uuid4().hex
    first = kiosk.submit(booking, key)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["slot"] == {"date": lease["date"], "window": lease["window"]}
    assert answer["moved_from"] is None
    again = kiosk.submit(booking, key)  # the outbox resends: the same answer
    assert again.status_code == 200 and again.json() == answer
    other_key = kiosk.submit(booking)  # the same seal under another key: the same application
    assert other_key.status_code == 200 and other_key.json() == answer
    [result] = kiosk.submit_batch([(uuid.uuid4().hex, booking)])
    assert result["status"] == 200
    assert result["application"]["registration_number"] == answer["registration_number"]
    [stored] = rows(rig)
    assert stored.seal == booking["lease"]["seal"] and stored.seal_status == "valid"
    assert stored.lease_id == lease["lease_id"] and stored.duplicate_of is None
    [held] = [x for x in kiosk.leases(days=4) if x["lease_id"] == lease["lease_id"]]
    assert (held["places"], held["used"]) == (lease["places"], 1)


def test_offline_bookings_in_a_batch_twice_and_one_by_one_are_admitted_once(
    rig: LeaseServer,
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 20})
    leases = kiosk.leases(days=4)
    items = [
        (uuid.uuid4().hex, kiosk.offline_booking(lease, rig.clock(), nik=f"35170812088{n:05d}"))
        for n, lease in enumerate(leases)
    ]
    first = kiosk.submit_batch(items)
    assert [r["status"] for r in first] == [201] * len(items)
    again = kiosk.submit_batch(items)
    assert [r["status"] for r in again] == [200] * len(items)
    for (key, body), result in zip(items, first, strict=True):
        single = kiosk.submit(body, key)
        assert single.json()["registration_number"] == result["application"]["registration_number"]
    assert len(rows(rig)) == len(items)
    assert {x["used"] for x in kiosk.leases(days=4)} == {1}


def test_forged_altered_and_foreign_seals_are_refused(rig: LeaseServer) -> None:
    kiosk, other = seed_office(rig.base_url, 2, {SERVICE: 8})
    lease = kiosk.leases(days=4)[0]
    booking = kiosk.offline_booking(lease, rig.clock())
    head, body, signature = booking["lease"]["seal"].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    altered = dict(
        booking, lease={"lease_id": lease["lease_id"], "seal": f"{head}.{body}.{flipped}"}
    )
    r = kiosk.submit(altered)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "seal_invalid"
    # signed by a key that is not the kiosk's (forged)
    forger = LeaseKiosk(kiosk.base_url, kiosk.kiosk_id, kiosk.token, receipt_seal.new_key())
    forged = forger.offline_booking(lease, rig.clock())
    r = kiosk.submit(forged)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "seal_invalid"
    # the seal says one slot, the body another
    moved = dict(booking, slot={"date": "2026-11-24", "window": MORNING})
    r = kiosk.submit(moved)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "seal_mismatch"
    # another kiosk's lease
    theirs = other.leases(days=4)[0]
    r = kiosk.submit(kiosk.offline_booking(dict(theirs), rig.clock()))
    assert r.status_code == 409 and r.json()["detail"]["code"] == "lease_mismatch"
    assert rows(rig) == []
    # the public page says altered or forged, and nothing personal
    page = requests.get(f"{rig.base_url}/r/{altered['lease']['seal']}", timeout=10)
    assert page.status_code == 200 and 'data-status="bad_signature"' in page.text
    assert "TIDAK SAH" in page.text


def test_unknown_kiosk_seals_are_admitted_and_verify_once_the_key_arrives(
    rig: LeaseServer,
) -> None:
    seed_office(rig.base_url, 0, {SERVICE: 8})
    kiosk = enrol_kiosk(rig.base_url, "kiosk-nokey", signing_key=False)
    lease = kiosk.leases(days=4)[0]
    booking = kiosk.offline_booking(lease, rig.clock())
    seal = booking["lease"]["seal"]
    page = requests.get(f"{rig.base_url}/r/{seal}", timeout=10)
    assert 'data-status="unknown_kiosk"' in page.text
    assert kiosk.submit(booking).status_code == 201
    assert rows(rig)[0].seal_status == "unknown_kiosk"
    assert kiosk.key is not None
    r = kiosk.call(
        "PUT",
        "/api/v1/kiosk/signing-key",
        json={"signing_key": receipt_seal.public_key_text(kiosk.key)},
    )
    assert r.status_code == 204
    page = requests.get(f"{rig.base_url}/r/{seal}", timeout=10)
    assert 'data-status="valid"' in page.text and 'data-arrived="yes"' in page.text


def test_the_public_page_tells_a_valid_seal_not_arrived_yet_without_personal_data(
    rig: LeaseServer,
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 8})
    lease = kiosk.leases(days=4)[0]
    booking = kiosk.offline_booking(lease, rig.clock())
    url = receipt_seal.qr_text(booking["lease"]["seal"], rig.base_url)
    page = requests.get(url, timeout=10)
    assert page.status_code == 200
    assert 'data-status="valid"' in page.text and 'data-arrived="no"' in page.text
    assert "tersambung kembali" in page.text and kiosk.kiosk_id in page.text
    assert "default-src" in page.headers["Content-Security-Policy"]
    assert "<script" not in page.text
    answer = kiosk.submit(booking).json()
    page = requests.get(url, timeout=10)
    assert 'data-arrived="yes"' in page.text and answer["registration_number"] in page.text
    as_json = requests.get(url, headers={"Accept": "application/json"}, timeout=10).json()
    assert as_json["status"] == "valid" and as_json["claims"]["kiosk_id"] == kiosk.kiosk_id
    assert as_json["application"]["registration_number"] == answer["registration_number"]
    for personal in (NIK, booking["applicant_name"], booking["data"]["contact_phone"]):
        assert personal not in page.text
    assert requests.get(f"{rig.base_url}/r/not-a-seal", timeout=10).status_code == 404
    # an online booking is sealed after the server answered: its reference is the number
    online = kiosk.submit(dict(booking, lease=None, slot={"date": "2026-11-24", "window": MORNING}))
    number = online.json()["registration_number"]
    sealed = kiosk.seal_for(
        {"service": SERVICE, "date": "2026-11-24", "window": MORNING}, number, rig.clock()
    )
    page = requests.get(f"{rig.base_url}/r/{sealed}", timeout=10)
    assert 'data-status="valid"' in page.text and 'data-arrived="yes"' in page.text
    assert number in page.text


def test_the_same_citizen_and_service_still_open_is_admitted_and_flagged(rig: LeaseServer) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 8})
    online = online_booking("2026-11-24", MORNING)
    first = kiosk.submit(online).json()["registration_number"]
    lease = kiosk.leases(days=4)[0]
    # came back and applied again, offline: admitted, flagged
    assert kiosk.submit(kiosk.offline_booking(lease, rig.clock())).status_code == 201
    # a KIA for another child of the same parent, and another service: not duplicates
    second_child = DATA | {"child_nik": "3517084403230002", "child_name": "RINA"}
    assert kiosk.submit(dict(online, data=second_child)).status_code == 201
    set_quota(rig.base_url, "akta_kematian", 4)
    assert kiosk.submit(dict(online, service="akta_kematian", data={})).status_code == 201
    stored = rows(rig)
    assert [a.duplicate_of for a in stored] == [None, first, None, None]


def test_refused_content_is_held_for_an_officer_and_the_citizen_told(rig: LeaseServer) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 8})
    lease = kiosk.leases(days=4)[0]
    booking = kiosk.offline_booking(lease, rig.clock(), nik="3517089999850001")  # day 99
    r = kiosk.submit(booking)
    assert r.status_code == 201, r.text
    [stored] = rows(rig)
    assert stored.hold_reason and "NIK" in stored.hold_reason
    assert (stored.slot_date.isoformat(), stored.slot_window) == (lease["date"], lease["window"])
    number = r.json()["registration_number"]
    wait_for(lambda: any(number in m.body for m in rig.sms.sent))
    [message] = [m for m in rig.sms.sent if number in m.body]
    assert "perlu diperiksa petugas" in message.body
    assert booking["local_reference"] in message.body  # the LOK number on the receipt


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_leased_plus_booked_never_exceeds_the_quota_under_concurrency(
    rig: LeaseServer, database_url: str
) -> None:
    """Six kiosks at once grant, book online, book offline from their leases and give places
    back; a reader checks the invariant in consistent snapshots all along and at the end."""
    kiosks = seed_office(rig.base_url, 6, {SERVICE: 10})  # 5 a window, 3 slots
    capacity = 5
    stop = threading.Event()
    seen: list[dict[tuple[str, date, str], int]] = []
    booked_online: Counter[str] = Counter()
    booked_offline: Counter[str] = Counter()

    def check() -> None:
        while not stop.is_set():
            seen.append(over_quota(database_url, rig.clock()))

    def work(kiosk: LeaseKiosk, seed: int) -> None:
        rng = random.Random(seed)
        for round_ in range(6):
            leases = [x for x in kiosk.leases(days=4) if x["places"] > x["used"]]
            for _ in range(2):
                day, window = rng.choice(
                    [("2026-11-20", MORNING), ("2026-11-23", MORNING), ("2026-11-23", AFTERNOON)]
                )
                nik = f"3517081208{seed:02d}{round_:02d}{_:02d}"
                r = kiosk.submit(online_booking(day, window, nik=nik, data={}))
                assert r.status_code in (201, 409), r.text
                booked_online[kiosk.kiosk_id] += r.status_code == 201
            if leases and rng.random() < 0.6:
                lease = rng.choice(leases)
                r = kiosk.submit(kiosk.offline_booking(lease, rig.clock(), nik=NIK))
                assert r.status_code == 201, r.text
                booked_offline[kiosk.kiosk_id] += 1
            elif leases:
                kiosk.give_back([(leases[0]["lease_id"], 1)])

    checker = threading.Thread(target=check)
    checker.start()
    with ThreadPoolExecutor(len(kiosks)) as pool:
        for future in [pool.submit(work, k, n) for n, k in enumerate(kiosks)]:
            future.result()
    stop.set()
    checker.join()
    assert len(seen) >= 2 and all(found == {} for found in seen)
    assert over_quota(database_url, rig.clock()) == {}
    stored = rows(rig)
    assert len(stored) == sum(booked_online.values()) + sum(booked_offline.values())
    assert sum(a.lease_id is not None for a in stored) == sum(booked_offline.values())
    assert sum(booked_offline.values()) > 0
    # every slot was used to the full between online bookings and leases
    per_slot = Counter((a.slot_date, a.slot_window) for a in stored)
    assert all(n <= capacity for n in per_slot.values())
    used = {x.id: x.used for x in lease_rows(rig)}
    assert sum(used.values()) == sum(booked_offline.values())


def test_officer_pages_check_seals_and_show_the_flags(rig: LeaseServer) -> None:
    create_user(rig.app.state.db, "petugas", PASSWORD, "officer", office_code=OFFICE)
    officer = Staff(rig.base_url, "petugas")
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 8})
    lease = kiosk.leases(days=4)[0]
    booking = kiosk.offline_booking(lease, rig.clock(), nik="3517089999850001")
    qr = receipt_seal.qr_text(booking["lease"]["seal"], "https://anjungan.example")
    # scanned before the application arrived: genuine, on its way
    page = officer.get("/officer/seal", params={"seal": qr})
    assert page.status_code == 200
    assert 'data-status="valid"' in page.text and 'data-arrived="no"' in page.text
    number = kiosk.submit(booking).json()["registration_number"]
    kiosk.submit(dict(booking, lease=None, slot={"date": "2026-11-24", "window": MORNING}))
    page = officer.get("/officer/seal", params={"seal": qr})
    assert 'data-arrived="yes"' in page.text and f"/officer/applications/{number}" in page.text
    head, body, signature = booking["lease"]["seal"].split(".")
    altered = f"{head}.{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert (
        'data-status="bad_signature"' in officer.get("/officer/seal", params={"seal": altered}).text
    )
    detail = officer.get(f"/officer/applications/{number}").text
    assert 'id="seal-verdict" data-status="valid"' in detail and 'id="hold-reason"' in detail
    assert "flag-held" in officer.get("/officer/applications").text
    # held: not approved until an officer has checked the content and released it
    slot = f"{lease['date']}|{lease['window']}"
    refused = officer.act(number, "approve", slot=slot)
    assert refused.status_code == 409 and "ditahan" in refused.text
    assert officer.act(number, "release").status_code == 303
    assert officer.act(number, "approve", slot=slot).status_code == 303
    assert 'id="hold-reason"' not in officer.get(f"/officer/applications/{number}").text
    listing = officer.get("/officer/applications").text
    assert "flag-duplicate" in listing and "flag-offline" in listing
    [second] = [a for a in rows(rig) if a.registration_number != number]
    assert second.duplicate_of == number
    assert (
        f"/officer/applications/{number}"
        in officer.get(f"/officer/applications/{second.registration_number}").text
    )


def test_the_fleet_dashboard_shows_each_kiosks_leases(rig: LeaseServer) -> None:
    k1, k2 = seed_office(rig.base_url, 2, {SERVICE: 8})
    lease = k1.leases(days=4)[0]
    assert k1.submit(k1.offline_booking(lease, rig.clock())).status_code == 201
    technician = requests.Session()
    r = technician.post(f"{rig.base_url}/fleet/login", data={"token": ADMIN_TOKEN}, timeout=10)
    assert r.status_code == 200, r.text
    fleet = technician.get(f"{rig.base_url}/fleet/", timeout=10).text
    assert re.search(r'class="leases"[^>]*>1 / 3</td>', fleet), fleet
    assert re.search(r'class="leases"[^>]*></td>', fleet)  # k2 holds nothing
    page = technician.get(f"{rig.base_url}/fleet/kiosks/{k1.kiosk_id}", timeout=10).text
    assert 'id="lease-places">3<' in page and 'id="lease-used">1<' in page
    assert page.count("<tr><td>kia</td>") == 3


def test_a_booking_sent_after_its_lease_expired_is_still_honoured(
    rig: LeaseServer, database_url: str
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 2})  # one place a window
    lease = next(x for x in kiosk.leases(days=4) if x["date"] == "2026-11-23")
    booking = kiosk.offline_booking(lease, rig.clock())  # booked in time...
    rig.clock.advance(hours=31)  # ...sent after expiry: the kiosk never said, so in doubt
    other = enrol_kiosk(rig.base_url, "kiosk-02")
    taken = [x for x in other.leases(days=4) if x["date"] == "2026-11-23"]
    assert taken == []  # both Monday windows are the silent kiosk's, in doubt
    r = kiosk.submit(booking)
    assert r.status_code == 201 and r.json()["slot"]["window"] == lease["window"]
    [row] = [x for x in lease_rows(rig) if x.id == lease["lease_id"]]
    assert (row.places, row.used) == (1, 1)  # its place was still there
    assert not rows(rig)[0].over_quota
    # the kiosk reports its final use: the place it did not use goes to the other kiosk
    kiosk.report({x.id: x.used for x in lease_rows(rig) if x.kiosk_id == kiosk.kiosk_id})
    taken = [x for x in other.leases(days=4) if x["date"] == "2026-11-23"]
    others = {MORNING, AFTERNOON} - {lease["window"]}
    assert [(x["window"], x["places"]) for x in taken] == [(w, 1) for w in others]
    assert over_quota(database_url, rig.clock()) == {}


def test_the_same_seal_twice_in_one_batch_is_one_application(rig: LeaseServer) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 8})
    lease = kiosk.leases(days=4)[0]
    booking = kiosk.offline_booking(lease, rig.clock())
    results = kiosk.submit_batch([(uuid.uuid4().hex, booking), (uuid.uuid4().hex, booking)])
    assert [r["status"] for r in results] == [201, 200]
    numbers = {r["application"]["registration_number"] for r in results}
    assert len(numbers) == 1 and len(rows(rig)) == 1


def test_an_officer_cannot_move_an_application_onto_places_lent_to_kiosks(
    rig: LeaseServer,
) -> None:
    create_user(rig.app.state.db, "petugas", PASSWORD, "officer", office_code=OFFICE)
    officer = Staff(rig.base_url, "petugas")
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 2})  # one place a window
    number = kiosk.submit(online_booking("2026-11-24", MORNING)).json()["registration_number"]
    kiosk.leases(days=4)  # Monday's places are lent to the kiosk now
    r = officer.act(number, "approve", slot="2026-11-23|" + MORNING)
    with rig.app.state.db.transaction() as session:
        app = session.scalar(select(Application).where(Application.registration_number == number))
        assert app is not None
        assert (app.status, app.slot_date) == ("submitted", date(2026, 11, 24))
    assert r.status_code in (303, 409)
