"""Issued document PDF with its QR, the public verification page, scans and quotas over HTTP."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import requests
import zxingcpp
from PIL import Image

from tests.central.officer.conftest import MONDAY, Central, Staff

HOLDER_NIK = "3517010101260001"


def issue(central: Central, officer: Staff) -> str:
    """Take an application to document_ready; returns its registration number."""
    number = central.submit()
    officer.act(number, "approve", slot=f"{MONDAY.isoformat()}|08.00-11.00")
    central.calendar["today"] = MONDAY
    officer.act(number, "arrive")  # at the counter on the slot day
    officer.act(number, "verify")
    r = officer.act(number, "issue", holder_name="Budi Santoso", holder_nik=HOLDER_NIK)
    assert r.status_code == 303, r.text
    return number


def test_pdf_qr_opens_the_public_verification_page(
    central: Central, officer: Staff, tmp_path: Path
) -> None:
    number = issue(central, officer)
    r = officer.get(f"/officer/applications/{number}/document.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "akta.pdf"
    pdf.write_bytes(r.content)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    document_number = re.search(r"3517-LU-23112026-\d{4}", text)
    assert document_number, text
    assert "3517********0001" in text and HOLDER_NIK not in text
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf), str(tmp_path / "p")],
        timeout=30,
        check=True,
    )
    picture = Image.open(tmp_path / "p.png").convert("L")
    (url,) = [
        code.text for code in zxingcpp.read_barcodes(picture, formats=zxingcpp.BarcodeFormat.QRCode)
    ]
    assert url.startswith(f"{central.url}/verify/"), url
    central.app.state.public_url = "https://anjungan.example.go.id/"  # the config's public_url
    again = officer.get(f"/officer/applications/{number}/document.pdf")
    pdf.write_bytes(again.content)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf), str(tmp_path / "q")],
        timeout=30,
        check=True,
    )
    (public,) = [
        c.text
        for c in zxingcpp.read_barcodes(
            Image.open(tmp_path / "q.png"), formats=zxingcpp.BarcodeFormat.QRCode
        )
    ]
    assert public == url.replace(central.url, "https://anjungan.example.go.id")
    central.app.state.public_url = None
    page = requests.get(url, timeout=10)
    assert page.status_code == 200
    assert "SAH dan AKTIF" in page.text and document_number.group(0) in page.text
    assert "Budi Santoso" in page.text and "3517********0001" in page.text
    assert HOLDER_NIK not in page.text
    admin = Staff(central.url, "admin")
    assert admin.act(number, "revoke", reason="Data kelahiran keliru").status_code == 303
    page = requests.get(url, timeout=10)
    assert "TIDAK AKTIF" in page.text and "Data kelahiran keliru" in page.text
    assert requests.get(f"{central.url}/verify/tidak-ada", timeout=10).status_code == 404


def test_holder_nik_is_checked(central: Central, officer: Staff) -> None:
    number = central.submit()
    officer.act(number, "approve", slot=f"{MONDAY.isoformat()}|08.00-11.00")
    officer.act(number, "arrive")  # at the counter on the slot day
    officer.act(number, "verify")
    r = officer.act(number, "issue", holder_name="Budi", holder_nik="12345")
    assert r.status_code == 422 and "16 angka" in r.text


def test_kiosk_scans_are_shown_to_the_officer(central: Central, officer: Staff) -> None:
    number = central.submit()
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, "PNG")
    png = buffer.getvalue()
    url = f"{central.url}/api/v1/applications/{number}/scans/kk"
    r = requests.put(
        url, data=png, headers={**central.kiosk(), "Content-Type": "image/png"}, timeout=10
    )
    assert r.status_code == 204, r.text
    assert (
        requests.put(
            url, data=b"x", headers={**central.kiosk(), "Content-Type": "text/html"}, timeout=10
        ).status_code
        == 415
    )
    html_as_png = requests.put(
        url,
        data=b"<html><script>alert(1)</script>",
        timeout=10,
        headers={**central.kiosk(), "Content-Type": "image/png"},
    )
    assert html_as_png.status_code == 415  # not a PNG inside
    assert (
        requests.put(url, data=png, headers={"Content-Type": "image/png"}, timeout=10).status_code
        == 401
    )
    # Another office's kiosk, and another kiosk of the same office: neither replaces a scan
    for other in (central.kiosk("kiosk-sby", "3578"), central.kiosk("kiosk-02")):
        refused = requests.put(
            url, data=b"\x89PNG\r\n\x1a\n" + png[8:] + b"evil", timeout=10,
            headers={**other, "Content-Type": "image/png"},
        )  # fmt: skip
        assert refused.status_code == 404, refused.text
    page = officer.get(f"/officer/applications/{number}").text
    assert f'/officer/applications/{number}/scans/kk"' in page
    scan = officer.get(f"/officer/applications/{number}/scans/kk")
    assert scan.content == png and scan.headers["content-type"] == "image/png"
    assert scan.headers["content-disposition"] == f'attachment; filename="{number}-kk.png"'
    assert "sandbox" in scan.headers["content-security-policy"]
    assert (
        requests.get(
            f"{central.url}/officer/applications/{number}/scans/kk",
            allow_redirects=False,
            timeout=10,
        ).status_code
        == 303
    )


def test_quota_form_changes_what_kiosks_can_book(central: Central, officer: Staff) -> None:
    page = officer.get("/officer/quotas").text
    assert 'name="quota_akta_kelahiran" type="number" min="0" max="300" value="50"' in page
    fields = dict(
        re.findall(r'name="(quota_\w+)" type="number" min="0" max="300" value="(\d+)"', page)
    )
    r = officer.post("/officer/quotas", {"office": "3517", **fields, "quota_akta_kelahiran": "4"})
    assert r.status_code == 303
    slots = requests.get(
        f"{central.url}/api/v1/slots",
        params={"service": "akta_kelahiran"},
        headers=central.kiosk(),
        timeout=10,
    ).json()
    assert {s["remaining"] for s in slots} == {2}
    bad = officer.post("/officer/quotas", {"office": "3517", **fields, "quota_kia": "-1"})
    assert bad.status_code == 422
    assert officer.post("/officer/quotas", {"office": "3578", **fields}).status_code == 404
