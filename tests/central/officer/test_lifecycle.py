"""The application lifecycle driven through the officer pages over HTTP."""

from __future__ import annotations

import re
import time

import requests

from tests.central.officer.conftest import MONDAY, TUESDAY, Central, Staff


def status_of(central: Central, number: str) -> dict[str, object]:
    """The kiosk's status look-up."""
    r = requests.get(
        f"{central.url}/api/v1/applications/{number}", headers=central.kiosk(), timeout=10
    )
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(predicate: object, timeout_s: float = 60.0) -> None:
    """Poll until predicate() is true (the outbox worker runs on its own thread)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_full_lifecycle_with_history_and_notifications(central: Central, officer: Staff) -> None:
    number = central.submit()
    assert officer.act(number, "review").status_code == 303
    r = officer.act(number, "approve", slot=f"{TUESDAY.isoformat()}|13.00-15.00")
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("?ok=approve")
    assert status_of(central, number)["slot"] == {"date": "2026-11-24", "window": "13.00-15.00"}
    central.calendar["today"] = TUESDAY
    assert officer.act(number, "arrive").status_code == 303
    assert officer.act(number, "verify").status_code == 303
    r = officer.act(number, "issue", holder_name="Budi Santoso", holder_nik="3517010101260001")
    assert r.status_code == 303, r.text
    assert officer.act(number, "collect").status_code == 303
    status = status_of(central, number)
    assert status["status"] == "collected"
    assert status["status_text"]["id"] == "Dokumen sudah diambil"  # type: ignore[index]
    page = officer.get(f"/officer/applications/{number}").text
    history = page[page.index('id="history"') :]
    for label in (
        "Sedang diperiksa",
        "Disetujui",
        "Hadir di loket",
        "Terverifikasi",
        "Dokumen terbit",
        "Sudah diambil",
    ):
        assert label in history, label
    assert "tidak ada tindakan lagi" in page
    # one SMS and one email at submission and per transition (review, approve, verify, issue,
    # collect), the submission's first
    wait_for(lambda: len(central.sms.sent) >= 6 and len(central.email.sent) >= 6)
    assert "Pra-permohonan diterima" in central.sms.sent[0].body
    approved = next(m for m in central.sms.sent if "Selasa" in m.body)
    assert approved.recipient == "081234567890"
    assert "Selasa, 24 November 2026" in approved.body and "B-001" in approved.body
    assert all("3517014501200001" not in m.body and "Siti" not in m.body for m in central.sms.sent)


def test_illegal_transitions_are_refused_with_409(central: Central, officer: Staff) -> None:
    number = central.submit()
    r = officer.act(number, "verify")
    assert r.status_code == 409
    assert "tidak bisa dilakukan pada status" in r.text
    assert "cannot verify an application in state submitted" in r.text
    r = officer.act(number, "deliver", tracking="RESI1")
    assert r.status_code == 409
    assert officer.act(number, "reject", reason="").status_code == 422
    assert officer.act(number, "reject", reason="Dokumen palsu").status_code == 303
    r = officer.act(number, "approve", slot=f"{MONDAY.isoformat()}|08.00-11.00")
    assert r.status_code == 409
    assert status_of(central, number)["status"] == "rejected"
    assert officer.act(number, "teleport").status_code == 404


def test_ask_for_fix_with_notes_then_resubmit(central: Central, officer: Staff) -> None:
    number = central.submit()
    assert officer.act(number, "ask_fix", target=[""], note=[""]).status_code == 422
    r = officer.act(
        number,
        "ask_fix",
        target=["child_name", "dokumen:kk", ""],
        note=["Ejaan nama beda dengan surat lahir", "KK tidak terbaca", ""],
    )
    assert r.status_code == 303, r.text
    page = officer.get(f"/officer/applications/{number}").text
    assert "Nama lengkap anak</strong>: Ejaan nama beda dengan surat lahir" in page
    assert status_of(central, number)["status"] == "needs_fixing"
    wait_for(lambda: len(central.sms.sent) == 2)  # the submission's, then the fix request
    assert "- dokumen:kk: KK tidak terbaca" in central.sms.sent[1].body
    assert officer.act(number, "resubmit").status_code == 303
    page = officer.get(f"/officer/applications/{number}").text
    assert 'id="fix-notes"' not in page
    assert status_of(central, number)["status"] == "submitted"


def test_approval_respects_the_quota(central: Central, officer: Staff) -> None:
    admin = Staff(central.url, "admin")
    quotas = {
        f"quota_{s}": "10"
        for s in ("akta_kematian", "perubahan_kk", "cetak_ulang_ktp", "kia", "pindah")
    }
    r = admin.post("/officer/quotas", {"office": "3517", "quota_akta_kelahiran": "2", **quotas})
    assert r.status_code == 303, r.text
    first = central.submit(MONDAY, "08.00-11.00")
    second = central.submit(TUESDAY, "08.00-11.00")
    r = officer.act(second, "approve", slot=f"{MONDAY.isoformat()}|08.00-11.00")
    assert r.status_code == 409 and "sudah penuh" in r.text
    r = officer.act(second, "approve", slot="2026-11-19|08.00-11.00")  # today: not bookable
    assert r.status_code == 409
    r = officer.act(first, "reject", reason="Bukan warga Jombang")
    assert (
        officer.act(second, "approve", slot=f"{MONDAY.isoformat()}|08.00-11.00").status_code == 303
    )
    assert status_of(central, second)["slot"]["date"] == MONDAY.isoformat()  # type: ignore[index]


def test_arrival_queue_is_first_come_first_served(central: Central, officer: Staff) -> None:
    numbers = [central.submit(MONDAY, "08.00-11.00") for _ in range(3)]
    for number in numbers:
        assert (
            officer.act(number, "approve", slot=f"{MONDAY.isoformat()}|08.00-11.00").status_code
            == 303
        )
    assert officer.act(numbers[0], "arrive").status_code == 409  # not the slot day yet
    central.calendar["today"] = MONDAY
    for index in (2, 0):
        assert officer.act(numbers[index], "arrive").status_code == 303
    assert officer.act(numbers[2], "arrive").status_code == 409
    queue = officer.get("/officer/queue").text
    order = re.findall(r"/officer/applications/([A-Z]+-[\d.]+)\"", queue)
    assert order == [numbers[2], numbers[0], numbers[1]]
    assert "belum hadir" in queue and "3517********0001" in queue


def test_delivery_by_pos(central: Central, officer: Staff) -> None:
    pickup = central.submit()
    pos = central.submit(delivery="pos", contact_channel="whatsapp")
    for number in (pickup, pos):
        officer.act(number, "approve", slot=f"{MONDAY.isoformat()}|08.00-11.00")
    central.calendar["today"] = MONDAY
    for number in (pickup, pos):
        officer.act(number, "arrive")  # at the counter on the slot day
        officer.act(number, "verify")
        assert (
            officer.act(
                number, "issue", holder_name="Budi", holder_nik="3517010101260001"
            ).status_code
            == 303
        )
    assert officer.act(pickup, "deliver", tracking="RR123").status_code == 409
    assert officer.act(pos, "deliver", tracking="").status_code == 422
    assert officer.act(pos, "deliver", tracking="RR123456789ID").status_code == 303
    assert status_of(central, pos)["status"] == "delivered"
    wait_for(lambda: any("RR123456789ID" in m.body for m in central.sms.sent))


def test_no_document_before_the_citizen_came(central: Central, officer: Staff) -> None:
    """The penetration test's case: approve, verify, issue the day before the slot, no arrival."""
    number = central.submit()
    approved = officer.act(number, "approve", slot=f"{MONDAY.isoformat()}|08.00-11.00")
    assert approved.status_code == 303
    r = officer.act(number, "verify")  # the day before: nobody has arrived
    assert r.status_code == 409 and "belum ditandai hadir" in r.text
    r = officer.act(number, "arrive")
    assert r.status_code == 409 and "bukan hari ini" in r.text  # arrival only on the slot day
    r = officer.act(number, "issue", holder_name="Budi", holder_nik="3517010101260001")
    assert r.status_code == 409
    central.calendar["today"] = MONDAY
    assert officer.act(number, "arrive").status_code == 303
    assert officer.act(number, "verify").status_code == 303
    r = officer.act(number, "issue", holder_name="Budi", holder_nik="3517010101260001")
    assert r.status_code == 303
