"""What a client writes (Host, `next`, Referer) never becomes an address the server hands out:
printed QR codes, kiosk enrolment commands, messages to citizens, Location headers, links. And an
unexpected fault answers a short 500 and keeps the connection. Real server on loopback, SQLite
and PostgreSQL (tests/central/test_production_hostile.py: the same through nginx)."""
# ruff: noqa: F811  (tests take the imported fixtures as arguments)

from __future__ import annotations

import base64
import http.client
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from urllib.parse import quote

import requests
import zxingcpp
from PIL import Image
from sqlalchemy import text, update

from central_server.addresses import MAX_LOCAL_PATH, local_path
from central_server.models import Application
from tests.central.conftest import wait_for
from tests.central.fleet.test_enrolment_page import CODE_RE, PAGE, create
from tests.central.officer.conftest import (  # noqa: F401  (the officer fixtures)
    NIK,
    TUESDAY,
    Central,
    Staff,
    central,
    cheap_password_hashing,
    officer,
)
from tests.central.test_print_codes import issue, sent_code

FORGED = {"Host": "evil.example"}
NEXT_RE = re.compile(r'name="next" value="([^"]*)"')


def forged(staff: Staff) -> dict[str, str]:
    """The forged Host with the staff session's cookies (requests picks a request's cookies by
    its Host header, so sends none for evil.example)."""
    cookie = "; ".join(f"{c.name}={c.value}" for c in staff.http.cookies)
    return {**FORGED, "Cookie": cookie}


def qr_of(pdf: bytes, tmp_path: Path) -> str:
    """The text of the one QR code printed on a PDF's page."""
    (tmp_path / "doc.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", str(tmp_path / "doc.pdf"),
         str(tmp_path / "page")],
        timeout=30, check=True,
    )  # fmt: skip
    (code,) = zxingcpp.read_barcodes(
        Image.open(tmp_path / "page.png").convert("L"), formats=zxingcpp.BarcodeFormat.QRCode
    )
    return str(code.text)


def test_a_forged_host_reaches_no_printed_qr_nor_a_message(
    central: Central, officer: Staff, tmp_path: Path
) -> None:
    """Without a configured public URL the server's own socket address, never the Host."""
    number = issue(central, officer)
    pdf = officer.get(f"/officer/applications/{number}/document.pdf", headers=forged(officer))
    assert pdf.status_code == 200, pdf.text
    assert qr_of(pdf.content, tmp_path).startswith(f"{central.url}/verify/")

    code = sent_code(central)  # the card holder prints it at a kiosk
    reserved = requests.post(
        f"{central.url}/api/v1/print-codes/reserve",
        json={"nik": NIK, "code": code},
        headers={**central.kiosk(), **FORGED},
        timeout=30,
    )
    assert reserved.status_code == 200, reserved.text
    printed = qr_of(base64.b64decode(reserved.json()["pdf_base64"]), tmp_path)
    assert printed.startswith(f"{central.url}/verify/"), printed

    # an application moved to another slot: its approval message links to the new seal
    moved = central.submit(day=TUESDAY)
    with central.app.state.db.transaction() as session:
        session.execute(
            update(Application)
            .where(Application.registration_number == moved)
            .values(server_seal="SEAL")
        )
    approved = officer.http.post(
        f"{central.url}/officer/applications/{moved}/approve",
        data={"csrf_token": officer.csrf(), "slot": f"{TUESDAY.isoformat()}|08.00-11.00"},
        headers=forged(officer),
        allow_redirects=False,
        timeout=10,
    )
    assert approved.status_code == 303, approved.text
    wait_for(lambda: any(moved in m.body and "/r/SEAL" in m.body for m in central.sms.sent))
    told = [m.body for m in central.sms.sent if moved in m.body and "/r/SEAL" in m.body]
    assert all(f"{central.url}/r/SEAL" in body for body in told), told
    assert not any("evil.example" in m.body for m in central.sms.sent + central.email.sent)


def test_the_configured_public_url_wins_over_any_host(central: Central, officer: Staff) -> None:
    """A deployment's [server] public_url is what kiosks are told to enrol with."""
    central.app.state.public_url = "https://anjungan.example.go.id/"
    technician = Staff(central.url, "teknisi")
    technician.http.headers.update(forged(technician))
    made = create(technician, office_code="3517", kiosk_id="kiosk-new")
    assert made.status_code == 201 and CODE_RE.search(made.text)
    assert "--central-url https://anjungan.example.go.id --enrolment-code" in made.text
    assert "evil.example" not in made.text
    central.app.state.public_url = None
    again = create(technician, office_code="3517", kiosk_id="kiosk-other")
    assert f"--central-url {central.url} --enrolment-code" in again.text
    assert technician.get(PAGE).status_code == 200


@contextmanager
def connection(central: Central) -> Iterator[http.client.HTTPConnection]:
    """One kept-alive HTTP connection to the server."""
    conn = http.client.HTTPConnection("127.0.0.1", central.server.port, timeout=10)
    try:
        yield conn
    finally:
        conn.close()


def answer(
    conn: http.client.HTTPConnection, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Message, bytes]:
    """GET `path` on `conn`: status, headers, body."""
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.headers, response.read()


def test_slash_redirects_are_relative(central: Central) -> None:
    """Starlette's redirect_slashes built an absolute Location from the Host header."""
    with connection(central) as conn:
        status, headers, _ = answer(conn, "/fleet?view=1", FORGED)
        assert (status, headers["location"]) == (307, "/fleet/?view=1")
        status, headers, _ = answer(conn, "/officer/applications/", FORGED)
        assert (status, headers["location"]) == (307, "/officer/applications")
        status, _, _ = answer(conn, "/no-such-page", FORGED)
        assert status == 404


def test_only_a_short_local_path_is_a_next_page() -> None:
    assert local_path("/officer/queue?office=3517") == "/officer/queue?office=3517"
    for hostile in (
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/a b",
        "/x\r\nSet-Cookie: a=b",
        "/officer//x",
        "",
        "/" + "A" * MAX_LOCAL_PATH,
    ):
        assert local_path(hostile) == "", hostile


def test_login_keeps_only_a_short_local_next_and_reflects_nothing_else(central: Central) -> None:
    """/login?next= put up to 8 KB of whatever it said into the page."""
    page = requests.get(f"{central.url}/login", params={"next": "/" + "Z" * 8000}, timeout=10)
    assert page.status_code == 200 and "ZZZZ" not in page.text
    assert NEXT_RE.findall(page.text) == [""]
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        page = requests.get(f"{central.url}/login", params={"next": hostile}, timeout=10)
        assert NEXT_RE.findall(page.text) == [""] and "evil" not in page.text
    local = requests.get(f"{central.url}/login", params={"next": "/officer/queue"}, timeout=10)
    assert NEXT_RE.findall(local.text) == ["/officer/queue"]

    def logged_in(next_page: str) -> str:
        session = requests.Session()
        token = re.search(r'name="login_csrf" value="([^"]+)"', session.get(
            f"{central.url}/login", timeout=10).text)  # fmt: skip
        assert token
        done = session.post(
            f"{central.url}/login",
            data={"username": "petugas", "password": "rahasia-petugas-123",
                  "login_csrf": token.group(1), "next": next_page},
            allow_redirects=False, timeout=10,
        )  # fmt: skip
        assert done.status_code == 303
        return str(done.headers["location"])

    assert logged_in("/officer/queue") == "/officer/queue"
    assert logged_in("//evil.example/") == "/officer/applications"
    assert logged_in("/" + "Z" * 600) == "/officer/applications"

    # the login redirect carries the page asked for, unless it is too long to keep
    asked = requests.get(
        f"{central.url}/officer/queue?office=3517", allow_redirects=False, timeout=10
    )
    assert asked.headers["location"] == f"/login?next={quote('/officer/queue?office=3517')}"
    long = requests.get(
        f"{central.url}/officer/queue?office={'9' * 600}", allow_redirects=False, timeout=10
    )
    assert long.status_code == 303 and long.headers["location"] == "/login"


def test_an_error_pages_back_link_is_a_local_path(officer: Staff) -> None:
    """The link back came from the Referer header as it was."""
    missing = "/officer/applications/NOPE-1"
    page = officer.get(missing, headers={"Referer": "https://evil.example/phish?x=1"})
    assert page.status_code == 404
    assert 'href="/phish?x=1">Kembali' in page.text and "evil.example" not in page.text
    page = officer.get(missing, headers={"Referer": "javascript:alert(1)"})
    assert "javascript" not in page.text and 'href="/officer/applications"' in page.text


def test_a_fault_answers_a_short_500_and_keeps_the_connection(central: Central) -> None:
    """The applications table gone: a page's and the API's 500 carry no detail, the security
    headers, and the connection serves the next request (uvicorn closed it)."""
    cookie = forged(Staff(central.url, "admin"))["Cookie"]
    engine = central.app.state.db.engine
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE applications RENAME TO applications_away"))
    try:
        with connection(central) as conn:
            status, headers, body = answer(
                conn, "/officer/applications", {"Cookie": cookie, "Accept": "text/html"}
            )
            assert status == 500 and headers["Content-Type"].startswith("text/html")
            assert b"Gangguan server" in body and b"Traceback" not in body
            assert headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in headers
            sock = conn.sock
            status, headers, body = answer(conn, "/officer/applications", {"Cookie": cookie})
            assert status == 500 and headers["Content-Type"] == "application/json"
            assert b'"code":"server_error"' in body and b"applications" not in body
            status, _, _ = answer(conn, "/health")
            assert status == 200 and conn.sock is sock  # the same connection throughout
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE applications_away RENAME TO applications"))
