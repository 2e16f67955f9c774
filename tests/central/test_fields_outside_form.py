"""Fields outside the submitted service's form (or outside the variant the values choose) hold the
application for an officer, named in a bounded reason; the values are stored as sent and shown to
the officer apart from the form, escaped. Nothing is refused or lost, single or batch, over HTTP
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from central_server import content
from central_server.auth import create_user
from central_server.models import Application
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.form_variants import submitted_values
from tests.central.conftest import OFFICE, TODAY
from tests.central.officer.conftest import PASSWORD, Staff
from tests.central.test_services_submission import (
    APPLICANT,
    APPLICANT_NIK,
    Rig,
    every_case,
    rig,
)
from tests.domain.service_values import CONTACT, kk_new_member, kk_split

__all__ = ["rig"]  # the fixture, shared with the submission tests

GOOD = sample_birth_values(TODAY) | CONTACT
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def stored(rig: Rig, number: str) -> Application:
    """The application as the database holds it."""
    db = rig.app.state.db  # type: ignore[attr-defined]
    with db.transaction() as session:
        app = session.scalar(select(Application).where(Application.registration_number == number))
        assert app is not None
        return app


def officer(rig: Rig) -> Staff:
    """An officer of the kiosk's office, logged in."""
    create_user(rig.app.state.db, "petugas", PASSWORD, "officer", office_code=OFFICE)  # type: ignore[attr-defined]
    return Staff(rig.client.base_url, "petugas")


def test_what_a_kiosk_sends_for_every_service_and_variant_is_inside_its_form() -> None:
    """The kiosk's own values (variant left-overs dropped, an attendant's stamp added) hold
    nothing: only what no kiosk of ours sends does."""
    for service, values in every_case():
        sent = submitted_values(service, values) | {"assisted_by": "ATT-1", "assisted_kind": "x"}
        assert content.outside_form(service, sent) == [], service
    split_left_over = kk_new_member() | {"new_head_name": "ARIF SANTOSO"}
    assert content.outside_form("perubahan_kk", split_left_over) == ["new_head_name"]
    assert (
        content.outside_form("perubahan_kk", submitted_values("perubahan_kk", split_left_over))
        == []
    )


def test_a_field_outside_the_form_holds_the_application_and_the_officer_sees_it_apart(
    rig: Rig,
) -> None:
    data = GOOD | {"hobby": SCRIPT, "x_note": "   "}
    number = rig.submit("akta_kelahiran", data)
    app = stored(rig, number)
    assert app.status == "submitted"  # admitted, its place kept
    assert app.hold_reason == "isian di luar formulir layanan ini: hobby"  # the blank holds none
    assert json.loads(app.data_json) == data  # stored exactly as sent
    page = officer(rig).get(f"/officer/applications/{number}").text
    assert 'id="hold-reason"' in page and "isian di luar formulir layanan ini: hobby" in page
    assert SCRIPT not in page and "&lt;script&gt;alert(" in page
    form, outside = page.split('id="outside-form"')
    assert "hobby" not in form.split("<h2>Isian formulir</h2>")[1]
    assert '<tr data-field="hobby"><td><code>hobby</code></td>' in outside
    assert '<tr data-field="x_note">' in outside and "(kosong)" in outside


def test_a_field_of_another_variant_holds_a_kk_change(rig: Rig) -> None:
    data = kk_new_member() | CONTACT | {"new_head_name": "ARIF SANTOSO"}
    number = rig.submit("perubahan_kk", data)
    app = stored(rig, number)
    # (service_values dates count from the real today, after the server's: held for it too)
    assert app.hold_reason is not None
    assert app.hold_reason.startswith("isian di luar formulir layanan ini: new_head_name;")
    assert json.loads(app.data_json)["new_head_name"] == "ARIF SANTOSO"
    split = rig.submit("perubahan_kk", kk_split() | CONTACT)
    assert stored(rig, split).hold_reason is None  # the same field, in its own variant


def test_the_reason_is_bounded_however_many_fields_and_the_values_are_kept(rig: Rig) -> None:
    extra = {f"{n:02d}" + "z" * 62: "v" * 2000 for n in range(60)}
    number = rig.submit("akta_kelahiran", {**GOOD, **extra, "child_birth_date": "2026-13-01"})
    app = stored(rig, number)
    assert app.hold_reason is not None and len(app.hold_reason) <= content.MAX_REASON
    assert app.hold_reason.startswith("isian di luar formulir layanan ini: 00zzz")
    assert "(+55 lainnya)" in app.hold_reason
    assert json.loads(app.data_json).keys() >= extra.keys()
    page = officer(rig).get(f"/officer/applications/{number}").text
    assert page.count("<details>") == 60 and "selengkapnya (2000 huruf)" in page


@pytest.mark.parametrize("assisted", [False, True])
def test_queued_sends_with_outside_fields_are_held_never_refused(rig: Rig, assisted: bool) -> None:
    slot = rig.client.slots("akta_kelahiran", days=14)[0].slot
    stamp = {"assisted_by": "ATT-7", "assisted_kind": "lansia"} if assisted else {}
    extras: list[dict[str, str]] = [{}, {"foo": "1"}, {"foo": ""}, {"a.b-c": SCRIPT}]
    items = [
        (
            uuid.uuid4().hex,
            {
                "service": "akta_kelahiran",
                "applicant_nik": APPLICANT_NIK,
                "applicant_name": APPLICANT,
                "data": GOOD | stamp | extra,
                "slot": slot,
            },
        )
        for extra in extras
    ]
    receipts = rig.client.submit_batch(items)
    held = [stored(rig, r.registration_number).hold_reason for r in receipts]  # type: ignore[union-attr]
    assert held == [
        None,
        "isian di luar formulir layanan ini: foo",
        None,
        "isian di luar formulir layanan ini: a.b-c",
    ]
