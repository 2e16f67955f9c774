"""Helpers for the outbox tests: a real central server with room for thousands of bookings."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import requests

from central_server.embedded import EmbeddedServer, start_embedded
from central_server.numbering import MAX_DAILY_SEQUENCE, MAX_SLOT_SEQUENCE
from central_server.quota import MAX_DAILY_QUOTA, MAX_DAYS_AHEAD
from central_server.sidecar import SidecarServer
from kiosk_app.central import CentralClient
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.nik import make_nik
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.outbox.records import Submission

ADMIN = "admin-token-for-outbox-tests"
KIOSK_ID = "KIOSK-3517-OB"
SERVICE = "akta_kelahiran"
ALL_SERVICES: tuple[str, ...] = tuple(SERVICES)  # each with its own daily quota
CANARY_NAME = "ZZKANARIWATI PRIVASIYANTO"


def canary_nik(serial: int = 4242) -> str:
    """A valid fictional NIK used to look for leaks."""
    from datetime import date

    return make_nik("35", "17", "08", date(1987, 6, 5), "P", serial)


def start_server(db: Path) -> EmbeddedServer:
    """A central server on loopback with an admin token and every service at the maximum quota."""
    server = start_embedded(f"sqlite:///{db}", admin_token=ADMIN, open_enrolment=True)
    for service in ALL_SERVICES:
        answer = requests.put(
            f"{server.base_url}/api/v1/offices/3517/quotas/{service}",
            json={"daily_quota": MAX_DAILY_QUOTA},
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=10,
        )
        answer.raise_for_status()
    return server


def start_sidecar(db: Path) -> SidecarServer:
    """A central server in a child process (no GIL shared with the kiosk), maximum quotas."""
    server = SidecarServer(f"sqlite:///{db}")
    server.wait_healthy(120)
    with sqlite3.connect(db, timeout=10) as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO quotas (office_code, service, daily_quota)"
            " VALUES ('3517', ?, ?)",
            [(service, MAX_DAILY_QUOTA) for service in ALL_SERVICES],
        )
    return server


def client(base_url: str, token: str | None = None, timeout: float = 5.0) -> CentralClient:
    """A kiosk client; enrols unless a token is given."""
    central = CentralClient(base_url, KIOSK_ID, "3517", token=token, timeout=timeout)
    if token is None:
        central.register("outbox test kiosk")
    return central


def slot_plan(central: CentralClient, count: int) -> Iterator[Slot]:
    """`count` bookable slots, spread over the next two weeks within the quotas."""
    given = 0
    for available in central.slots(SERVICE, days=14):
        for _ in range(available.remaining):
            if given == count:
                return
            given += 1
            yield available.slot
    raise AssertionError(f"only {given} places bookable, {count} needed")


def places(central: CentralClient, days: int = MAX_DAYS_AHEAD) -> list[tuple[str, Slot]]:
    """Every bookable place of every service, services taking turns, one (service, slot) each.

    Capped where the server's numbering runs out first: registration numbers count per office
    and submission day across services (MAX_DAILY_SEQUENCE), queue numbers per office and slot.
    """
    per_service = [
        [a.slot for a in central.slots(service, days=days) for _ in range(a.remaining)]
        for service in ALL_SERVICES
    ]
    taken: dict[Slot, int] = {}
    result: list[tuple[str, Slot]] = []
    for turn in range(max(map(len, per_service), default=0)):
        for service, slots in zip(ALL_SERVICES, per_service, strict=True):
            if turn < len(slots) and taken.get(slots[turn], 0) < MAX_SLOT_SEQUENCE:
                taken[slots[turn]] = taken.get(slots[turn], 0) + 1
                result.append((service, slots[turn]))
    return result[:MAX_DAILY_SEQUENCE]


def form_values() -> dict[str, list[dict[str, str]]]:
    """Valid form values (with the contact page) for each service, every variant of its form."""
    from tests.domain.service_values import CASES, with_contact

    values: dict[str, list[dict[str, str]]] = {"akta_kelahiran": [sample_birth_values()]}
    for service, _, case in CASES:
        values.setdefault(service, []).append(with_contact(service, case))
    missing = set(ALL_SERVICES) - set(values)
    assert not missing, f"no valid values for {sorted(missing)}"
    for service, variants in values.items():
        form = SERVICES[service].form
        assert form is not None, service
        for case in variants:
            errors = dict(form.validate(case).errors)
            assert not errors, f"{service}: invalid rig values for {sorted(errors)}"
    return values


def submission(
    slot: Slot,
    n: int = 0,
    nik: str | None = None,
    name: str = CANARY_NAME,
    submitted_at: str = "2026-01-05T09:00:00+07:00",
) -> Submission:
    """A birth pre-application with the canary applicant."""
    return Submission(
        service=SERVICE,
        applicant_nik=nik or canary_nik(),
        applicant_name=name,
        data={"child_name": f"ANAK UJI {n}", "mother_name": "IBU UJI"},
        slot=slot,
        submitted_at=submitted_at,
    )


def server_rows(db: Path) -> list[tuple[str, str, str]]:
    """(idempotency_key, local_reference, registration_number) of every application."""
    with sqlite3.connect(db, timeout=10) as conn:
        return list(
            conn.execute(
                "SELECT idempotency_key, local_reference, registration_number FROM applications"
            )
        )


def server_with_application(db: Path) -> tuple[EmbeddedServer, str]:
    """A central server at `db` holding one application; (server, its registration number)."""
    server = start_server(db)
    central = client(server.base_url)
    slot = next(s.slot for s in central.slots(SERVICE) if s.remaining > 0)
    receipt = central.submit(
        service=SERVICE,
        applicant_nik=canary_nik(),
        applicant_name="UJI",
        data={"child_name": "ANAK UJI", "mother_name": "IBU UJI"},
        slot=slot,
        idempotency_key=uuid.uuid4().hex,
    )
    return server, receipt.registration_number
