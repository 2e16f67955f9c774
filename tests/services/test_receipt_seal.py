"""The signed QR payload: round trip, and every way a seal can be altered or forged."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kiosk_app.services import receipt_seal
from kiosk_app.services.receipt_seal import ReceiptClaims, SealInvalid

CLAIMS = ReceiptClaims(
    reference="LOK-KIOSK-DEV-001-261207-0003",
    office="3517",
    service="akta_kelahiran",
    day=date(2026, 12, 8),
    window="08.00-11.00",
    issued_at=datetime(2026, 12, 6, 7, 15, 2, tzinfo=UTC),
    kiosk_id="KIOSK-DEV-001",
)


@pytest.fixture(scope="module")
def key() -> receipt_seal.Ed25519PrivateKey:
    return receipt_seal.new_key()


def keys_of(key: receipt_seal.Ed25519PrivateKey) -> dict[str, bytes]:
    return {CLAIMS.kiosk_id: receipt_seal.public_key_from_text(receipt_seal.public_key_text(key))}


def test_round_trip_through_a_verification_url(key: receipt_seal.Ed25519PrivateKey) -> None:
    sealed = receipt_seal.seal(CLAIMS, key)
    assert len(sealed) < 250
    text = receipt_seal.qr_text(sealed, "https://anjungan.example.go.id/")
    assert text.startswith("https://anjungan.example.go.id/r/AJ1.")
    found = receipt_seal.parse_qr(text)
    assert found == sealed
    assert receipt_seal.verify(found, keys_of(key).get) == CLAIMS
    assert receipt_seal.read(sealed) == CLAIMS


def test_a_bare_registration_number_is_not_a_seal() -> None:
    assert receipt_seal.parse_qr("AKTA-35.17.261122.0007") is None
    assert receipt_seal.parse_qr("x" * 5000) is None


def test_each_altered_claim_is_refused(key: receipt_seal.Ed25519PrivateKey) -> None:
    sealed = receipt_seal.seal(CLAIMS, key)
    head, body, signature = sealed.split(".")
    original = receipt_seal._unb64(body).decode()
    for old, new in (("20261208", "20261209"), ("08.00-11.00", "13.00-15.00"), ("3517", "3518")):
        forged_body = receipt_seal._b64(original.replace(old, new).encode())
        with pytest.raises(SealInvalid) as caught:
            receipt_seal.verify(f"{head}.{forged_body}.{signature}", keys_of(key).get)
        assert caught.value.reason == "bad_signature"


def test_a_seal_by_another_key_is_forged(key: receipt_seal.Ed25519PrivateKey) -> None:
    forged = receipt_seal.seal(CLAIMS, receipt_seal.new_key())
    with pytest.raises(SealInvalid) as caught:
        receipt_seal.verify(forged, keys_of(key).get)
    assert caught.value.reason == "bad_signature"
    with pytest.raises(SealInvalid) as unknown:
        receipt_seal.verify(forged, {}.get)
    assert unknown.value.reason == "unknown_kiosk"


@pytest.mark.parametrize(
    "text",
    ["", "AJ1", "AJ1.a.b", "AJ2.YQ.YQ", "AJ1.!!!.YQ", "AJ1." + "A" * 500 + ".YQ", "AJ1.YQ.YQ"],
)
def test_malformed_seals_are_refused_as_malformed(text: str) -> None:
    with pytest.raises(SealInvalid) as caught:
        receipt_seal.read(text)
    assert caught.value.reason == "malformed"


def test_claims_that_cannot_be_carried_are_refused(key: receipt_seal.Ed25519PrivateKey) -> None:
    for bad in (
        ReceiptClaims(**{**CLAIMS.__dict__, "reference": "A~B"}),
        ReceiptClaims(**{**CLAIMS.__dict__, "kiosk_id": "KIOSK ÜBER"}),
        ReceiptClaims(**{**CLAIMS.__dict__, "window": "pagi"}),
    ):
        with pytest.raises(SealInvalid):
            receipt_seal.seal(bad, key)
