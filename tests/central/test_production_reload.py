"""nginx reloaded under load, for real on loopback: nginx (TLS) -> two app servers ->
PostgreSQL, `nginx -s reload` (what `systemctl reload nginx` runs after a provisioning change)
and a reload after a certificate renewal (new key and certificate written over the old files,
as a renewal's deploy hook does), several times while kiosks (CentralClient, one kept-alive
connection each) heartbeat and submit and an officer's browser-like session POSTs forms.

On a reload nginx's old workers close their idle client connections at once and every other
one after the request on it is answered: a client that sends a request onto such a
connection just then gets no answer at all. Nothing of that may reach the citizen or the
officer: no CentralError out of CentralClient, no 5xx, no failed officer POST, every
submission and account stored once.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.central.deployment import Deployment, deployed, needs_a_deployment, provisioning
from tests.central.test_production_restart import Load

RELOADS = 4  # each a plain reload, then one after a certificate renewal

pytestmark = needs_a_deployment


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    with deployed(tmp_path) as running:
        yield running


def served_certificate(deployment: Deployment) -> bytes:
    """The certificate nginx presents now (DER)."""
    pem = ssl.get_server_certificate(("127.0.0.1", deployment.https), timeout=10)
    return ssl.PEM_cert_to_DER_cert(pem)


def der(cert: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(cert.read_text())


def test_nginx_reloads_and_certificate_renewals_under_load_fail_no_request(
    deployment: Deployment,
) -> None:
    # The renewed certificates, made beforehand; the clients trust each of them (as they
    # trust a public CA that signs every renewal) from the start.
    prov = provisioning()
    renewals = []
    for n in range(RELOADS):
        cert, key = (
            deployment.tmp / f"renewal-{n}/central.crt",
            deployment.tmp / f"renewal-{n}/central.key",
        )
        prov.self_signed_cert(cert, key, "127.0.0.1")
        renewals.append((cert, key))
    trust = deployment.tmp / "trust.pem"
    trust.write_text("".join(c.read_text() for c in [deployment.cert, *(c for c, _ in renewals)]))
    deployment.trust = trust
    live_key = deployment.cert.with_name("central.key")
    assert served_certificate(deployment) == der(deployment.cert)

    load = Load(deployment)
    load.start()
    try:
        load.progress()
        for cert, key in renewals:
            deployment.reload_nginx()  # a provisioning change: same certificate
            load.progress()
            for new, live in ((key, live_key), (cert, deployment.cert)):  # the renewal
                os.replace(new, live)
            deployment.reload_nginx()  # its deploy hook
            assert served_certificate(deployment) == der(deployment.cert)
            load.progress()
    finally:
        load.end()
    load.check()
    # what the citizen would have seen: no call CentralClient failed, even once
    assert [k.tries[0] for k in load.kiosks] == [0] * len(load.kiosks)
