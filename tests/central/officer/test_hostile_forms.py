"""Staff forms and URLs with what no browser sends: NUL characters, numbers beyond any column,
digits that are not ASCII. Every answer is a refusal or a page, never a 500 (on PostgreSQL a NUL
or an out-of-range integer reached the database and came back as an internal error)."""

from __future__ import annotations

import requests

from tests.central.officer.conftest import Central, Staff

HUGE = "9" * 20  # beyond 64-bit integers
NUL = "a\x00b"


def test_hostile_staff_input_is_refused_without_a_server_error(central: Central) -> None:
    number = central.submit()
    admin, technician = Staff(central.url, "admin"), Staff(central.url, "teknisi")
    forms = [
        ("/officer/users", {"deactivate": HUGE}),
        ("/officer/users", {"deactivate": "²"}),  # str.isdigit() says yes, int() no
        ("/officer/users", {"unlock": NUL}),
        (f"/officer/applications/{number}/reject", {"reason": NUL}),
        (f"/officer/applications/{number}/note", {"note": NUL}),
        ("/officer/counters/priority", {"registration_number": NUL, "reason": NUL}),
        (f"/officer/counters/{HUGE}/next", {}),
        ("/officer/counters/1/transfer", {"target": HUGE}),
        ("/officer/counters/restore", {"number": HUGE}),
        ("/officer/quotas", {"office": NUL, "kia": "5"}),
        ("/officer/card-holder-lookups", {"kiosk": NUL, "nik": NUL, "nik_hash": HUGE}),
    ]
    answers = {f"{path} {data}": admin.post(path, data).status_code for path, data in forms}
    answers["fleet attachment"] = technician.get(f"/fleet/commands/{HUGE}/attachment").status_code
    answers["login"] = Staff(central.url, NUL).login_response.status_code
    assert all(400 <= status < 500 or status == 303 for status in answers.values()), answers
    assert requests.get(f"{central.url}/health", timeout=10).ok
