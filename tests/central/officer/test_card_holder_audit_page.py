"""The card-holder audit page: an admin (the Disdukcapil supervisor) sees who looked up which
NIK (masked) from which kiosk and office, when (WIB), what and with what outcome; filters by
kiosk, office, date, outcome and a full NIK that never reaches a URL or the page; officers,
technicians and strangers are refused; each reading is in the audit log."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.central.officer.conftest import NIK, OFFICE, OTHER_OFFICE, Central, Staff

PAGE = "/officer/card-holder-lookups"
LISTS = "/api/v1/card-holder/applications"
BUDGET = 30  # [limits] kiosk_lookups_per_window by default
ROW = re.compile(r'<tr class="lookup" data-outcome="(\w+)" data-attempts="(\d+)">(.*?)</tr>', re.S)
OTHER_NIK = "3578016502900002"


def walk(n: int) -> str:
    """The n-th NIK of a kiosk walking through them."""
    return f"3517014501{n:06d}"


def look_up(central: Central, kiosk_id: str, nik: str, office: str = OFFICE) -> int:
    r = requests.post(
        central.url + LISTS, json={"nik": nik}, headers=central.kiosk(kiosk_id, office), timeout=10
    )
    return r.status_code


def rows(page: requests.Response) -> list[tuple[str, int, str]]:
    """(outcome, attempts, the row's text) of each row shown."""
    assert page.status_code == 200, page.text
    found = []
    for outcome, attempts, cells in ROW.findall(page.text):
        found.append((outcome, int(attempts), re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cells))))
    return found


def filtered(admin: Staff, **fields: str) -> requests.Response:
    """Post the filter form; the redirect's address must hold no NIK; follow it."""
    r = admin.post(PAGE, fields)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert NIK not in location and OTHER_NIK not in location and "3517014501" not in location
    assert location.startswith(PAGE)
    return admin.get(location)


@pytest.fixture
def looked_up(central: Central) -> Central:
    """A grandmother (NIK) asked for three times and another citizen once at office 3517's
    kiosk; a kiosk of Surabaya walking through NIKs past its budget; a third kiosk's 20."""
    central.submit()  # the grandmother has an application
    assert [look_up(central, "kiosk-01", NIK) for _ in range(3)] == [200] * 3
    assert look_up(central, "kiosk-01", OTHER_NIK) == 200
    walked = [look_up(central, "kiosk-sby", walk(n), OTHER_OFFICE) for n in range(BUDGET + 5)]
    assert walked == [200] * BUDGET + [429] * 5
    assert [look_up(central, "kiosk-03", walk(500 + n)) for n in range(20)] == [200] * 20
    return central


def test_an_admin_reads_who_looked_up_whom_filters_and_pages(
    looked_up: Central, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "central_server.audit")
    admin = Staff(looked_up.url, "admin")
    first = admin.get(PAGE)
    shown = rows(first)
    assert len(shown) == 50 and 'href="?page=2"' in first.text  # 3+1+30+1+20 = 55 rows
    assert (
        "<script" not in first.text
        and "default-src 'self'" in first.headers["content-security-policy"]
    )
    assert first.headers["x-frame-options"] == "DENY"
    assert 'href="/officer/card-holder-lookups"' in first.text  # in the admin's menu
    second = rows(admin.get(f"{PAGE}?page=2"))
    assert len(second) == 5
    everything = shown + second
    # The Surabaya kiosk's 5 refusals: one row counting them, shown with its office.
    refused = [r for r in everything if r[0] == "kiosk_budget"]
    assert [(r[1], "kiosk-sby" in r[2], f"{OTHER_OFFICE} · Disdukcapil Kota Surabaya" in r[2])
            for r in refused] == [(5, True, True)]  # fmt: skip
    assert "5 kali" in refused[0][2] and "batas anjungan" in refused[0][2]
    text = first.text + admin.get(f"{PAGE}?page=2").text
    assert NIK not in text and OTHER_NIK not in text and walk(0) not in text
    assert "3517********0001" in text and "Daftar permohonan" in text

    # By kiosk (the form posts, the address carries the kiosk), then by a full NIK too.
    by_kiosk = rows(filtered(admin, kiosk="kiosk-01"))
    assert len(by_kiosk) == 4 and all("kiosk-01" in r[2] for r in by_kiosk)
    assert all(f"{OFFICE} · " in r[2] for r in by_kiosk)
    grandmother = filtered(admin, kiosk="kiosk-01", nik=f" {NIK[:8]} {NIK[8:]} ")
    assert [r[0] for r in rows(grandmother)] == ["allowed"] * 3
    assert all("3517********0001" in r[2] for r in rows(grandmother))
    assert 'id="nik-filter"' in grandmother.text and NIK not in grandmother.text
    key = parse_qs(urlsplit(grandmother.url).query)["nik"][0]
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    # Another filter changed with the NIK field left empty keeps the NIK's hash.
    kept = filtered(admin, nik_hash=key, outcome="answered")
    assert len(rows(kept)) == 3
    assert rows(filtered(admin, nik=NIK, outcome="refused")) == []
    assert len(rows(filtered(admin, nik=OTHER_NIK))) == 1

    # By date: the WIB day the rows show, and a day long before.
    day = re.search(r"\d{4}-\d{2}-\d{2}", by_kiosk[0][2])
    assert day is not None
    assert len(rows(filtered(admin, kiosk="kiosk-01", start=day[0], end=day[0]))) == 4
    assert rows(filtered(admin, end="2020-01-01")) == []
    assert rows(filtered(admin, office=OTHER_OFFICE))[0][0] == "kiosk_budget"
    assert len(rows(filtered(admin, outcome="refused"))) == 1

    # Reading is audited: who, and the searched NIK masked, never in clear.
    logged = [r.getMessage() for r in caplog.records if r.name == "central_server.audit"]
    assert any("card-holder audit searched by admin for nik=3517********0001" in m for m in logged)
    assert any(m.startswith("card-holder audit read by admin: kiosk=kiosk-01") for m in logged)
    assert not any(NIK in m or OTHER_NIK in m for m in caplog.messages)


def test_only_an_admin_may_open_the_audit(looked_up: Central, officer: Staff) -> None:
    assert officer.get(PAGE).status_code == 403
    assert 'href="/officer/card-holder-lookups"' not in officer.get("/officer/applications").text
    technician = Staff(looked_up.url, "teknisi")
    assert technician.get(PAGE).status_code == 403
    assert "3517****" not in technician.get(PAGE).text
    assert officer.post(PAGE, {"nik": NIK}).status_code == 403
    # The fleet page of the kiosk over its budget counts its 5 refusals (one row) for both;
    # the admin's has a link to its audit.
    calm = technician.get("/fleet/kiosks/kiosk-sby").text
    assert 'id="lookup-refusals" data-count="5"' in calm and "lookup-audit-link" not in calm
    fleet = Staff(looked_up.url, "admin").get("/fleet/kiosks/kiosk-sby").text
    assert f'id="lookup-audit-link" href="{PAGE}?kiosk=kiosk-sby"' in fleet
    stranger = requests.get(looked_up.url + PAGE, allow_redirects=False, timeout=10)
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/login")


def test_the_filter_form_needs_its_csrf_token_and_a_whole_nik(looked_up: Central) -> None:
    admin = Staff(looked_up.url, "admin")
    assert admin.post(PAGE, {"nik": NIK}, csrf=False).status_code == 403
    short = admin.post(PAGE, {"nik": NIK[:15]})
    assert short.status_code == 422 and "NIK yang dicari harus 16 angka" in short.text
    assert NIK[:15] not in short.text
    for hostile in ("a\x00b", "٣٥١٧٠١٤٥٠١٢٠٠٠٠١"):  # NUL, Arabic-Indic digits
        assert admin.post(PAGE, {"nik": hostile, "kiosk": hostile}).status_code in (303, 422)
    # Addresses no form makes: ignored filters, never an error.
    for query in ("nik=zz", "start=kemarin", "page=0", f"page={'9' * 20}", "kiosk=%00"):
        assert admin.get(f"{PAGE}?{query}").status_code in (200, 422), query
