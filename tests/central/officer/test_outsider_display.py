"""The waiting-room display's stream attacked from outside, over HTTP on loopback (SQLite and
PostgreSQL): an office that does not exist or a path trick gets a 404 that quotes nothing (on
the TV a page for the technician, JSON for a client asking for JSON), a Last-Event-ID too long
for an integer is ignored (not a 500), and the streams one process serves are bounded (503 past
the bound; a place frees when a display hangs up)."""

from __future__ import annotations

import pytest
import requests

from central_server.queue import hub
from tests.central.conftest import wait_for
from tests.central.officer.conftest import OFFICE, Central
from tests.central.officer.display_stream import Events


@pytest.mark.parametrize("office", ["9999", "351%2F..", "3517%00", "x" * 300])
def test_a_display_of_an_office_that_does_not_exist_is_refused_without_an_echo(
    central: Central, office: str
) -> None:
    json = {"Accept": "application/json"}
    for path in ("", "/state", "/events"):
        r = requests.get(f"{central.url}/display/{office}{path}", headers=json, timeout=10)
        assert r.status_code == 404, (path, r.status_code)
        assert "9999" not in r.text and "xxxx" not in r.text and "351" not in r.text, r.text
        if "%2F" not in office:  # a slash in the path: no display route at all
            assert "kantor tidak dikenal" in r.json()["detail"]["message"]
    assert central.app.state.displays.connected() == 0


@pytest.mark.parametrize("office", ["9999", "3517%00", "x" * 300, "%3Cb%3E3517"])
def test_a_tv_opening_the_display_of_an_unknown_office_gets_a_page_for_the_technician(
    central: Central, office: str
) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    r = requests.get(f"{central.url}/display/{office}", headers=browser, timeout=10)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Kode kantor pada alamat layar ini tidak dikenal" in r.text
    assert "The office code in this display's address is not known" in r.text
    assert "<code>/display/</code> diikuti kode kantor 4 angka" in r.text  # what to check
    assert "<script" not in r.text and "script-src 'self'" in r.headers["content-security-policy"]
    for echoed in ("9999", "xxxx", "3517", "&lt;b&gt;", "<b>", "%3C"):
        assert echoed not in r.text, echoed  # the path is not quoted, escaped or not
    assert requests.get(f"{central.url}/display/{office}", timeout=10).status_code == 404
    assert requests.get(f"{central.url}/display/{OFFICE}", headers=browser, timeout=10).ok


def test_a_last_event_id_too_long_for_an_integer_is_ignored(central: Central) -> None:
    r = requests.get(
        f"{central.url}/display/{OFFICE}/events",
        headers={"Last-Event-ID": "9" * 4400},
        stream=True,
        timeout=10,
    )
    try:
        assert r.status_code == 200
        first = next(r.iter_lines(decode_unicode=True))
        assert first.startswith(("retry:", "event: state", ":")), first
    finally:
        r.close()


def test_display_streams_are_bounded_per_office(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub, "MAX_STREAMS_PER_OFFICE", 3)
    monkeypatch.setattr(hub, "KEEPALIVE_S", 0.2)  # a hung-up display is noticed on a write
    url = f"{central.url}/display/{OFFICE}/events"
    open_ = [Events(url) for _ in range(3)]
    try:
        for events in open_:
            events.wait("state")
        r = requests.get(url, stream=True, timeout=10)
        assert r.status_code == 503
        assert "terlalu banyak layar" in r.text
        open_.pop().close()  # a display hangs up: its place frees
        wait_for(lambda: central.app.state.displays.connected() < 3)
        again = Events(url)
        open_.append(again)
        again.wait("state")
    finally:
        for events in open_:
            events.close()
