"""A receipt copy's print outcome, reported by the kiosk that made it, over HTTP (SQLite and
PostgreSQL): a copy that printed nothing is given back (the day's limit no longer counts it,
the audit row keeps the outcome and the failing device), one that partly printed counts, one
never reported counts; each report is applied once by its Idempotency-Key, and only the
kiosk that made the copy may report on it."""

from __future__ import annotations

import requests

from tests.central.officer.conftest import Central
from tests.central.officer.test_receipt_copies import ask, rows


def report(
    central: Central,
    copy_id: int,
    key: str | None,
    *,
    ticket: bool = False,
    receipt: bool = False,
    failure: str = "ticket: PaperOut; receipt: PrinterStopped",
    kiosk: str = "kiosk-01",
) -> requests.Response:
    headers = central.kiosk(kiosk)
    if key is not None:
        headers["Idempotency-Key"] = key
    return requests.post(
        f"{central.url}/api/v1/card-holder/receipt-copy/{copy_id}/outcome",
        json={"ticket_printed": ticket, "receipt_printed": receipt, "failure": failure},
        headers=headers,
        timeout=10,
    )


def test_a_copy_that_printed_nothing_is_given_back_once(
    central: Central, database_url: str
) -> None:
    number = central.submit()
    copies = [ask(central, number).json() for _ in range(3)]
    assert [c["copies_left_today"] for c in copies] == [2, 1, 0]
    first, second, third = (c["copy_id"] for c in copies)
    assert ask(central, number).json()["detail"]["code"] == "copy_limit"

    # The first copy jammed both printers: given back, the day has one copy again.
    given = report(central, first, "outcome-key-0001")
    assert given.status_code == 200, given.text
    assert given.json() == {
        "copy_id": first,
        "print_outcome": "not_printed",
        "counted": False,
        "copies_left_today": 1,
    }
    # A resend after a lost answer is replayed, never applied twice.
    again = report(central, first, "outcome-key-0001")
    assert again.json() == given.json() and again.headers["Idempotent-Replayed"] == "true"
    other = report(central, first, "outcome-key-0002", ticket=True, receipt=True)
    assert other.status_code == 409 and other.json()["detail"]["code"] == "already_reported"
    # The second copy's ticket printed: the citizen holds a sealed receipt, it counts.
    partly = report(central, second, "outcome-key-0003", ticket=True)
    assert partly.json()["print_outcome"] == "partly_printed" and partly.json()["counted"]
    # The third is never reported (the kiosk died printing): it counts.
    fourth = ask(central, number)  # refused before the give-back; allowed now
    assert fourth.status_code == 200, fourth.text
    assert fourth.json()["copies_left_today"] == 0
    assert ask(central, number).json()["detail"]["code"] == "copy_limit"
    printed = report(
        central, fourth.json()["copy_id"], "outcome-key-0004", ticket=True, receipt=True
    )
    assert printed.json()["print_outcome"] == "printed" and printed.json()["counted"]

    audited = rows(
        database_url,
        "SELECT id, outcome, print_outcome, print_failure, report_key FROM receipt_copies"
        " ORDER BY id",
    )
    assert [(o, p) for _i, o, p, _f, _k in audited] == [
        ("allowed", "not_printed"),
        ("allowed", "partly_printed"),
        ("allowed", None),
        ("daily_limit", None),
        ("allowed", "printed"),
        ("daily_limit", None),
    ]
    assert audited[0][3] == "ticket: PaperOut; receipt: PrinterStopped"
    assert audited[0][4] == "outcome-key-0001" and third == audited[2][0]


def test_only_the_copying_kiosk_reports_on_an_allowed_copy(central: Central) -> None:
    number = central.submit()
    copy_id = ask(central, number, kiosk="kiosk-02").json()["copy_id"]
    for _ in range(2):
        ask(central, number)
    refused_id = copy_id + 3  # the daily_limit row: no copy was made
    assert ask(central, number).status_code == 409
    mine = report(central, copy_id, "outcome-key-0101")  # kiosk-01 did not make it
    assert mine.status_code == 404 and mine.json()["detail"]["code"] == "not_found"
    assert report(central, refused_id, "outcome-key-0102", kiosk="kiosk-01").status_code == 404
    assert report(central, 99999, "outcome-key-0103").status_code == 404
    no_key = report(central, copy_id, None, kiosk="kiosk-02")
    assert no_key.status_code == 400
    assert no_key.json()["detail"]["code"] == "idempotency_key_required"
    unauthenticated = requests.post(
        f"{central.url}/api/v1/card-holder/receipt-copy/{copy_id}/outcome",
        json={"ticket_printed": False, "receipt_printed": False},
        headers={"Idempotency-Key": "outcome-key-0104"},
        timeout=10,
    )
    assert unauthenticated.status_code == 401
    hostile = report(central, copy_id, "outcome-key-0105", kiosk="kiosk-02", failure="a\x00b")
    assert hostile.status_code == 422
    assert ask(central, number).status_code == 409  # nothing was given back by any of these
    ok = report(central, copy_id, "outcome-key-0106", kiosk="kiosk-02")
    assert ok.status_code == 200 and ok.json()["copies_left_today"] == 1
