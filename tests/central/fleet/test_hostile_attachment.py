"""A kiosk's upload is hostile: it is refused when mislabelled and always served as a download."""

from __future__ import annotations

import base64
import shutil
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, update

from central_server.embedded import EmbeddedServer
from central_server.fleet.models import FleetCommand
from tests.central.conftest import ADMIN_TOKEN
from tests.central.fleet.helpers import STAFF, beat, enrol
from tests.central.fleet.test_dashboard_browser import CHROMIUM
from tests.central.fleet.test_dashboard_browser import browser as browser  # the fixture

HOSTILE = (
    b"<!doctype html><html><body><h1>log</h1><script>"
    b"fetch('/officer/applications').then(r => r.text())"
    b".then(t => fetch('/health?stolen=' + t.length));"
    b"document.title = 'pwned';</script></body></html>"
)


def command_with_result(server: EmbeddedServer, content_type: str, data: bytes) -> int:
    """Queue upload_logs for a new kiosk and report `data` as its result; return the id."""
    auth = enrol(server, "kiosk-evil")
    base = f"{server.base_url}/api/v1/fleet"
    r = requests.post(
        f"{base}/kiosks/kiosk-evil/commands",
        json={"kind": "upload_logs"},
        headers=STAFF,
        timeout=10,
    )
    command_id: int = r.json()["id"]
    beat(server, auth)
    result = {
        "ok": True,
        "detail": "logs",
        "attachment_type": content_type,
        "attachment_b64": base64.b64encode(data).decode(),
    }
    r = requests.post(f"{base}/commands/{command_id}/result", json=result, headers=auth, timeout=10)
    assert r.status_code in (204, 422), r.text
    return command_id if r.status_code == 204 else -r.status_code


def technician(server: EmbeddedServer) -> requests.Session:
    """A browser-like session logged in to the dashboard with the admin token."""
    session = requests.Session()
    r = session.post(f"{server.base_url}/fleet/login", data={"token": ADMIN_TOKEN}, timeout=10)
    assert r.status_code == 200 and r.url.endswith("/fleet/"), r.url
    return session


@pytest.mark.parametrize("content_type", ["text/html", "image/svg+xml", "application/xhtml+xml"])
def test_types_off_the_allow_list_are_refused(server: EmbeddedServer, content_type: str) -> None:
    """A kiosk cannot label its upload as anything a browser would render as a page."""
    assert command_with_result(server, content_type, HOSTILE) == -422


def test_a_mislabelled_upload_is_refused(server: EmbeddedServer) -> None:
    """HTML sent as a PNG does not start like a PNG: 422."""
    assert command_with_result(server, "image/png", HOSTILE) == -422


def test_an_allowed_upload_is_served_as_a_download(server: EmbeddedServer) -> None:
    """Plain text comes back as an attachment with nosniff and a sandboxing CSP."""
    command_id = command_with_result(server, "text/plain", HOSTILE)
    r = technician(server).get(
        f"{server.base_url}/fleet/commands/{command_id}/attachment", timeout=10
    )
    assert r.status_code == 200 and r.content == HOSTILE
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in r.headers["Content-Security-Policy"]


def stored_as_html(server_db: str, command_id: int) -> None:
    """Relabel a stored attachment as text/html, as a row from before the allow-list could be."""
    engine = create_engine(server_db)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(FleetCommand)
                .where(FleetCommand.id == command_id)
                .values(attachment_type="text/html")
            )
    finally:
        engine.dispose()


def test_an_old_html_row_is_served_as_octet_stream(server: EmbeddedServer, db_path: str) -> None:
    """A type off the allow-list already in the database goes out as application/octet-stream."""
    command_id = command_with_result(server, "text/plain", HOSTILE)
    stored_as_html(db_path, command_id)
    r = technician(server).get(
        f"{server.base_url}/fleet/commands/{command_id}/attachment", timeout=10
    )
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Disposition"].startswith("attachment;")


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="apt: chromium")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_technician_opening_a_hostile_attachment_runs_no_script(
    server: EmbeddedServer, db_path: str, browser: Any
) -> None:
    """The technician clicks the file link: Chromium downloads it, no script of it runs."""
    command_id = command_with_result(server, "text/plain", HOSTILE)
    stored_as_html(db_path, command_id)  # the worst case: a row labelled text/html
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(f"{server.base_url}/fleet/login")
        page.fill("#token", ADMIN_TOKEN)
        page.click("#login")
        page.wait_for_url(f"{server.base_url}/fleet/")
        page.goto(f"{server.base_url}/fleet/kiosks/kiosk-evil")
        link = page.locator(f'a[href="/fleet/commands/{command_id}/attachment"]')
        with page.expect_download() as download_info:
            link.click()
        download = download_info.value
        assert download.suggested_filename == f"command-{command_id}"
        with open(download.path(), "rb") as saved:
            assert saved.read() == HOSTILE
        # Opened straight in a tab: still a download, never a page of our origin.
        other = context.new_page()
        with other.expect_download():
            try:
                other.goto(f"{server.base_url}/fleet/commands/{command_id}/attachment")
            except Exception as exc:  # Chromium reports "Download is starting" as an error
                assert "Download is starting" in str(exc)
        page.wait_for_timeout(300)  # give a script, had one started, time to fetch
        assert other.title() != "pwned" and page.title() != "pwned"
    finally:
        context.close()
    assert not [u for u in requested if "/officer/applications" in u or "stolen=" in u]
