"""Per-kiosk credentials: one-time enrolment codes, signed tokens, kiosk-only endpoints."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from itsdangerous import URLSafeSerializer

from central_server.embedded import EmbeddedServer, start_embedded
from central_server.kiosk_auth import TOKEN_SALT
from tests.central.conftest import ADMIN_TOKEN, OFFICE, TODAY
from tests.central.fleet.helpers import STAFF, beat, enrol, kiosks

SURABAYA = ("3578", "Dinas Kependudukan dan Pencatatan Sipil Kota Surabaya")


@pytest.fixture
def strict(database_url: str) -> Iterator[EmbeddedServer]:
    """A server as in production: enrolment only with a technician's code."""
    with start_embedded(
        database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN, offices=[SURABAYA]
    ) as running:
        yield running


def register(server: EmbeddedServer, kiosk_id: str, code: str | None) -> requests.Response:
    """POST /api/v1/kiosks with an optional enrolment code."""
    body = {"kiosk_id": kiosk_id, "office_code": OFFICE, "name": "Lobi"}
    if code is not None:
        body["enrolment_code"] = code
    return requests.post(f"{server.base_url}/api/v1/kiosks", json=body, timeout=10)


def new_code(server: EmbeddedServer, kiosk_id: str, office: str = OFFICE) -> str:
    """A one-time code from the technician API."""
    r = requests.post(
        f"{server.base_url}/api/v1/enrolment-codes",
        json={"office_code": office, "kiosk_id": kiosk_id},
        headers=STAFF,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def test_enrolment_needs_a_valid_one_time_code(strict: EmbeddedServer) -> None:
    r = register(strict, "kiosk-a", None)
    assert (r.status_code, r.json()["detail"]["code"]) == (401, "enrolment_code_required")
    assert register(strict, "kiosk-a", "not-a-real-code-123").status_code == 401
    code = new_code(strict, "kiosk-a")
    assert register(strict, "kiosk-b", code).status_code == 401  # code bound to kiosk-a
    assert register(strict, "kiosk-a", code).status_code == 201
    assert register(strict, "kiosk-a", code).status_code == 409  # active: revoke first
    requests.delete(f"{strict.base_url}/api/v1/kiosks/kiosk-a/token", headers=STAFF, timeout=10)
    assert register(strict, "kiosk-a", code).status_code == 401  # used once only
    r = requests.post(
        f"{strict.base_url}/api/v1/enrolment-codes",
        json={"office_code": OFFICE},
        headers=STAFF,
        timeout=10,
    )
    assert r.status_code == 422  # no code for any kiosk: each names the kiosk it enrols


def test_an_office_code_cannot_take_over_another_office_s_active_kiosk(
    strict: EmbeddedServer,
) -> None:
    """The penetration test's case: a code of office 3578 re-enrolled 3517's active kiosk."""
    real = enrol(strict, "kiosk-a")
    for office in ("3578", OFFICE):
        body = {
            "kiosk_id": "kiosk-a",
            "office_code": office,
            "name": "Palsu",
            "enrolment_code": new_code(strict, "kiosk-a", office),
        }
        r = requests.post(f"{strict.base_url}/api/v1/kiosks", json=body, timeout=10)
        assert (r.status_code, r.json()["detail"]["code"]) == (409, "kiosk_active")
    assert beat(strict, real).status_code == 200  # the real kiosk keeps working
    assert kiosks(strict)["kiosk-a"]["office_code"] == OFFICE  # and stays in its office


def test_codes_are_typed_as_read_out(strict: EmbeddedServer) -> None:
    code = new_code(strict, "kiosk-a")
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}", code), code
    typed = " ".join(code.replace("-", "").lower()).replace("0", "o").replace("1", "l")
    assert register(strict, "kiosk-a", typed).status_code == 201  # case, spaces, look-alikes


def test_codes_need_staff_credentials(strict: EmbeddedServer) -> None:
    url = f"{strict.base_url}/api/v1/enrolment-codes"
    assert requests.post(url, json={"office_code": OFFICE}, timeout=10).status_code == 401
    kiosk = enrol(strict, "kiosk-a")
    assert requests.post(url, json={"office_code": OFFICE}, headers=kiosk).status_code == 401
    r = requests.post(
        url, json={"office_code": "9999", "kiosk_id": "kiosk-x"}, headers=STAFF, timeout=10
    )
    assert r.status_code == 404


def test_kiosk_reaches_only_kiosk_endpoints(strict: EmbeddedServer) -> None:
    kiosk = enrol(strict, "kiosk-a")
    base = strict.base_url
    assert requests.get(f"{base}/api/v1/fleet/kiosks", headers=kiosk).status_code == 401
    assert requests.get(f"{base}/api/v1/fleet/kiosks/kiosk-a", headers=kiosk).status_code == 401
    command = {"kind": "reboot", "args": {}}
    r = requests.post(f"{base}/api/v1/fleet/kiosks/kiosk-a/commands", json=command, headers=kiosk)
    assert r.status_code == 401
    r = requests.put(
        f"{base}/api/v1/offices/{OFFICE}/quotas/akta_kelahiran",
        json={"daily_quota": 5},
        headers=kiosk,
    )
    assert r.status_code == 401
    page = requests.get(f"{base}/fleet/", headers=kiosk, allow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].endswith("/fleet/login")
    # ...and staff credentials are no kiosk credentials.
    assert beat(strict, STAFF).status_code == 401
    assert beat(strict, kiosk).status_code == 200


def test_forged_rotated_and_revoked_tokens_are_refused(strict: EmbeddedServer) -> None:
    kiosk = enrol(strict, "kiosk-a")
    forged = URLSafeSerializer("guessed-key", TOKEN_SALT).dumps({"k": "kiosk-a", "n": "x"})
    assert beat(strict, {"Authorization": f"Bearer {forged}"}).status_code == 401
    assert beat(strict, {}).status_code == 401
    url = f"{strict.base_url}/api/v1/kiosks/kiosk-a/token"
    assert requests.delete(url, headers=kiosk, timeout=10).status_code == 401
    assert requests.delete(url, headers=STAFF, timeout=10).status_code == 204
    assert beat(strict, kiosk).status_code == 401
    rotated = enrol(strict, "kiosk-a")  # revoked: a new code enrols it again
    assert beat(strict, kiosk).status_code == 401
    assert beat(strict, rotated).status_code == 200
    assert requests.delete(url, headers=STAFF, timeout=10).status_code == 204
    r = beat(strict, rotated)
    assert (r.status_code, r.json()["detail"]["code"]) == (401, "unauthorized")


def test_open_enrolment_keeps_the_old_client_working(server: EmbeddedServer) -> None:
    """The skeleton's kiosks enrol without a code on a development server."""
    first = register(server, "kiosk-dev", None)
    assert first.status_code == 201
    token = first.json()["token"]
    assert beat(server, {"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_token_revoked_through_one_app_server_is_refused_by_the_other_at_once(
    strict: EmbeddedServer, database_url: str
) -> None:
    """Two app servers on one database: no per-process cache keeps a revoked token alive."""
    with start_embedded(
        database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN, offices=[SURABAYA]
    ) as other:
        kiosk = enrol(strict, "kiosk-a")
        slots = "/api/v1/slots?service=akta_kelahiran"
        for server in (strict, other, strict, other):
            assert requests.get(server.base_url + slots, headers=kiosk, timeout=10).ok
        url = f"{other.base_url}/api/v1/kiosks/kiosk-a/token"
        assert requests.delete(url, headers=STAFF, timeout=10).status_code == 204
        for server in (strict, other):
            r = requests.get(server.base_url + slots, headers=kiosk, timeout=10)
            assert r.status_code == 401
            assert beat(server, kiosk).status_code == 401
