"""The verification day's queue over HTTP on loopback (SQLite and PostgreSQL): kiosk check-in,
counters calling in order of arrival, priority lane, no-show and restore, transfer, finish,
two officers racing on "Panggil berikutnya", the displays' event stream and the spoken call."""

from __future__ import annotations

import io
import threading
import wave
from array import array
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from central_server.app import create_app
from central_server.embedded import EmbeddedServer
from central_server.queue.audio import chime
from central_server.queue.models import QueueEvent
from central_server.review_models import Arrival
from kiosk_app.services import receipt_seal
from tests.central.officer.conftest import (
    MONDAY,
    NIK,
    OFFICE,
    OTHER_OFFICE,
    Central,
    Staff,
    sealed_receipt,
)
from tests.central.officer.display_stream import Events

MORNING, AFTERNOON = "08.00-11.00", "13.00-15.00"


def book(central: Central, officer: Staff, count: int = 1, window: str = MORNING) -> list[str]:
    """`count` applications approved for Monday's `window`; registration numbers."""
    numbers = []
    for _ in range(count):
        number = central.submit(MONDAY, window)
        r = officer.act(number, "approve", slot=f"{MONDAY.isoformat()}|{window}")
        assert r.status_code == 303, r.text
        numbers.append(number)
    return numbers


def arrived(central: Central, officer: Staff, count: int) -> list[str]:
    """`count` booked citizens checked in on Monday morning, in booking order."""
    numbers = book(central, officer, count)
    central.at(MONDAY, 8)
    for number in numbers:
        assert check_in(central, registration_number=number).status_code == 200
    return numbers


def check_in(central: Central, office: str = OFFICE, **body: str) -> requests.Response:
    """POST /api/v1/checkin as a kiosk of `office`."""
    kiosk = "kiosk-01" if office == OFFICE else "kiosk-sby"
    return requests.post(
        f"{central.url}/api/v1/checkin", json=body, headers=central.kiosk(kiosk, office), timeout=10
    )


def counter(officer: Staff, number: int, action: str, **data: Any) -> requests.Response:
    """Press a counter button in the officer pages."""
    return officer.post(f"/officer/counters/{number}/{action}", {"office": OFFICE, **data})


def open_counter(officer: Staff, number: int, *services: str) -> None:
    """Open counter `number` for `services`."""
    r = officer.post(
        "/officer/counters/open",
        {"office": OFFICE, "number": str(number), "service": list(services) or ["akta_kelahiran"]},
    )
    assert r.status_code == 303, r.text


def call_next(officer: Staff, number: int) -> str | None:
    """Panggil berikutnya at `number`: the calling number now served there (None: nobody)."""
    r = counter(officer, number, "next")
    assert r.status_code == 303, r.text
    if r.headers["location"].endswith("ok=empty"):
        return None
    return serving(officer, number)


def serving(officer: Staff, number: int) -> str | None:
    """The number the counter page shows as served at `number`."""
    page = officer.get(f"/officer/counters?office={OFFICE}").text
    box = page[page.index(f'id="counter-{number}"') :]
    box = box[: box.index("</div>")]
    marker = 'class="serving">'
    if marker not in box:
        return None
    return box[box.index(marker) + len(marker) :].split("<", 1)[0]


def test_check_in_answers_the_calling_ticket_once_and_the_same_again(
    central: Central, officer: Staff
) -> None:
    first, second = book(central, officer, 2)
    central.at(MONDAY, 7, 30)
    r = check_in(central, registration_number=second)
    assert r.status_code == 200, r.text
    ticket = r.json()
    assert ticket["calling_number"] == "A-002"  # its queue number from the booking
    assert ticket["registration_number"] == second
    assert ticket["service"] == "akta_kelahiran"
    assert ticket["service_name"] == "Akta Kelahiran"
    assert ticket["counter_group"] == "Pencatatan Sipil"
    assert (ticket["people_ahead"], ticket["repeat"], ticket["window"]) == (0, False, MORNING)
    r = check_in(central, seal=first)  # the ticket's QR: today the bare registration number
    assert r.status_code == 200, r.text
    assert (r.json()["calling_number"], r.json()["people_ahead"]) == ("A-001", 1)
    assert r.json()["estimated_wait_minutes"] == 10  # one ahead, no counter open yet
    again = check_in(central, nik=NIK)  # card tap: both bookings are the holder's; one answer
    assert again.status_code == 200
    assert again.json()["repeat"] is True
    assert again.json()["calling_number"] in ("A-001", "A-002")
    assert check_in(central, registration_number=second).json() == {**ticket, "repeat": True}
    with central.app.state.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Arrival)) == 2  # no second number


@pytest.mark.parametrize(
    ("day", "hour", "code", "extra"),
    [
        (MONDAY, 6, "too_early", {"come_back_at": "07.00"}),
        (MONDAY, 11, "too_late", {}),
        (date(2026, 11, 20), 9, "other_day", {}),
        (date(2026, 11, 24), 9, "other_day", {}),
    ],
)
def test_check_in_refuses_outside_the_booked_window(
    central: Central, officer: Staff, day: date, hour: int, code: str, extra: dict[str, str]
) -> None:
    [number] = book(central, officer)
    central.at(day, hour)
    r = check_in(central, registration_number=number)
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert detail["code"] == code
    assert (detail["date"], detail["window"]) == ("2026-11-23", MORNING)
    for key, value in extra.items():
        assert detail[key] == value
    with central.app.state.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Arrival)) == 0


def test_check_in_refuses_unknown_unready_and_other_office_bookings(
    central: Central, officer: Staff
) -> None:
    [number] = book(central, officer)
    waiting_for_review = central.submit(MONDAY, MORNING)
    central.at(MONDAY, 8)
    assert check_in(central, registration_number="AKTA-35.17.261123.9999").json() == {
        "detail": {"code": "not_found", "message": "unknown registration number"}
    }
    assert check_in(central, nik="3517999999999999").status_code == 404
    r = check_in(central, registration_number=waiting_for_review)
    assert (r.status_code, r.json()["detail"]["code"]) == (409, "not_ready")
    r = check_in(central, OTHER_OFFICE, registration_number=number)
    assert (r.status_code, r.json()["detail"]["code"]) == (409, "other_office")
    assert r.json()["detail"]["office_code"] == OFFICE
    assert check_in(central, registration_number=number, nik=NIK).status_code == 422  # two
    assert check_in(central).status_code == 422  # none
    assert check_in(central, nik="35170145").status_code == 422  # not a NIK


def test_counters_call_in_order_of_arrival_with_priority_no_show_restore_transfer_finish(
    central: Central, officer: Staff
) -> None:
    numbers = book(central, officer, 5)
    central.at(MONDAY, 8)
    # They arrive in another order than they booked: arrival order is what counts.
    for index in (3, 1, 4, 0, 2):
        assert check_in(central, registration_number=numbers[index]).status_code == 200
    queue = ["A-004", "A-002", "A-005", "A-001", "A-003"]
    # The attendant puts the fifth to arrive (A-003, ibu hamil) in the priority lane.
    r = requests.post(
        f"{central.url}/api/v1/queue/priority",
        json={"registration_number": numbers[2], "reason": "ibu_hamil", "attendant": "Rina"},
        headers=central.kiosk(),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["priority"], r.json()["people_ahead"]) == ("ibu_hamil", 0)
    open_counter(officer, 1, "akta_kelahiran")
    open_counter(officer, 2, "akta_kelahiran", "kia")
    assert call_next(officer, 1) == "A-003"  # priority lane first
    assert call_next(officer, 2) == queue[0]
    assert counter(officer, 2, "next").status_code == 409  # still serving A-004
    # A-004 does not come: three calls, then set aside; fewer calls are refused.
    assert counter(officer, 2, "no_show").status_code == 409
    assert counter(officer, 2, "recall").status_code == 303
    assert counter(officer, 2, "recall").status_code == 303
    assert counter(officer, 2, "no_show").status_code == 303
    assert call_next(officer, 2) == queue[1]
    # Counter 1 sends A-003 to counter 2 after counter 2 is free again, finishing A-002 first.
    assert counter(officer, 2, "finish").status_code == 303
    assert counter(officer, 1, "transfer", target="2").status_code == 303
    assert call_next(officer, 1) == queue[2]  # the transferred one waits for counter 2
    assert call_next(officer, 2) == "A-003"  # transferred: called before the line
    assert counter(officer, 2, "finish").status_code == 303
    # A-004 comes back: restored at its arrival place, ahead of A-001.
    r = officer.post("/officer/counters/restore", {"office": OFFICE, "calling_number": "A-004"})
    assert r.status_code == 303, r.text
    assert call_next(officer, 2) == "A-004"
    assert counter(officer, 2, "finish").status_code == 303
    assert call_next(officer, 2) == "A-001"
    assert counter(officer, 2, "finish").status_code == 303
    assert call_next(officer, 2) is None  # nobody left for counter 2
    # Finishing moved the applications on: verified, visible to the kiosk's status look-up.
    status = requests.get(
        f"{central.url}/api/v1/applications/{numbers[1]}", headers=central.kiosk(), timeout=10
    ).json()
    assert status["status"] == "verified"
    page = officer.get(f"/officer/counters?office={OFFICE}").text
    assert 'id="no-show-total">1<' in page  # the no-show is counted though restored
    assert "Akta Kelahiran" in page[page.index('id="stats"') :]
    with central.app.state.db.transaction() as session:
        kinds = list(session.scalars(select(QueueEvent.kind).order_by(QueueEvent.id)))
    assert kinds.count("priority") == 1 and kinds.count("no_show") == 1
    assert kinds.count("transfer") == 1 and kinds.count("restore") == 1


def test_two_officers_pressing_next_together_never_get_the_same_citizen(
    central: Central, officer: Staff
) -> None:
    arrived(central, officer, 16)
    open_counter(officer, 1, "akta_kelahiran")
    open_counter(officer, 2, "akta_kelahiran")
    second = Staff(central.url, "admin")
    served: dict[int, list[str]] = {1: [], 2: []}
    errors: list[str] = []
    start = threading.Barrier(2)

    def work(staff: Staff, number: int) -> None:
        start.wait()
        try:
            while True:
                r = counter(staff, number, "next")
                if r.headers.get("location", "").endswith("ok=empty"):
                    return
                if r.status_code != 303:
                    errors.append(r.text)
                    return
                served[number].append(str(serving(staff, number)))
                if counter(staff, number, "finish").status_code != 303:
                    errors.append("finish failed")
                    return
        except Exception as exc:  # reported by the assertion below
            errors.append(repr(exc))

    threads = [
        threading.Thread(target=work, args=(officer, 1)),
        threading.Thread(target=work, args=(second, 2)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    everyone = served[1] + served[2]
    assert sorted(everyone) == [f"A-{n:03d}" for n in range(1, 17)]  # each exactly once
    with central.app.state.db.transaction() as session:
        calls = session.execute(
            select(QueueEvent.application_id, func.count())
            .where(QueueEvent.kind == "call")
            .group_by(QueueEvent.application_id)
        ).all()
    assert len(calls) == 16 and {count for _id, count in calls} == {1}


@pytest.fixture
def display(central: Central) -> Iterator[Events]:
    """A display of office 3517 connected to the server."""
    events = Events(f"{central.url}/display/{OFFICE}/events")
    yield events
    events.close()


def test_a_call_reaches_the_display_stream_and_a_reconnect_replays_it(
    central: Central, officer: Staff, display: Events
) -> None:
    [number] = book(central, officer)
    central.at(MONDAY, 8)
    first_state = display.wait("state")
    assert first_state["counters"] == [] and first_state["next"] == []
    assert check_in(central, registration_number=number).status_code == 200
    display.wait("state", lambda s: s["next"] == ["A-001"])
    open_counter(officer, 3, "akta_kelahiran")
    assert call_next(officer, 3) == "A-001"
    call = display.wait("call")
    assert call["calling_number"] == "A-001" and call["counter"] == 3
    assert call["text"] == "Nomor antrean A satu, silakan ke loket tiga"
    state = display.wait("state", lambda s: s["counters"] and s["counters"][0]["serving"])
    assert state["counters"][0] == {"number": 3, "serving": "A-001", "services": ["Akta Kelahiran"]}
    # A display that was away since before the call catches up: the call, then the state.
    late = Events(f"{central.url}/display/{OFFICE}/events", last_event_id=call["event_id"] - 1)
    try:
        assert late.wait("call")["calling_number"] == "A-001"
        assert late.wait("state")["counters"][0]["serving"] == "A-001"
        assert [k for k, _d in late.events][:2] == ["call", "state"]
    finally:
        late.close()
    # The server drops its streams (a restart): the stream ends, a new one starts with the state.
    assert central.app.state.displays.drop_streams() >= 1
    display.thread.join(timeout=10)
    assert not display.thread.is_alive()


def test_the_spoken_call_is_a_chime_then_espeak_in_indonesian(
    central: Central, officer: Staff, display: Events
) -> None:
    arrived(central, officer, 1)
    open_counter(officer, 3, "akta_kelahiran")
    assert call_next(officer, 3) == "A-001"
    audio = display.wait("call")["audio"]
    assert audio == f"/display/{OFFICE}/audio/A-001/3.wav"
    r = requests.get(f"{central.url}{audio}", timeout=60)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(r.content)) as wav:
        rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    samples = array("h", frames)
    chime_samples = len(chime(rate)) // 2
    voice = samples[chime_samples:]
    assert len(voice) > rate  # more than a second of speech after the chime
    assert max(abs(s) for s in voice) > 3000  # espeak-ng's voice, not silence
    assert requests.get(f"{central.url}{audio}", timeout=10).content == r.content
    # Only a call made today is spoken: anyone may ask, and each new sentence costs espeak-ng
    for other in ("A-002/3", "A-001/4", "bad/3", "A-001/100", "B-999/99"):
        refused = requests.get(f"{central.url}/display/{OFFICE}/audio/{other}.wav", timeout=10)
        assert refused.status_code == 404, other
    elsewhere = requests.get(f"{central.url}/display/3578/audio/A-001/3.wav", timeout=10)
    assert elsewhere.status_code == 404


def test_the_display_page_has_no_inline_script(central: Central) -> None:
    r = requests.get(f"{central.url}/display/{OFFICE}", timeout=10)
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert '<script src="/static/display.js" defer></script>' in r.text
    assert r.text.count("<script") == 1
    assert requests.get(f"{central.url}/display/9999", timeout=10).status_code == 404


def test_two_app_servers_on_one_postgresql_a_call_on_one_shows_on_the_other(
    central: Central, officer: Staff, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY across app servers is PostgreSQL's")
    other = create_app(
        database_url,
        today=lambda: central.calendar["today"],
        secret_key="test-session-key-0123456789abcdef",
    )
    server_b = EmbeddedServer(other, "127.0.0.1", 0).start()
    try:
        [number] = book(central, officer)
        central.at(MONDAY, 8)
        on_b = Events(f"{server_b.base_url}/display/{OFFICE}/events")
        try:
            on_b.wait("state")
            assert check_in(central, registration_number=number).status_code == 200
            on_b.wait("state", lambda s: s["next"] == ["A-001"])  # checked in through A
            open_counter(officer, 1, "akta_kelahiran")
            assert call_next(officer, 1) == "A-001"  # called through server A
            assert on_b.wait("call")["calling_number"] == "A-001"  # shown by server B
        finally:
            on_b.close()
    finally:
        server_b.stop()


def test_check_in_with_the_signed_seal_of_the_receipts_qr(central: Central, officer: Staff) -> None:
    [number] = book(central, officer)
    key = receipt_seal.new_key()
    r = requests.post(
        f"{central.url}/api/v1/kiosks",
        json={
            "kiosk_id": "kiosk-seal",
            "office_code": OFFICE,
            "name": "Lobi",
            "signing_key": receipt_seal.public_key_text(key),
        },
        timeout=10,
    )
    assert r.status_code == 201, r.text
    sealed = sealed_receipt(number, MONDAY, "kiosk-seal", key)
    central.at(MONDAY, 8)
    forged = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    r = check_in(central, seal=receipt_seal.qr_text(forged, central.url))
    assert (r.status_code, r.json()["detail"]["code"]) == (409, "bad_seal")
    r = check_in(central, seal=receipt_seal.qr_text(sealed, central.url))
    assert r.status_code == 200, r.text
    assert (r.json()["registration_number"], r.json()["calling_number"]) == (number, "A-001")


def test_one_ticket_scanned_on_two_kiosks_at_once_is_one_arrival(
    central: Central, officer: Staff
) -> None:
    numbers = book(central, officer, 6)
    central.at(MONDAY, 8)
    central.kiosk()  # enrolled before the race
    answers: list[requests.Response] = []
    start = threading.Barrier(2)

    def scan(number: str) -> None:
        start.wait()
        answers.append(check_in(central, registration_number=number))

    for number in numbers:
        start.reset()
        threads = [threading.Thread(target=scan, args=(number,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert [r.status_code for r in answers] == [200] * 12
    assert sorted(r.json()["repeat"] for r in answers) == [False] * 6 + [True] * 6
    with central.app.state.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Arrival)) == 6


def test_officer_grants_priority_and_closing_a_counter_puts_its_citizen_back(
    central: Central, officer: Staff
) -> None:
    numbers = arrived(central, officer, 3)
    r = officer.post(
        "/officer/counters/priority",
        {"office": OFFICE, "registration_number": numbers[2], "reason": "lansia"},
    )
    assert r.status_code == 303, r.text
    r = officer.post(
        "/officer/counters/priority",
        {"office": OFFICE, "registration_number": numbers[1], "reason": "vip"},
    )
    assert r.status_code == 422  # only lansia, disabilitas, ibu hamil
    open_counter(officer, 1, "akta_kelahiran")
    assert call_next(officer, 1) == "A-003"  # the officer's priority grant
    assert counter(officer, 1, "close").status_code == 303
    page = officer.get(f"/officer/counters?office={OFFICE}").text
    waiting = page[page.index('id="waiting"') :]
    assert "A-003" in waiting and "Lansia" in waiting  # back in line, still in priority lane
    with central.app.state.db.transaction() as session:
        grant = session.scalars(select(QueueEvent).where(QueueEvent.kind == "priority")).one()
    assert (grant.actor, grant.note, grant.calling_number) == ("petugas", "Lansia", "A-003")
