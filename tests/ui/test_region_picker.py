"""The region picker driven by touches in the running kiosk, on a list downloaded from central."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kivy.core.window import Window

from central_server.db import Database
from central_server.regions import import_edition
from kiosk_app.central import CentralError
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets.regionpicker import RegionField, RegionPickerPopup
from tests.region_editions import write_edition

pytestmark = pytest.mark.ui

# Three villages called Sukamaju (or Suka Maju) that only their kecamatan/kabupaten tell apart.
EDITION: dict[str, dict[str, str]] = {
    "provinces": {"32": "JAWA BARAT", "35": "JAWA TIMUR"},
    "cities": {"3203": "KABUPATEN CIANJUR", "3205": "KABUPATEN GARUT", "3517": "KABUPATEN JOMBANG"},
    "districts": {
        "320301": "Cianjur",
        "320501": "Garut Kota",
        "320502": "Cilawu",
        "351709": "Jombang",
    },
    "villages": {
        "3203012001": "Sukamaju",
        "3205012001": "Sukamaju",
        "3205022001": "Suka Maju",
        "3205022002": "Sukaresmi",
        **{f"35170920{n:02d}": f"Sengon {n}" for n in range(1, 13)},
        "3517092013": "Sengon",
    },
}


def _open(pilot: Any, mode: str, lang: str = "id") -> RegionField:
    """A region field of the running kiosk with its picker opened in `mode`."""
    field = RegionField(level=4, lang=lang)
    field.open_picker(mode)
    pilot.wait_until(lambda: any(isinstance(w, RegionPickerPopup) for w in Window.children),
                     what="region picker")  # fmt: skip
    pilot.idle(3)
    return field


def _downloaded(pilot: Any, tmp_path: Path) -> None:
    """Import EDITION into the kiosk's embedded central server and let the kiosk fetch it."""
    deadline = time.monotonic() + 90  # the embedded server (a child process) may start slowly
    while True:
        try:
            pilot.kiosk.central.health()  # up, so it has made its database
            break
        except CentralError:
            if time.monotonic() > deadline:
                raise
    db = Database(f"sqlite:///{pilot.kiosk.config.data_dir.resolve() / 'central.db'}")
    try:
        db.create_all(())
        import_edition(db, write_edition(tmp_path / "edition", EDITION))
    finally:
        db.dispose()
    outcome = pilot.kiosk.regions.refresh()
    if outcome == "unavailable":  # a slow start made two enrolments race: enrol once more
        pilot.kiosk.central.register(pilot.kiosk.central.enrol_as)
        outcome = pilot.kiosk.regions.refresh()
    assert outcome in ("updated", "unchanged")
    assert pilot.kiosk.regions.source == "central"


def test_search_and_browse_by_touch(
    start_kiosk: Callable[..., Any], tmp_path: Path, artifacts: Path
) -> None:
    pilot = start_kiosk()
    _downloaded(pilot, tmp_path)
    field = _open(pilot, "search")
    assert pilot.find("region_title").text == "Pilih desa/kelurahan"
    keyboard = pilot.find("region_keyboard")
    for key in "SUKAMAJU":
        pilot._tap_attr("key", key, keyboard, settle=0)
    pilot.idle(3)
    assert pilot.find("region_query").text == "SUKAMAJU"
    buttons = [w for w in pilot.widgets() if str(getattr(w, "pilot_id", "")).startswith("region_3")]
    shown = {b.code: b.text for b in buttons}
    assert set(shown) == {"3203012001", "3205012001", "3205022001"}
    assert "Kec. Cilawu, Kab. Garut, Prov. Jawa Barat" in shown["3205022001"]
    assert "Kec. Cianjur, Kab. Cianjur" in shown["3203012001"]
    assert all(b.height >= theme.touch for b in buttons)  # at least 15 mm
    assert pilot.find("region_status").text.startswith("3 tempat")
    pilot.screenshot(artifacts / "region-picker-search.png")
    pilot.tap("region_3205022001")
    assert field.value == "3205022001"
    assert field.summary == "Desa Suka Maju, Kec. Cilawu, Kab. Garut, Prov. Jawa Barat"
    pilot.idle(2)
    assert not any(isinstance(w, RegionPickerPopup) for w in Window.children)
    # Browsing, in English this time: down to a kecamatan, page, back up by the breadcrumbs.
    field = _open(pilot, "search", "en")
    for key in ["Z", "Q"]:
        pilot._tap_attr("key", key, pilot.find("region_keyboard"), settle=0)
    pilot.idle(3)
    assert "Nothing found" in pilot.find("region_status").text
    pilot.tap("region_mode_browse")
    assert pilot.exists("region_32") and pilot.exists("region_35")
    assert pilot.find("region_up_all").text == "All provinces"
    pilot.tap("region_35")
    pilot.tap("region_3517")
    pilot.tap("region_351709")
    assert pilot.find("region_page_up").disabled and not pilot.find("region_page_down").disabled
    first_page = {
        w.pilot_id
        for w in pilot.widgets()
        if str(getattr(w, "pilot_id", "")).startswith("region_3517092")
    }
    assert len(first_page) == 12
    pilot.tap("region_page_down")
    assert pilot.exists("region_3517092012") and not pilot.exists("region_3517092011")
    pilot.tap("region_up_35")  # the breadcrumb goes back up to the province
    assert pilot.exists("region_3517") and not pilot.exists("region_351709")
    pilot.tap("region_up_all")
    assert pilot.exists("region_32") and pilot.exists("region_35")
    pilot.browse_region("3205012001")
    assert field.value == "3205012001"
    assert field.summary.startswith("Desa Sukamaju, Kec. Garut Kota, Kab. Garut")


def test_region_field_in_the_pindah_form(start_kiosk: Callable[..., Any], artifacts: Path) -> None:
    from kiosk_app.ui.demo import fill_page
    from tests.domain.service_values import pindah_out

    pilot = start_kiosk()  # never downloaded: the built-in sample
    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")
    pilot.tap("next")
    pilot.wait_for_state("menu")
    if not pilot.exists("service_pindah"):
        pytest.skip("the pindah service is not in this menu")
    pilot.tap("service_pindah")
    pilot.wait_for_state("form")
    values = pindah_out()
    form = pilot.app.view.service.form
    fill_page(pilot, form.pages[0], values)
    pilot.tap("next")
    pilot.wait_until(lambda: pilot.app.view.page == 1, what="the destination page")
    pilot.idle(3)
    pilot.select_field("dest_region")
    assert pilot.find("region_summary").text == "Belum dipilih"
    pilot.tap("region_search")
    pilot.search_region("dago", "3273021004")
    pilot.wait_until(lambda: pilot.app.view.values.get("dest_region") == "3273021004",
                     what="the picked region in the session")  # fmt: skip
    pilot.idle(3)
    row = pilot.find("field_dest_region")
    assert row.value_text == "Kel. Dago, Kec. Coblong, Kota Bandung, Prov. Jawa Barat"
    pilot.screenshot(artifacts / "region-field-form.png")
    pilot.tap("region_browse")  # opened again, then closed: the value stays
    pilot.tap("region_close")
    assert pilot.app.view.values.get("dest_region") == "3273021004"
    # A kecamatan-level field works the same way.
    field = RegionField(level=3, value="351708")
    assert field.summary == "Kec. Diwek, Kab. Jombang, Prov. Jawa Timur"
    field.open_picker("search")
    pilot.idle(3)
    assert pilot.find("region_title").text == "Pilih kecamatan"
    for key in [*"JOMB", "done"]:  # one match: "OK" picks it
        pilot._tap_attr("key", key, pilot.find("region_keyboard"), settle=0)
    pilot.idle(3)
    assert field.value == "351709"
    assert not any(isinstance(w, RegionPickerPopup) for w in Window.children)
