"""Seal key rotation child: a kiosk's seal-key pieces on its data folder argv[2] (its key file
argv[5], else signing.key there), against the central server at argv[1] with the kiosk token
argv[3]. At start it seals a receipt ("SEAL <seal>"), carries on whatever rotation a kill cut
short (the lease keeper's check), and with a step name in argv[4] rotates its key, printing
"STOPPED <step>" and waiting to be SIGKILLed when the rotation reaches that step ("REFUSED
<why>" when the kiosk cannot rotate); at the end it prints "KEY <public key in use>"."""

from __future__ import annotations

import sys
import threading
from datetime import date
from pathlib import Path

from kiosk_app.central import CentralClient, CentralError
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.leases import LeaseKeeper, LeaseStore, ReceiptSigner
from kiosk_app.services.seal_key import SealKeyRegistrar, load_or_renew

KIOSK_ID = "KIOSK-ROTATE-1"
SERVICE = "akta_kelahiran"


def main(base_url: str, work: Path, token: str, stop_at: str, key_file: Path) -> None:
    """Seal, recover, rotate (stopping at `stop_at` if given), seal again."""
    loaded = load_or_renew(key_file, work)
    signer = ReceiptSigner(loaded.key, kiosk_id=KIOSK_ID, office_code="3517")
    central = CentralClient(base_url, KIOSK_ID, "3517", token=token, signing_key=signer.public_key)

    def step(name: str) -> None:
        if name == stop_at:
            print(f"STOPPED {name}", flush=True)
            threading.Event().wait()  # until the test kills this process

    registrar = SealKeyRegistrar(
        central,
        signer.public_key,
        renewed=loaded.renewed,
        key_file=loaded.path,
        use_key=signer.use,
        step=step,
    )
    keeper = LeaseKeeper(
        LeaseStore(work / "leases.db"), central, public_key=signer.public_key, registrar=registrar
    )

    def seal(what: str) -> None:
        sealed = signer.seal(f"LOK-{what}", SERVICE, Slot(date(2030, 1, 7), "08.00-11.00"))
        print(f"SEAL {sealed}", flush=True)

    seal("start")  # before the rotation, or during one a kill cut short
    keeper.check_seal_key()  # what the keeper's first round does
    seal("recovered")
    if stop_at:
        try:
            keeper.rotate_seal_key()
        except CentralError as exc:
            print(f"REFUSED {exc}", flush=True)
        seal("rotated")
    print(f"KEY {signer.public_key}", flush=True)


if __name__ == "__main__":
    work = Path(sys.argv[2])
    stop_at = sys.argv[4] if len(sys.argv) > 4 else ""
    main(
        sys.argv[1],
        work,
        sys.argv[3],
        stop_at,
        Path(sys.argv[5] if len(sys.argv) > 5 else work / "signing.key"),
    )
