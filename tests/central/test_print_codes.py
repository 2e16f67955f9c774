"""One-time print codes over HTTP (SQLite and PostgreSQL): issue, list, reserve, print once."""
# ruff: noqa: F811  (tests take the imported fixtures as arguments)

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import requests
import zxingcpp
from PIL import Image
from sqlalchemy import create_engine, text

from central_server.print_codes import ALPHABET
from tests.central.officer.conftest import (  # noqa: F401  (the officer fixtures)
    MONDAY,
    NIK,
    Central,
    Staff,
    central,
    cheap_password_hashing,
    officer,
)

OTHER_NIK = "3517010101900002"
CODE_RE = re.compile(r"Kode cetak: ([A-Z0-9]{4}-[A-Z0-9]{4})")


def issue(central: Central, officer: Staff, **data: str) -> str:
    """Take an application to document_ready; returns its registration number."""
    number = central.submit(**data)
    officer.act(number, "approve", slot=f"{MONDAY.isoformat()}|08.00-11.00")
    central.calendar["today"] = MONDAY
    officer.act(number, "arrive")  # at the counter on the slot day
    officer.act(number, "verify")
    r = officer.act(number, "issue", holder_name="Budi Santoso", holder_nik="3517010101260001")
    assert r.status_code == 303, r.text
    return number


def post(central: Central, path: str, body: dict[str, Any], kiosk: str = "kiosk-01") -> Any:
    """POST JSON as an enrolled kiosk."""
    return requests.post(
        f"{central.url}{path}", json=body, headers=central.kiosk(kiosk), timeout=30
    )


def sent_code(central: Central) -> str:
    """The print code the outbox worker sent by SMS."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for message in central.sms.sent:
            match = CODE_RE.search(message.body)
            if match:
                return match.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no print code sent: {central.sms.sent}")


def print_log(central: Central) -> list[tuple[str, ...]]:
    """The server's print log rows."""
    engine = create_engine(central.app.state.db.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT document_number, kiosk_id, masked_nik, event, at "
                    "FROM print_log ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]


def test_code_is_sent_and_shown_only_to_the_card_holder(central: Central, officer: Staff) -> None:
    number = issue(central, officer)
    code = sent_code(central)
    assert all(c in ALPHABET for c in code.replace("-", ""))
    r = post(central, "/api/v1/card-holder/applications", {"nik": NIK})
    assert r.status_code == 200, r.text
    (app,) = r.json()["applications"]
    assert app["registration_number"] == number and app["status"] == "document_ready"
    assert app["document"]["print_state"] == "ready"
    assert "print_code" not in app["document"]  # never returned: the citizen types it
    assert [e["to_status"] for e in app["events"]][-1] == "document_ready"
    raw = r.text
    assert code not in raw and code.replace("-", "") not in raw
    assert NIK not in raw and "Siti" not in raw and "Budi" not in raw and "081234" not in raw
    other = post(central, "/api/v1/card-holder/applications", {"nik": OTHER_NIK})
    assert other.json() == {"applications": []}
    assert (
        requests.post(
            f"{central.url}/api/v1/card-holder/applications", json={"nik": NIK}, timeout=10
        ).status_code
        == 401
    )
    assert post(central, "/api/v1/card-holder/applications", {"nik": "123"}).status_code == 422


def test_code_prints_once_and_a_second_use_is_refused(
    central: Central, officer: Staff, tmp_path: Path
) -> None:
    issue(central, officer)
    code = sent_code(central)
    typed = code.lower().replace("-", " ")  # typed loosely: case and separators do not matter
    r = post(central, "/api/v1/print-codes/reserve", {"nik": OTHER_NIK, "code": typed})
    assert r.status_code == 200, r.text
    answer = r.json()
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(base64.b64decode(answer["pdf_base64"]))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf), str(tmp_path / "p")],
        timeout=30,
        check=True,
    )
    (url,) = [
        c.text
        for c in zxingcpp.read_barcodes(
            Image.open(tmp_path / "p.png").convert("L"), formats=zxingcpp.BarcodeFormat.QRCode
        )
    ]
    assert "/verify/" in url and "SAH dan AKTIF" in requests.get(url, timeout=10).text
    token = answer["reservation"]
    done = post(central, f"/api/v1/print-reservations/{token}/confirm", {"nik": OTHER_NIK})
    assert done.status_code == 200 and done.json()["state"] == "printed"
    again = post(central, f"/api/v1/print-reservations/{token}/confirm", {"nik": OTHER_NIK})
    assert again.status_code == 200  # a repeated confirmation (lost answer) is harmless

    second = post(
        central, "/api/v1/print-codes/reserve", {"nik": NIK, "code": code}, kiosk="kiosk-02"
    )
    assert second.status_code == 409, second.text
    detail = second.json()["detail"]
    assert detail["code"] == "already_printed" and detail["printed_by"] == "kiosk-01"
    assert detail["printed_at"] and "Jombang" in detail["office_name"]
    listed = post(central, "/api/v1/card-holder/applications", {"nik": NIK}).json()
    assert listed["applications"][0]["document"]["print_state"] == "printed"

    log = print_log(central)
    assert [(row[1], row[3]) for row in log] == [
        ("kiosk-01", "reserved"),
        ("kiosk-01", "printed"),
        ("kiosk-02", "refused"),
    ]
    assert {row[0] for row in log} == {answer["document_number"]}
    assert log[0][2] == "3517********0002" and log[2][2] == "3517********0001"
    assert NIK not in json.dumps(log) and OTHER_NIK not in json.dumps(log)


def test_failed_print_releases_the_code(central: Central, officer: Staff) -> None:
    number = issue(central, officer)
    code = sent_code(central)
    body = {"nik": NIK, "registration_number": number, "code": code}  # typed at the kiosk
    first = post(central, "/api/v1/print-codes/reserve", body)
    assert first.status_code == 200, first.text
    busy = post(central, "/api/v1/print-codes/reserve", body, kiosk="kiosk-02")
    assert busy.status_code == 409 and busy.json()["detail"]["code"] == "busy"
    token = first.json()["reservation"]
    gone = post(
        central,
        f"/api/v1/print-reservations/{token}/release",
        {"nik": NIK, "reason": "PaperOut"},
        kiosk="kiosk-02",
    )
    assert gone.status_code == 404  # only the kiosk holding it may release it
    r = post(
        central, f"/api/v1/print-reservations/{token}/release", {"nik": NIK, "reason": "PaperOut"}
    )
    assert r.status_code == 204, r.text
    late = post(central, f"/api/v1/print-reservations/{token}/confirm", {"nik": NIK})
    assert late.status_code == 404  # a released reservation is gone: printing starts over
    retry = post(central, "/api/v1/print-codes/reserve", body, kiosk="kiosk-02")
    assert retry.status_code == 200, retry.text
    events = [row[3] for row in print_log(central)]
    assert events == ["reserved", "refused", "released", "reserved"]


def test_only_the_applicant_may_pick_and_unknown_codes_are_refused(
    central: Central, officer: Staff
) -> None:
    waiting = central.submit()
    number = issue(central, officer)
    code = sent_code(central)
    # The penetration test's case: NIK + registration number, no code, printed the document.
    r = post(central, "/api/v1/print-codes/reserve", {"nik": NIK, "registration_number": number})
    assert r.status_code == 422
    r = post(
        central,
        "/api/v1/print-codes/reserve",
        {"nik": NIK, "registration_number": waiting, "code": code},
    )
    assert r.status_code == 404 and r.json()["detail"]["code"] == "unknown_code"
    r = post(central, "/api/v1/print-codes/reserve", {"nik": NIK, "code": "ACEF-HJKM"})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "unknown_code"
    r = post(central, "/api/v1/print-codes/reserve", {"nik": NIK, "code": "0000-0000"})
    assert r.status_code == 404
    assert post(central, "/api/v1/print-codes/reserve", {"nik": NIK}).status_code == 422


def test_revoked_document_cannot_be_printed(central: Central, officer: Staff) -> None:
    number = issue(central, officer)
    code = sent_code(central)
    admin = Staff(central.url, "admin")
    assert admin.act(number, "revoke", reason="Data keliru").status_code == 303
    r = post(central, "/api/v1/print-codes/reserve", {"nik": NIK, "code": code})
    assert r.status_code == 410 and r.json()["detail"]["code"] == "revoked"


def test_look_ups_are_rate_limited(central: Central, officer: Staff) -> None:
    codes = []
    for _ in range(12):
        r = post(central, "/api/v1/print-codes/reserve", {"nik": NIK, "code": "ACEF-HJKM"})
        codes.append(r.status_code)
    assert codes[:10] == [404] * 10 and codes[-1] == 429
    assert int(r.headers["Retry-After"]) >= 1


def test_cards_get_no_print_code(central: Central, officer: Staff) -> None:
    import uuid

    r = requests.post(
        f"{central.url}/api/v1/applications",
        json={
            "service": "kia",
            "applicant_nik": NIK,
            "applicant_name": "Siti Aminah",
            "data": {"contact_phone": "081234567890"},
            "slot": {"date": MONDAY.isoformat(), "window": "08.00-11.00"},
        },
        headers={**central.kiosk(), "Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    number = r.json()["registration_number"]
    officer.act(number, "approve", slot=f"{MONDAY.isoformat()}|08.00-11.00")
    central.calendar["today"] = MONDAY
    officer.act(number, "arrive")  # at the counter on the slot day
    officer.act(number, "verify")
    issued = officer.act(number, "issue", holder_name="Budi", holder_nik="3517010101260001")
    assert issued.status_code == 303, issued.text
    (app,) = post(central, "/api/v1/card-holder/applications", {"nik": NIK}).json()["applications"]
    assert app["document"]["print_state"] == "not_printable"
    assert "print_code" not in app["document"]
    refused = post(
        central, "/api/v1/print-codes/reserve", {"nik": NIK, "registration_number": number}
    )
    assert refused.status_code == 422  # no code, no print
    deadline = time.monotonic() + 60  # the issue's own message went out: no code came with it
    while not any("Dokumen sudah terbit" in m.body for m in central.sms.sent):
        assert time.monotonic() < deadline, central.sms.sent
        time.sleep(0.05)
    assert not any(CODE_RE.search(m.body) for m in central.sms.sent)


def test_the_outbox_keeps_no_print_code_once_sent(central: Central, officer: Staff) -> None:
    """The SMS carried the code; the outbox row keeps the message with the code erased."""
    issue(central, officer)
    code = sent_code(central)
    engine = create_engine(central.app.state.db.url)
    try:
        deadline = time.monotonic() + 60
        while True:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT status, body FROM notification_outbox"
                        " WHERE body LIKE '%Kode cetak%'"
                    )
                ).all()
            if rows and all(status == "sent" for status, _ in rows):
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.05)
    finally:
        engine.dispose()
    for _status, body in rows:
        assert code not in body and code.replace("-", "") not in body
        assert "dihapus" in body and "\u27e6" not in body
    assert all("\u27e6" not in m.body for m in central.sms.sent)  # the marks never go out


def test_the_database_holds_no_code_nor_a_plain_hash_of_it(
    central: Central, officer: Staff
) -> None:
    """The stored hash is keyed (the pepper is outside the database): SHA-256 of the code is
    not in the print_codes table, so a dump alone cannot be searched for the 20^8 codes."""
    issue(central, officer)
    code = sent_code(central).replace("-", "")
    engine = create_engine(central.app.state.db.url)
    try:
        with engine.connect() as conn:
            (stored,) = conn.execute(text("SELECT code_hash FROM print_codes")).scalars().all()
    finally:
        engine.dispose()
    assert stored != hashlib.sha256(code.encode()).hexdigest() and code not in stored
