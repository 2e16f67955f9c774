"""The dashboard's enrolment-code page: a technician creates a code, a kiosk enrols with it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, timedelta, timezone

import pytest
import requests
from argon2 import PasswordHasher
from sqlalchemy import select

from central_server.app import create_app
from central_server.auth import create_user, use_hasher
from central_server.embedded import EmbeddedServer
from central_server.kiosk_auth import EnrolmentCode, hash_secret
from tests.central.conftest import ADMIN_TOKEN, OFFICE, TODAY
from tests.central.fleet.helpers import beat
from tests.central.officer.conftest import PASSWORD, Staff

PAGE = "/fleet/enrolment-codes"
DENPASAR = "5171"  # Bali: WITA, UTC+8
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
CODE_RE = re.compile(r'id="enrolment-code">([0-9A-Z-]{19})<')


@pytest.fixture
def strict(database_url: str) -> Iterator[tuple[EmbeddedServer, object]]:
    """A production-like server (codes required) with a technician and an officer account."""
    previous = use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    app = create_app(
        database_url,
        today=lambda: TODAY,
        admin_token=ADMIN_TOKEN,
        offices=[(DENPASAR, "Disdukcapil Kota Denpasar")],
        secret_key="test-session-key-0123456789abcdef",
    )
    create_user(app.state.db, "teknisi", PASSWORD, "technician")
    create_user(app.state.db, "petugas", PASSWORD, "officer", office_code=OFFICE)
    try:
        with EmbeddedServer(app, "127.0.0.1", 0).start() as running:
            yield running, app.state.db
    finally:
        use_hasher(previous)


def create(staff: Staff, **form: str) -> requests.Response:
    """Submit the page's form with its CSRF token."""
    match = CSRF_RE.search(staff.get(PAGE).text)
    assert match, "no CSRF token on the page"
    return staff.http.post(
        f"{staff.base_url}{PAGE}", data={"csrf": match.group(1)} | form, timeout=10
    )


def test_technician_creates_a_code_and_a_kiosk_enrols_with_it(strict: tuple) -> None:
    server, db = strict
    tech = Staff(server.base_url, "teknisi")
    assert 'href="/fleet/enrolment-codes"' in tech.get("/fleet/").text  # in the navigation
    made = create(tech, office_code=OFFICE, kiosk_id="kiosk-new")  # validity: the default
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    code = CODE_RE.search(made.text).group(1)  # type: ignore[union-attr]
    assert (
        f"--kiosk-id kiosk-new --office-code {OFFICE} --central-url {server.base_url}"
        f' --enrolment-code <span class="nowrap">{code}</span></pre>'
    ) in made.text
    with db.transaction() as session:
        row = session.scalars(select(EnrolmentCode)).one()
        assert row.code_hash == hash_secret(code)  # stored by KioskAuth.create_code
        assert row.expires_at - row.created_at == timedelta(hours=24)  # as the API's default

    listed = tech.get(PAGE).text
    assert 'class="waiting-code" data-office="3517" data-kiosk="kiosk-new"' in listed
    for secret in (code, code.replace("-", ""), hash_secret(code)):
        assert secret not in listed  # never the code, nor its hash
    kiosk = requests.post(
        f"{server.base_url}/api/v1/kiosks",
        json={
            "kiosk_id": "kiosk-new",
            "office_code": OFFICE,
            "name": "Lobi",
            "enrolment_code": code,
        },
        timeout=10,
    )
    assert kiosk.status_code == 201, kiosk.text
    assert beat(server, {"Authorization": f"Bearer {kiosk.json()['token']}"}).status_code == 200
    listed = tech.get(PAGE).text
    assert 'class="waiting-code"' not in listed
    assert 'class="used-code" data-office="3517" data-used-by="kiosk-new"' in listed
    assert code not in listed


def test_expiry_in_office_time_and_form_errors(strict: tuple) -> None:
    server, db = strict
    tech = Staff(server.base_url, "teknisi")
    made = create(tech, office_code=DENPASAR, kiosk_id="kiosk-bali", valid_hours="2")
    assert made.status_code == 201 and "--kiosk-id kiosk-bali" in made.text
    with db.transaction() as session:
        row = session.scalars(select(EnrolmentCode)).one()
    expires = row.expires_at.replace(tzinfo=row.expires_at.tzinfo or UTC)
    shown = f"{expires.astimezone(timezone(timedelta(hours=8))):%Y-%m-%d %H:%M} WITA"
    assert f'id="code-expires">{shown}<' in made.text
    assert row.expires_at - row.created_at == timedelta(hours=2)
    for form, status in (
        ({"office_code": OFFICE, "kiosk_id": "bad id!"}, 422),
        ({"office_code": OFFICE}, 422),  # every code names its kiosk
        ({"office_code": "9999", "kiosk_id": "kiosk-x"}, 404),
        ({"office_code": OFFICE, "kiosk_id": "k", "valid_hours": "9999"}, 422),
    ):
        refused = create(tech, **form)
        assert refused.status_code == status and 'id="enrolment-error"' in refused.text
        assert CODE_RE.search(refused.text) is None
    forged = tech.http.post(
        f"{server.base_url}{PAGE}", data={"csrf": "forged", "office_code": OFFICE}, timeout=10
    )
    assert forged.status_code == 403 and CODE_RE.search(forged.text) is None
    with db.transaction() as session:
        assert len(session.scalars(select(EnrolmentCode)).all()) == 1  # none of those stored


def test_officer_and_strangers_are_refused(strict: tuple) -> None:
    server, db = strict
    officer = Staff(server.base_url, "petugas")
    assert officer.login_response.status_code == 303  # a valid login, but not a technician
    assert officer.get(PAGE).status_code == 403
    posted = officer.http.post(
        f"{server.base_url}{PAGE}", data={"csrf": "x", "office_code": OFFICE}, timeout=10
    )
    assert posted.status_code == 403
    stranger = requests.get(f"{server.base_url}{PAGE}", allow_redirects=False, timeout=10)
    assert stranger.status_code == 303 and stranger.headers["location"].endswith("/fleet/login")
    with db.transaction() as session:
        assert session.scalars(select(EnrolmentCode)).all() == []
