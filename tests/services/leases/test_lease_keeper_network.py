"""The lease keeper over a slow network to the real central server (a fault proxy between):
a renewal waits for the server's answer beyond the client's short default timeout (no citizen
waits on it), so a busy server's grant reaches the kiosk instead of being done for nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk_app.central import CentralUnavailable
from kiosk_app.services.leases import LeaseKeeper, LeaseStore
from tests.services.faultproxy import FaultProxy
from tests.services.leases.lease_rig import lease_kiosk
from tests.services.outbox_rig import SERVICE, start_server

DEFAULT_TIMEOUT_S = 0.5  # the client's own: a citizen-facing call gives up this soon
SLOW_S = 1.0  # every answer comes this much later: past the default, well within the keeper's


def test_a_renewal_outwaits_a_slow_answer_that_the_short_default_would_give_up(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path / "central.db")
    proxy = FaultProxy(server.port, slow_s=SLOW_S)
    signer, central = lease_kiosk(proxy.base_url, timeout=DEFAULT_TIMEOUT_S)
    store = LeaseStore(tmp_path / "leases.db")
    try:
        keeper = LeaseKeeper(store, central, public_key=signer.public_key)
        assert keeper.drain_once()  # enrolled, its seal key registered, before the slowness
        store.replace([])  # as if the grant's answer had been lost: the kiosk holds nothing
        proxy.set_mode("slow")
        with pytest.raises(CentralUnavailable, match="timed out"):
            central.leases()  # what the keeper's renewal would do with the client's default
        assert keeper.drain_once()
        assert store.offer(SERVICE), "the slow renewal never reached the kiosk"
    finally:
        store.close()
        central.close()
        proxy.close()
        server.stop()
