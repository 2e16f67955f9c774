"""Card insertion to complete identity (photo included) through pcscd, against a bare pyscard floor.

Runs the namespaced test bed (pcscd + vpcd + virtual e-KTP + virtual SAM). The driver's APDUs are
recorded on a warm-up read; the floor replays the very same APDUs with bare smartcard.scard calls
(authentication answers computed live through the SAM), from the same insertion, through the same
card detection. Last line: one JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smartcard import scard

from drivers.card_reader import pcsc
from drivers.card_reader.pcsc_link import CardLink
from drivers.card_reader.protocol import CardInserted, IdentityRead
from drivers.card_reader.virtual.testbed import CARD_READER, SAM_READER, Testbed

RUNS = int(os.environ.get("CARD_READ_RUNS", "30"))
TIMEOUT_S = 5.0
AUTH_INS = {0x84, 0x82}  # GET CHALLENGE, MUTUAL AUTHENTICATE: answers differ every time


def _p95(values: list[float]) -> float:
    """95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def _slot_empty(ctx: int) -> None:
    """Wait until pcscd sees the card slot empty."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        hr, st = scard.SCardGetStatusChange(ctx, 0, [(CARD_READER, scard.SCARD_STATE_UNAWARE)])
        if hr == scard.SCARD_S_SUCCESS and st[0][1] & scard.SCARD_STATE_EMPTY:
            return
        time.sleep(0.01)
    raise RuntimeError("card slot never became empty")


def measure_driver(bed: Testbed, ctx: int) -> tuple[list[float], list[float], list[bytes]]:
    """Insertion -> IdentityRead through PcscCardReader; also records the driver's APDUs."""
    recorded: list[bytes] = []
    original = CardLink.transmit

    def recording(self: CardLink, apdu: bytes) -> bytes:
        if self.atr[-9:-1] == b"ANJ-EKTP":  # the e-KTP, not the SAM
            recorded.append(bytes(apdu))
        return original(self, apdu)

    marks: dict[str, float] = {}
    done = threading.Event()

    def listener(event: object) -> None:
        if isinstance(event, CardInserted):
            marks["inserted"] = time.perf_counter()
        elif isinstance(event, IdentityRead):
            marks["identity"] = time.perf_counter()
            done.set()

    reader = pcsc.PcscCardReader()
    reader.start(listener)
    totals, reads = [], []
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while reader.status()["pcsc_state"] != "no_card" and time.monotonic() < deadline:
            time.sleep(0.01)
        for run in range(RUNS + 1):
            CardLink.transmit = recording if run == 0 else original  # type: ignore[method-assign]
            done.clear()
            start = time.perf_counter()
            bed.insert(run % 6)
            if not done.wait(TIMEOUT_S):
                raise RuntimeError("no identity within the timeout")
            if run:  # run 0 is the warm-up that records the APDUs
                totals.append((marks["identity"] - start) * 1000)
                reads.append((marks["identity"] - marks["inserted"]) * 1000)
            bed.remove()
            _slot_empty(ctx)
            deadline = time.monotonic() + TIMEOUT_S
            while reader.status()["pcsc_state"] != "no_card" and time.monotonic() < deadline:
                time.sleep(0.005)
    finally:
        CardLink.transmit = original  # type: ignore[method-assign]
        reader.stop()
    return totals, reads, recorded


def _transmit(hcard: int, proto: int, apdu: bytes) -> bytes:
    """Bare SCardTransmit."""
    hr, resp = scard.SCardTransmit(hcard, proto, list(apdu))
    if hr != scard.SCARD_S_SUCCESS:
        raise RuntimeError(scard.SCardGetErrorMessage(hr))
    return bytes(resp)


def measure_floor(bed: Testbed, ctx: int, apdus: list[bytes]) -> tuple[list[float], list[float]]:
    """Insertion -> the same APDUs answered, with bare scard calls and a pre-opened SAM."""
    hr, hsam, sproto = scard.SCardConnect(
        ctx,
        SAM_READER,
        scard.SCARD_SHARE_EXCLUSIVE,
        scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
    )
    assert hr == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hr)
    from drivers.card_reader.profiles.reference import SAM_AID

    _transmit(hsam, sproto, bytes([0, 0xA4, 4, 0, len(SAM_AID)]) + SAM_AID + b"\x00")
    totals, reads = [], []
    try:
        for run in range(RUNS):
            _slot_empty(ctx)
            hr, st = scard.SCardGetStatusChange(ctx, 0, [(CARD_READER, scard.SCARD_STATE_UNAWARE)])
            known = [(CARD_READER, st[0][1] & ~scard.SCARD_STATE_CHANGED)]
            start = time.perf_counter()
            bed.insert(run % 6)
            while True:
                hr, st = scard.SCardGetStatusChange(ctx, int(TIMEOUT_S * 1000), known)
                if hr != scard.SCARD_S_SUCCESS:
                    raise RuntimeError(scard.SCardGetErrorMessage(hr))
                known = [(CARD_READER, st[0][1] & ~scard.SCARD_STATE_CHANGED)]
                if st[0][1] & scard.SCARD_STATE_PRESENT:
                    break
            seen = time.perf_counter()
            hr, hcard, proto = scard.SCardConnect(
                ctx, CARD_READER, scard.SCARD_SHARE_EXCLUSIVE,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
            )  # fmt: skip
            assert hr == scard.SCARD_S_SUCCESS
            serial, challenge = b"", b""
            for apdu in apdus:
                if apdu[1] == 0x82:  # MUTUAL AUTHENTICATE: ask the SAM, then verify
                    data = bytes([len(serial)]) + serial + challenge
                    answer = _transmit(
                        hsam, sproto, bytes([0x80, 0xA0, 0, 0, len(data)]) + data + b"\0"
                    )
                    proof = _transmit(hcard, proto, apdu[:5] + answer[:-2] + apdu[-1:])[:-2]
                    _transmit(hsam, sproto, bytes([0x80, 0xA2, 0, 0, len(proof)]) + proof)
                    continue
                response = _transmit(hcard, proto, apdu)
                if apdu[1] == 0x84:
                    challenge = response[:-2]
                elif apdu[1] == 0xA4 and apdu[2] == 0x04:
                    serial = response[-10:-2]  # the FCI ends with C0 08 <serial>
            end = time.perf_counter()
            scard.SCardDisconnect(hcard, scard.SCARD_LEAVE_CARD)
            totals.append((end - start) * 1000)
            reads.append((end - seen) * 1000)
            bed.remove()
    finally:
        scard.SCardDisconnect(hsam, scard.SCARD_LEAVE_CARD)
    return totals, reads


def main() -> None:
    """Run both measurements in one test bed and print the JSON line."""
    with Testbed() as bed:
        time.sleep(0.5)
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        assert hr == scard.SCARD_S_SUCCESS
        try:
            totals, reads, apdus = measure_driver(bed, ctx)
            floor_totals, floor_reads = measure_floor(bed, ctx, apdus)
        finally:
            scard.SCardReleaseContext(ctx)
    med, floor_med = statistics.median(totals), statistics.median(floor_totals)
    result = {
        "identity_median_ms": round(med, 2),
        "identity_p95_ms": round(_p95(totals), 2),
        "floor_median_ms": round(floor_med, 2),
        "ratio": round(med / floor_med, 3),
        "read_median_ms": round(statistics.median(reads), 2),
        "floor_read_median_ms": round(statistics.median(floor_reads), 2),
        "apdus_per_read": len(apdus),
        "runs": RUNS,
    }
    print(
        f"insertion->identity median {med:.1f} ms (floor {floor_med:.1f} ms); "
        f"card detection by pcscd's slot poll dominates both"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
