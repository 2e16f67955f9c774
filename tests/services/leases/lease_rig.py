"""The set-up the lease tests share: a kiosk with a fresh receipt-sealing key, enrolled at the
test server (tests/services/outbox_rig.start_server) as the lease kiosk of office 3517."""

from __future__ import annotations

from kiosk_app.central import CentralClient
from kiosk_app.services import receipt_seal
from kiosk_app.services.leases import ReceiptSigner
from tests.services.outbox_rig import KIOSK_ID

# Enrolment and the first grant share their server's busy test process.
ENROL_TIMEOUT_S = 30.0


def lease_kiosk(
    base_url: str, *, timeout: float = ENROL_TIMEOUT_S, verify_base: str = ""
) -> tuple[ReceiptSigner, CentralClient]:
    """A new signing key and a central client that enrols with its public half at base_url."""
    signer = ReceiptSigner(
        receipt_seal.new_key(), kiosk_id=KIOSK_ID, office_code="3517", verify_base=verify_base
    )
    central = CentralClient(
        base_url,
        KIOSK_ID,
        "3517",
        enrol_as="lease kiosk",
        signing_key=signer.public_key,
        timeout=timeout,
    )
    return signer, central
