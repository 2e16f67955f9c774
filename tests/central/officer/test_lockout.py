"""Failed logins lock the normalised account on every app server, and the admins are told."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from central_server.embedded import start_embedded
from central_server.review_models import OutboxMessage
from central_server.throttle import LOCKOUT_AFTER, LoginFailure
from tests.central.conftest import wait_for
from tests.central.officer.conftest import PASSWORD, Central, Staff


def test_the_lockout_holds_for_every_spelling_of_the_account(
    central: Central, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The penetration test's case: wrong tries, then the right password as "PETUGAS "."""
    admins = "email:it@dukcapil.example,keamanan@dukcapil.example"
    monkeypatch.setenv("ANJUNGAN_ADMIN_NOTIFY", admins)
    spellings = ["petugas", "PETUGAS ", " Petugas", "pEtUgAs\t"]
    with caplog.at_level(logging.WARNING, logger="central_server.audit"):
        answers = [
            Staff(central.url, spellings[n % 4], f"tebakan-{n:04d}").login_response.status_code
            for n in range(LOCKOUT_AFTER)
        ]
    assert answers == [401] * (LOCKOUT_AFTER - 1) + [429]
    right = Staff(central.url, "PETUGAS ", PASSWORD).login_response
    assert right.status_code == 429 and "dikunci" in right.text
    assert "anjungan_session" not in right.headers.get("set-cookie", "")
    assert any("login lockout: account petugas" in r.getMessage() for r in caplog.records)
    wait_for(lambda: len(central.email.sent) == 2)  # both admin addresses, by the outbox
    assert {m.recipient for m in central.email.sent} == {
        "it@dukcapil.example",
        "keamanan@dukcapil.example",
    }
    assert all("petugas" in m.body and "dikunci" in m.body for m in central.email.sent)
    # Other accounts are not affected.
    assert Staff(central.url, "admin").login_response.status_code == 303


def test_failures_on_two_app_servers_count_together(central: Central) -> None:
    """Half the tries on each of two servers on one database: the lock is taken and shared."""
    with start_embedded(
        central.app.state.db.url, secret_key="test-session-key-0123456789abcdef"
    ) as other:
        urls = [central.url, other.base_url]
        answers = [
            Staff(urls[n % 2], "petugas", f"tebakan-{n:04d}").login_response.status_code
            for n in range(LOCKOUT_AFTER)
        ]
        assert answers[-1] == 429 and answers.count(401) == LOCKOUT_AFTER - 1
        for url in urls:
            assert Staff(url, "petugas").login_response.status_code == 429
    with central.app.state.db.transaction() as session:
        row = session.get(LoginFailure, "petugas")
        assert row is not None and row.locked_until is not None
        assert session.scalars(select(OutboxMessage)).all() == []  # no admin address set


def test_a_successful_login_forgets_earlier_failures(central: Central) -> None:
    """A few typos, then the right password: the count starts again."""
    for n in range(LOCKOUT_AFTER - 2):
        assert Staff(central.url, "petugas", f"salah-{n}").login_response.status_code == 401
    assert Staff(central.url, " Petugas ").login_response.status_code == 303
    with central.app.state.db.transaction() as session:
        assert session.get(LoginFailure, "petugas") is None


def test_an_admin_sees_the_locked_account_and_unlocks_it(central: Central) -> None:
    """The users page lists the lock; "Buka kunci" lifts it and the officer logs in again."""
    for n in range(LOCKOUT_AFTER):
        Staff(central.url, "petugas", f"tebakan-{n:04d}")
    admin = Staff(central.url, "admin")
    page = admin.get("/officer/users").text
    assert 'id="locked-accounts"' in page and "<td>petugas</td>" in page
    assert Staff(central.url, "petugas").login_response.status_code == 429
    r = admin.post("/officer/users", {"unlock": "petugas"}, csrf=True)
    assert r.status_code == 303 and r.headers["location"].endswith("ok=unlocked")
    assert 'id="locked-accounts"' not in admin.get("/officer/users").text
    assert Staff(central.url, "petugas").login_response.status_code == 303
    forged = admin.post("/officer/users", {"unlock": "petugas"}, csrf=False)
    assert forged.status_code == 403  # a form without the session's CSRF token
