"""The demo's verification day (`anjungan demo --journey arrival`): the citizen booked by touch
comes back on the booked day, scans the printed ticket's QR at the kiosk for a calling number,
an officer calls it from a counter, and the waiting-room display shows it (headless Chromium).

The kiosk's development server reads its "now" from the file named by ANJUNGAN_DEV_CLOCK
(central_server.sidecar): the demo books with the real date, then moves that clock to the
morning of the booked day.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

OFFICER, OFFICER_PASSWORD = "demo-petugas", "demo-petugas-rahasia-1"
COUNTER = 1
CHROMIUM = ("/usr/bin/chromium", "chromium", "chromium-browser")
LOGIN_CSRF_RE = re.compile(r'name="login_csrf" value="([^"]+)"')
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class OfficerPages:
    """An officer using the central server's pages over HTTP (login, forms with CSRF)."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        """Log in; RuntimeError when the server refuses."""
        import requests

        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.trust_env = False  # loopback: never through a proxy
        page = self.http.get(f"{self.base_url}/login", timeout=10)
        token = LOGIN_CSRF_RE.search(page.text)
        if token is None:
            raise RuntimeError("the login page has no CSRF token")
        r = self.http.post(
            f"{self.base_url}/login",
            data={"username": username, "password": password, "login_csrf": token.group(1)},
            allow_redirects=False,
            timeout=10,
        )
        if r.status_code != 303:
            raise RuntimeError(f"officer login refused: HTTP {r.status_code}")

    def post(self, path: str, data: dict[str, Any]) -> str:
        """POST a form; the redirect's location (RuntimeError unless the page redirects)."""
        page = self.http.get(f"{self.base_url}/officer/applications", timeout=10)
        token = CSRF_RE.search(page.text)
        if token is None:
            raise RuntimeError("no CSRF token on the officer pages")
        r = self.http.post(
            f"{self.base_url}{path}",
            data={**data, "csrf_token": token.group(1)},
            allow_redirects=False,
            timeout=10,
        )
        if r.status_code != 303:
            raise RuntimeError(f"POST {path}: HTTP {r.status_code}: {r.text[:200]}")
        return str(r.headers.get("location", ""))


def add_officer(database_url: str, office_code: str) -> None:
    """The demo's officer in the development server's (fresh) database."""
    from central_server.auth import create_user
    from central_server.db import Database

    db = Database(database_url)
    try:
        create_user(db, OFFICER, OFFICER_PASSWORD, "officer", office_code=office_code)
    finally:
        db.engine.dispose()


def morning_of(day: date, window: str) -> str:
    """Twenty minutes before the window starts on `day`, as the clock file's ISO text."""
    hours, _, minutes = window.partition("-")[0].partition(".")
    start = datetime(day.year, day.month, day.day, int(hours), int(minutes or 0))
    return (start - timedelta(minutes=20)).isoformat(timespec="minutes")


def screenshot_display(url: str, out: Path, work: Path) -> None:
    """The waiting-room display as Chromium draws it (headless, 1920x1080)."""
    chromium = next((c for c in CHROMIUM if shutil.which(c)), None)
    if chromium is None:
        raise RuntimeError("Chromium is not installed: no display.png")
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # the demo may run as root (CI containers)
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-proxy-server",
            f"--user-data-dir={work / 'chromium'}",
            "--window-size=1920,1080",
            "--timeout=8000",  # the event stream never ends: shoot once the page is drawn
            f"--screenshot={out}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"Chromium did not save {out.name}: {done.stderr[-500:]}")


def book_others(central: Any, officer: OfficerPages, slot: Any, count: int = 2) -> list[str]:
    """`count` more citizens booked for `slot` and approved (before the verification day);
    their registration numbers."""
    from kiosk_app.demo_data import sample_birth_values

    values = sample_birth_values()
    numbers = []
    for role in ("mother", "witness1", "witness2")[:count]:
        receipt = central.submit(
            service="akta_kelahiran",
            applicant_nik=values[f"{role}_nik"],
            applicant_name=values[f"{role}_name"],
            data={},
            slot=slot,
            idempotency_key=f"demo-arrival-{role}",
        )
        officer.post(
            f"/officer/applications/{receipt.registration_number}/approve",
            {"slot": f"{slot.date.isoformat()}|{slot.window}"},
        )
        numbers.append(receipt.registration_number)
    return numbers


def drive_arrival(
    pilot: Any, rec: Any, *, number: str, clock_file: Path, data_dir: Path, out_dir: Path
) -> dict[str, Any]:
    """From the booked ticket to the number on the display; what happened, for journey.json."""
    from kiosk_app.domain.session import SessionState as S

    app = pilot.app
    kiosk = app.kiosk
    central = kiosk.central
    office = central.office_code
    printer = kiosk.devices.ticket_printer
    with rec.step("approve"):  # an officer checks the pre-application and approves it
        status = central.status(number)
        add_officer(f"sqlite:///{(data_dir / 'central.db').resolve()}", office)
        officer = OfficerPages(central.base_url, OFFICER, OFFICER_PASSWORD)
        slot = status.slot
        officer.post(
            f"/officer/applications/{number}/approve",
            {"slot": f"{slot.date.isoformat()}|{slot.window}"},
        )
        others = book_others(central, officer, slot)  # they come after ours: the display's next
    clock_file.write_text(morning_of(slot.date, slot.window), encoding="utf-8")
    with rec.step("checkin"):  # the verification morning: the ticket's QR under the scanner
        pilot.wait_for_state(S.ATTRACT, timeout=30)
        rec.shot("verification-day")
        pilot.tap("checkin_open")
        pilot.wait_for_state(S.CHECKIN)
        rec.shot("checkin")
        import zxingcpp  # the scanner's eye on the printed ticket (the emulator's camera)
        from PIL import Image

        ticket_png = out_dir / "ticket.png"
        codes = [
            r.text
            for r in zxingcpp.read_barcodes(
                Image.open(ticket_png).convert("L"),
                formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
            )
        ]
        if not codes:
            raise RuntimeError("no QR code could be read off ticket.png")
        printed_before = len(printer.calling_tickets)
        kiosk.devices.barcode_scanner.scan(codes[0])
        pilot.wait_until(
            lambda: (
                app.view.checkin is not None
                and (app.view.checkin.result is not None or app.view.checkin.message is not None)
                and not app.view.checkin.loading
            ),
            timeout=20,
            what="the check-in's answer",
        )
        checkin = app.view.checkin
        if checkin.result is None:
            raise RuntimeError(f"check-in refused: {checkin.message.en if checkin.message else ''}")
        pilot.wait_until(
            lambda: len(printer.calling_tickets) > printed_before,
            timeout=20,
            what="the calling ticket",
        )
        rec.shot("calling-number")
        calling = checkin.result.calling_number
        shutil.copyfile(printer.last_png_path, out_dir / "queue_ticket.png")
        said = [w for w in kiosk.audio.spoken_words() if "antrean" in w.lower()]
        pilot.tap("checkin_back")
        pilot.wait_for_state(S.ATTRACT, timeout=30)
    with rec.step("others"):  # two more citizens check in after ours (the display's "next")
        waiting = [
            central.checkin(field="registration_number", value=n).calling_number for n in others
        ]
    with rec.step("call"):  # the officer opens counter 1 and presses "Panggil berikutnya"
        officer.post(
            "/officer/counters/open",
            {"office": office, "number": str(COUNTER), "service": status.service},
        )
        location = officer.post(f"/officer/counters/{COUNTER}/next", {"office": office})
        if location.endswith("ok=empty"):
            raise RuntimeError("the counter found nobody waiting")
    with rec.step("display"):
        screenshot_display(
            f"{central.base_url}/display/{office}", out_dir / "display.png", data_dir.parent
        )
    return {
        "calling_number": calling,
        "people_ahead": checkin.result.people_ahead,
        "estimated_wait_minutes": checkin.result.estimated_wait_minutes,
        "counter": COUNTER,
        "verification_day": slot.date.isoformat(),
        "window": slot.window,
        "spoken": said[-1] if said else "",
        "waiting_after": waiting,
    }
