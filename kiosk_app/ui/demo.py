"""Headless demo: drives the whole birth-certificate journey by touches and saves what it shows."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kiosk_app.ui.kivy_env import prepare_kivy

log = logging.getLogger(__name__)

CITIZEN = 0  # BUDI SANTOSO, the father in kiosk_app.demo_data.sample_birth_values
SERVICE = "akta_kelahiran"


class DemoRecorder:
    """Numbers the screenshots, times each step and counts its touches."""

    def __init__(self, out_dir: Path, pilot: Any) -> None:
        """Write into out_dir/screens."""
        self.out_dir = out_dir
        self.pilot = pilot
        self.screens: list[str] = []
        self.timings: dict[str, float] = {}
        self.step_taps: dict[str, int] = {}  # the citizen's touches (keys included) per step
        self.journey_taps: dict[str, int] = {}  # per journey, then "total"

    def shot(self, name: str) -> Path:
        """Save the next numbered screenshot, e.g. 05-form-keluarga.png."""
        self.screens.append(name)
        path = self.out_dir / "screens" / f"{len(self.screens):02d}-{name}.png"
        return Path(self.pilot.screenshot(path))

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time one step of the journey and count its touches."""
        start, taps = time.monotonic(), self.pilot.taps
        try:
            yield
        finally:
            self.timings[name] = round(time.monotonic() - start, 3)
            self.step_taps[name] = self.pilot.taps - taps

    @contextmanager
    def journey(self, name: str) -> Iterator[None]:
        """Count the touches of one journey (pre-application, arrival) and of all so far."""
        taps = self.pilot.taps
        try:
            yield
        finally:
            self.journey_taps[name] = self.pilot.taps - taps
            self.journey_taps["total"] = self.pilot.taps


def fill_page(pilot: Any, page: Any, values: dict[str, str]) -> None:
    """Enter every empty field of `page` (values prefilled from the e-KTP, or filled from a
    NIK typed above, are kept)."""
    from kiosk_app.domain.forms import FieldKind

    for spec in page.fields:
        wanted = values.get(spec.name, "")
        if not wanted or pilot.app.view.values.get(spec.name, ""):
            continue
        if spec.kind is FieldKind.NUMBER and spec.name.endswith("_count"):
            pilot.set_count(spec.name, int(wanted))  # a +/- picker sizes the list below it
        elif spec.kind in (FieldKind.TEXT, FieldKind.EMAIL, FieldKind.DIGITS, FieldKind.NUMBER):
            type_or_offer(pilot, spec.name, wanted, values)
        elif spec.kind is FieldKind.DATE:
            pilot.set_date(spec.name, wanted)
        elif spec.kind is FieldKind.TIME:
            pilot.set_time(spec.name, wanted)
        elif spec.kind is FieldKind.LIST:
            pilot.pick_listed(spec.name, wanted)
        elif spec.kind is FieldKind.REGION:  # type the place's name, touch it among the matches
            from kiosk_app.ui.widgets.regionpicker import current_regions

            pilot.pick_region(spec.name, current_regions().name(wanted) or wanted, wanted)
        else:
            pilot.choose(spec.name, wanted)


def type_or_offer(pilot: Any, name: str, wanted: str, values: dict[str, str]) -> None:
    """Type `wanted`, or touch the button beside the box when it offers it (another field's
    value the script gives the same, the office's town) or its last word (a parent's name
    after the child's first names)."""
    from kiosk_app.domain.formkit import same_as

    pilot.select_field(name)
    button = pilot.find("same_as") if pilot.exists("same_as") else None
    mode, fill = getattr(button, "mode", ""), getattr(button, "fill", "")
    copy = same_as(name, pilot.app.view.values)
    if copy is not None and values.get(copy[0]) == wanted:  # the same as a field above
        pilot.tap("same_as")
        return
    if mode == "prefix" and fill and wanted.startswith(fill):
        pilot.tap("same_as")
        pilot.type_into(name, wanted[len(fill) :], clear=False)
        return
    if mode == "fill" and fill == wanted:
        pilot.tap("same_as")
    elif mode == "append" and fill and wanted.endswith(f" {fill}"):
        pilot.type_into(name, wanted[: -len(fill) - 1])
        pilot.tap("same_as")
    else:
        pilot.type_into(name, wanted)
        return
    pilot.wait_until(lambda: pilot.app.view.values.get(name) == wanted, what=f"{name} offered")


def scan_one_document(pilot: Any, rec: DemoRecorder) -> None:
    """The scanning step: scan one page of the first document, then skip the others."""
    from kiosk_app.domain.session import SessionState as S

    app = pilot.app

    def scan_idle(pages: int | None = None, index: int | None = None) -> bool:
        scan = app.view.scan
        return (
            app.view.state is S.SCAN
            and scan is not None
            and not scan.busy
            and (index is None or scan.index == index)
            and (pages is None or (scan.current is not None and scan.current.pages == pages))
        )

    pilot.wait_for_state(S.SCAN)
    pilot.wait_until(scan_idle, what="scanner checked")
    rec.shot("scan")
    pilot.tap("scan_page")
    pilot.wait_until(lambda: scan_idle(pages=1), timeout=20, what="page scanned")
    pilot.idle(2)
    rec.shot("scan-page")
    pilot.tap("scan_next")
    pilot.wait_until(lambda: scan_idle(index=1), timeout=20, what="document saved")
    pilot.tap("scan_skip_all")


def pass_through(
    pilot: Any,
    rec: DemoRecorder,
    button: str,
    passing: str,
    then: str,
    what: str,
    timeout: float = 10,
) -> None:
    """Tap `button`; shoot the short-lived `passing` screen if a frame still shows it, then wait
    for the `then` state (a slow frame may skip `passing` altogether)."""
    pilot.tap(button)
    pilot.wait_until(lambda: pilot.state in (passing, then), what=what)
    if pilot.state == passing:
        rec.shot(passing)
    pilot.wait_for_state(then, timeout=timeout)


def drive_journey(pilot: Any, rec: DemoRecorder, values: dict[str, str]) -> str:
    """The citizen's whole journey; returns the registration number."""
    from kiosk_app.domain.session import SessionState as S

    app = pilot.app
    with rec.step("attract"):
        pilot.wait_for_state(S.ATTRACT)
        pilot.tap("lang_id")
        rec.shot("attract")
    with rec.step("read_card"):
        pass_through(pilot, rec, "sim_tap", "reading_card", "identity", what="card read")
        rec.shot("identity")
    with rec.step("menu"):
        pilot.tap("next")
        pilot.wait_for_state(S.MENU)
        rec.shot("menu")
        pilot.tap(f"service_{SERVICE}")
        pilot.wait_for_state(S.FORM)
    form = app.view.service.form
    for index, page in enumerate(form.pages):
        with rec.step(f"form-{page.key}"):
            pilot.wait_until(lambda i=index: app.view.page == i, what=f"form page {index}")
            pilot.idle(2)
            fill_page(pilot, page, values)
            pilot.idle(2)
            rec.shot(f"form-{page.key}")
            pilot.tap("next")
            pilot.wait_until(
                lambda i=index: (
                    app.view.state is not S.FORM or app.view.page != i or bool(app.view.errors)
                ),
                what=f"leaving form page {index}",
            )
            if app.view.state is S.FORM and app.view.errors and app.view.page == index:
                names = ", ".join(sorted(app.view.errors))
                raise RuntimeError(f"form page {page.key} rejected: {names}")
    with rec.step("scan"):
        scan_one_document(pilot, rec)
    with rec.step("schedule"):
        pilot.wait_for_state(S.SCHEDULE)
        pilot.wait_until(lambda: not app.view.slots_loading, what="slots loaded")
        pilot.wait_until(lambda: pilot.exists("slot_0"), what="first slot button")
        rec.shot("schedule")
        pilot.tap("slot_0")
    with rec.step("review"):
        pilot.wait_for_state(S.REVIEW)
        rec.shot("review")
        pilot.tap("scroll_down")
        rec.shot("review-scrolled")
    with rec.step("submit"):
        pass_through(pilot, rec, "submit", "submitting", "result", what="submitting", timeout=30)
        rec.shot("result")
    number = str(app.view.outcome.registration_number)
    with rec.step("survey"):  # the optional satisfaction survey: every answer by touch
        pilot.tap("finish")
        pilot.wait_for_state(S.SURVEY)
        rec.shot("survey")
        for page in range(app.view.survey.page_count):
            for element in app.view.survey.elements:
                pilot.tap(f"survey_{element.code}_4")
            if page + 1 < app.view.survey.page_count:
                pilot.tap("survey_next")
                pilot.wait_until(lambda p=page: app.view.survey.page == p + 1, what="survey page")
        pilot.wait_until(lambda: app.view.survey.complete, what="survey answered")
        rec.shot("survey-answered")
    with rec.step("goodbye"):
        # The goodbye lasts a few seconds: a slow frame may already show the attract screen.
        pass_through(pilot, rec, "survey_send", "goodbye", "attract", what="goodbye", timeout=30)
    return number


def _copy_prints(kiosk: Any, out_dir: Path) -> None:
    """Copy the simulated printers' last outputs to ticket.png and receipt.pdf."""
    ticket = getattr(kiosk.devices.ticket_printer, "last_png_path", None)
    if ticket is None or not Path(ticket).is_file():
        raise RuntimeError("the ticket printer produced no PNG")
    shutil.copyfile(ticket, out_dir / "ticket.png")
    receipt = getattr(kiosk.devices.document_printer, "last_pdf_path", None)
    if receipt is None or not Path(receipt).is_file():
        raise RuntimeError("the document printer produced no PDF")
    shutil.copyfile(receipt, out_dir / "receipt.pdf")


JOURNEYS = ("pre_application", "arrival")


def run_demo(out_dir: Path, journey: str = "pre_application") -> int:
    """Run the journey headless into `out_dir`; 0 when every step worked.

    "arrival" goes on to the verification day (kiosk_app.ui.demo_arrival): check-in, the
    calling ticket (queue_ticket.png), a counter's call and the display (display.png)."""
    if journey not in JOURNEYS:
        raise ValueError(f"journey must be one of {JOURNEYS}, not {journey!r}")
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out_dir / "screens", ignore_errors=True)
    report: dict[str, Any] = {
        "journey": journey,
        "screens": [],
        "registration_number": None,
        "timings": {},
        "taps": {},
        "ok": False,
    }
    work = Path(tempfile.mkdtemp(prefix="anjungan-demo-"))
    kiosk: Any = None
    app: Any = None
    rec: DemoRecorder | None = None
    started = time.monotonic()
    from central_server.sidecar import DEV_CLOCK_ENV  # the kiosk's development server

    clock_file = work / "central-clock"  # the development server's "now" (arrival)
    previous_clock = os.environ.get(DEV_CLOCK_ENV)
    if journey == "arrival":
        os.environ[DEV_CLOCK_ENV] = str(clock_file)  # the sidecar server inherits it
    try:
        prepare_kivy(headless=True, kivy_home=work / "kivy")
        from kiosk_app.bootstrap import build_kiosk
        from kiosk_app.config import load_config
        from kiosk_app.demo_data import sample_birth_values
        from kiosk_app.ui.app import AnjunganApp
        from kiosk_app.ui.pilot import Pilot

        config = load_config(
            None, output_dir=out_dir, data_dir=work / "data", headless=True, fullscreen=False
        )
        config.devices.card_read_delay_s = max(config.devices.card_read_delay_s, 0.8)
        kiosk = build_kiosk(config)
        app = AnjunganApp(kiosk, animate=False)
        app.start_embedded()
        pilot = Pilot(app)
        rec = DemoRecorder(out_dir, pilot)
        with rec.journey("pre_application"):
            number = drive_journey(pilot, rec, sample_birth_values())
        _copy_prints(kiosk, out_dir)
        report.update(registration_number=number)
        if journey == "arrival":
            from kiosk_app.ui.demo_arrival import drive_arrival

            with rec.journey("arrival"):
                report["arrival"] = drive_arrival(
                    pilot,
                    rec,
                    number=number,
                    clock_file=clock_file,
                    data_dir=work / "data",
                    out_dir=out_dir,
                )
        report.update(ok=True)
    except Exception as exc:  # the report says what failed; the exit code says that it failed
        log.error("demo failed: %s", exc)
        report["error"] = f"{type(exc).__name__}: {exc}"
        report["traceback"] = traceback.format_exc()
        if rec is not None and app is not None:
            try:
                rec.shot(f"failed-{app.view.state.value if app.view else 'start'}")
            except Exception:
                log.exception("could not save the failure screenshot")
    finally:
        if rec is not None:
            report["screens"] = rec.screens
            report["timings"] = rec.timings
            report["taps"] = {**rec.journey_taps, "steps": rec.step_taps}
        report["timings"]["total"] = round(time.monotonic() - started, 3)
        if app is not None:
            try:
                app.stop()
            except Exception:
                log.exception("stopping the app failed")
        if kiosk is not None:
            kiosk.close()
        if journey == "arrival":
            if previous_clock is None:
                os.environ.pop(DEV_CLOCK_ENV, None)
            else:
                os.environ[DEV_CLOCK_ENV] = previous_clock
        shutil.rmtree(work, ignore_errors=True)
        (out_dir / "journey.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return 0 if report["ok"] else 1
