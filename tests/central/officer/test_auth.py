"""Staff login, roles, CSRF and the first-admin seed over HTTP."""

from __future__ import annotations

import pytest
import requests

from central_server import auth
from central_server.db import Database
from tests.central.officer.conftest import PASSWORD, Central, Staff


def test_pages_need_a_login_and_wrong_passwords_are_refused(central: Central) -> None:
    r = requests.get(f"{central.url}/officer/applications?state=approved", allow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/officer/applications%3Fstate%3Dapproved"
    bad = Staff(central.url, "petugas", "salah-sandi-123")
    assert bad.login_response.status_code == 401
    assert "Nama pengguna atau kata sandi salah." in bad.login_response.text
    assert auth.SESSION_COOKIE not in bad.http.cookies
    assert Staff(central.url, "tidak-ada").login_response.status_code == 401


def test_login_then_logout_ends_the_session(central: Central, officer: Staff) -> None:
    assert officer.login_response.headers["location"] == "/officer/applications"
    page = officer.get("/officer/applications")
    assert page.status_code == 200 and "Dewi Lestari" in page.text
    cookie = officer.http.cookies[auth.SESSION_COOKIE]
    assert officer.post("/logout").status_code == 303
    replay = requests.get(
        f"{central.url}/officer/applications",
        cookies={auth.SESSION_COOKIE: cookie},
        allow_redirects=False,
    )
    assert replay.status_code == 303  # the old cookie no longer opens pages


def test_the_fleet_dashboards_logout_ends_a_staff_login(central: Central) -> None:
    """ "Keluar" on /fleet once dropped only the fleet token's cookie: the staff session (and a
    copy of its cookie) still opened the dashboard afterwards."""
    technician = Staff(central.url, "teknisi")
    cookie = technician.http.cookies[auth.SESSION_COOKIE]
    assert technician.get("/fleet/", allow_redirects=False).status_code == 200
    out = technician.http.post(f"{central.url}/fleet/logout", allow_redirects=False, timeout=10)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    for cookies in (technician.http.cookies, {auth.SESSION_COOKIE: cookie}):
        again = requests.get(
            f"{central.url}/fleet/", cookies=cookies, allow_redirects=False, timeout=10
        )
        assert again.status_code == 303 and again.headers["location"] == "/fleet/login"


def test_login_form_is_protected_against_csrf(central: Central) -> None:
    r = requests.post(
        f"{central.url}/login",
        data={"username": "petugas", "password": PASSWORD},
        allow_redirects=False,
    )
    assert r.status_code == 403


def test_forms_without_the_csrf_token_are_refused(central: Central, officer: Staff) -> None:
    number = central.submit()
    r = officer.post(f"/officer/applications/{number}/review", csrf=False)
    assert r.status_code == 403 and "kedaluwarsa" in r.text
    r = officer.post(f"/officer/applications/{number}/review", {"csrf_token": "forged"}, csrf=False)
    assert r.status_code == 403
    other = Staff(central.url, "admin")  # another session's token is not this session's
    r = officer.post(
        f"/officer/applications/{number}/review", {"csrf_token": other.csrf()}, csrf=False
    )
    assert r.status_code == 403
    assert "Baru masuk" in officer.get(f"/officer/applications/{number}").text


def test_roles_separate_what_each_may_do(central: Central, officer: Staff) -> None:
    number = central.submit()
    technician = Staff(central.url, "teknisi")
    assert technician.get("/officer/applications").status_code == 403
    assert technician.get(f"/officer/applications/{number}").status_code == 403
    assert officer.get("/officer/users").status_code == 403
    surabaya = Staff(central.url, "petugas_sby")
    assert surabaya.get(f"/officer/applications/{number}").status_code == 404
    assert surabaya.act(number, "review").status_code == 404
    admin = Staff(central.url, "admin")
    assert admin.get(f"/officer/applications/{number}").status_code == 200
    r = admin.post(
        "/officer/users",
        {"username": "baru", "password": "pendek", "role": "officer", "office": "3517"},
    )
    assert r.status_code == 422 and "at least 10" in r.text
    r = admin.post(
        "/officer/users",
        {
            "username": "baru",
            "password": PASSWORD,
            "role": "officer",
            "office": "3517",
            "full_name": "Petugas Baru",
        },
    )
    assert r.status_code == 303
    assert Staff(central.url, "baru").login_response.status_code == 303


def test_repeated_failed_logins_are_slowed_down(central: Central) -> None:
    codes = [Staff(central.url, "petugas", f"tebakan-{n:04d}").login_response for n in range(11)]
    assert [r.status_code for r in codes[:9]] == [401] * 9
    assert codes[9].status_code == 429 and int(codes[9].headers["Retry-After"]) >= 1  # locked
    assert codes[10].status_code == 429


def test_seed_admin_from_env_and_cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = database_url
    monkeypatch.delenv("ANJUNGAN_ADMIN_PASSWORD", raising=False)
    assert auth.main(["--db", url, "create-admin"]) == 2
    monkeypatch.setenv("ANJUNGAN_ADMIN_PASSWORD", PASSWORD)
    assert auth.main(["--db", url, "create-admin"]) == 0
    db = Database(url)
    try:
        assert auth.seed_admin(db) is False  # one admin is enough
        checker = auth.Auth(db, "k" * 32)
        user = checker.authenticate("ADMIN", PASSWORD)
        assert user is not None and user.role == "admin"
        assert checker.authenticate("admin", PASSWORD + "x") is None
        with pytest.raises(ValueError, match="belongs to an office"):
            auth.create_user(db, "o", PASSWORD, "officer")
    finally:
        db.dispose()
    assert auth.hash_password("x" * 12).startswith("$argon2id$")
