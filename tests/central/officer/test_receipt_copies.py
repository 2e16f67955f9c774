"""A lost receipt printed again from the server's data, over HTTP (SQLite and PostgreSQL): bound
to the card holder's NIK and the registration number, sealed by the server (the check-in takes
its QR), a few copies an application a WIB day, none once verified or rejected, every request
audited with the NIK masked."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import requests
from sqlalchemy import create_engine, text

from kiosk_app.domain.identity import mask_nik
from kiosk_app.services import receipt_seal
from tests.central.officer.conftest import MONDAY, NIK, Central, Staff
from tests.central.officer.test_queue import check_in

COPY = "/api/v1/card-holder/receipt-copy"


def ask(
    central: Central, number: str, nik: str = NIK, kiosk: str = "kiosk-01"
) -> requests.Response:
    return requests.post(
        central.url + COPY,
        json={"nik": nik, "registration_number": number},
        headers=central.kiosk(kiosk),
        timeout=10,
    )


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query)).all()]
    finally:
        engine.dispose()


def test_copies_are_the_holders_sealed_limited_daily_and_audited(
    central: Central, officer: Staff, database_url: str
) -> None:
    number = central.submit()
    other = central.submit(child_name="Sari")
    first = ask(central, number)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["registration_number"] == number and body["status"] == "submitted"
    assert body["slot"] == {"date": MONDAY.isoformat(), "window": "08.00-11.00"}
    assert body["data"]["child_name"] == "Budi Santoso"
    assert body["copies_left_today"] == 2
    assert receipt_seal.parse_qr(body["qr"]) == body["seal"]
    assert body["qr"].startswith(central.url + "/r/")
    verdict = requests.get(
        f"{central.url}/r/{body['seal']}", headers={"Accept": "application/json"}, timeout=10
    ).json()
    assert verdict["status"] == "valid" and verdict["claims"]["kiosk_id"] == "server:pusat"
    assert verdict["application"]["registration_number"] == number

    # Only the card holder's own number: another NIK or an unknown number is not found.
    assert ask(central, number, nik="3517014501200002").status_code == 404
    assert ask(central, "AKTA-3517-191126-9999").json()["detail"]["code"] == "not_found"
    # Three copies of one application a day (another application has its own three).
    assert [ask(central, number, kiosk="kiosk-02").status_code for _ in range(2)] == [200, 200]
    refused = ask(central, number)
    assert refused.status_code == 409
    assert refused.json()["detail"] == {
        "code": "copy_limit",
        "message": "this application's receipt was printed again 3 times today",
        "limit": 3,
    }
    assert ask(central, other).status_code == 200
    central.at(central.calendar["today"] + timedelta(days=1), 8)  # the next WIB day
    again = ask(central, number)
    assert again.status_code == 200 and again.json()["copies_left_today"] == 2

    # The check-in takes the copy's QR on the booked morning.
    r = officer.act(number, "approve", slot=f"{MONDAY.isoformat()}|08.00-11.00")
    assert r.status_code == 303, r.text
    copied = ask(central, number).json()
    assert copied["status"] == "approved"
    central.at(MONDAY, 8)
    arrival = check_in(central, seal=copied["qr"])
    assert arrival.status_code == 200, arrival.text
    assert arrival.json()["registration_number"] == number
    # Verified (or rejected): no copy, there is nothing left to bring the receipt to.
    assert officer.act(number, "verify").status_code == 303
    done = ask(central, number)
    assert done.status_code == 409 and done.json()["detail"]["code"] == "not_copyable"
    assert officer.act(other, "reject", reason="Data tidak lengkap").status_code == 303
    assert ask(central, other).json()["detail"]["application_status"] == "rejected"

    audited = rows(database_url, "SELECT masked_nik, outcome FROM receipt_copies ORDER BY id")
    assert [o for _m, o in audited] == [
        "allowed",
        "not_found",
        "not_found",
        "allowed",
        "allowed",
        "daily_limit",
        "allowed",
        "allowed",
        "allowed",
        "not_copyable",
        "not_copyable",
    ]
    assert {m for m, _o in audited} == {mask_nik(NIK), mask_nik("3517014501200002")}
    lookups = rows(
        database_url, "SELECT masked_nik FROM card_holder_lookups WHERE kind = 'receipt_copy'"
    )
    assert len(lookups) == len(audited) and NIK not in str(lookups)


def test_the_daily_limit_counts_the_wib_day_on_a_utc_clock(central: Central) -> None:
    """The production clock is UTC: a WIB day runs from 17:00 UTC to 17:00 UTC."""
    number = central.submit()
    day = central.calendar["today"]
    central.clock["now"] = datetime.combine(day, time(17, 30), UTC)  # 00.30 WIB, the next day
    assert [ask(central, number).status_code for _ in range(3)] == [200, 200, 200]
    assert ask(central, number).json()["detail"]["code"] == "copy_limit"
    central.clock["now"] = datetime.combine(day + timedelta(days=1), time(16, 59), UTC)
    assert ask(central, number).status_code == 409  # 23.59 WIB: still that day
    central.clock["now"] = datetime.combine(day + timedelta(days=1), time(17, 1), UTC)
    assert ask(central, number).json()["copies_left_today"] == 2  # 00.01 WIB: a new day
