"""nginx reloaded under load, for real on loopback: nginx (TLS) -> two app servers ->
PostgreSQL, `nginx -s reload` (what `systemctl reload nginx` runs after a provisioning change)
and a certificate renewal (provisioning's certbot deploy hook: the renewed key and
certificate over the old files, then a reload), several times while kiosks (CentralClient,
one kept-alive connection each) heartbeat and submit and an officer's browser-like session
POSTs forms.

On a reload nginx's old workers close their idle client connections at once and every other
one after the request on it is answered: a client that sends a request onto such a
connection just then gets no answer at all. Nothing of that may reach the citizen or the
officer: no CentralError out of CentralClient, no 5xx, no failed officer POST, every
submission and account stored once.
"""

from __future__ import annotations

import os
import shlex
import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
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
        cert = deployment.tmp / f"renewal-{n}/fullchain.pem"
        prov.self_signed_cert(cert, cert.with_name("privkey.pem"), "127.0.0.1")
        renewals.append(cert.parent)
    trust = deployment.tmp / "trust.pem"
    trust.write_text(
        "".join(c.read_text() for c in [deployment.cert, *(d / "fullchain.pem" for d in renewals)])
    )
    deployment.trust = trust
    assert served_certificate(deployment) == der(deployment.cert)

    # provisioning's certbot deploy hook, reloading this nginx (not systemd's)
    hook = deployment.tmp / "renewal-hook"
    nginx = shlex.join(deployment.nginx_command)
    lineage = deployment.tmp / "letsencrypt/live/127.0.0.1"
    hook.write_text(
        prov.renewal_hook(
            "127.0.0.1", lineage=lineage, tls_dir=deployment.cert.parent,
            check=f"{nginx} -t -q", reload=f"{nginx} -s reload",
        )
    )  # fmt: skip
    hook.chmod(0o755)

    def renewed(by: Path) -> Callable[[], object]:
        """certbot renewing (`by`'s files in its lineage), then running its deploy hooks."""

        def renew() -> object:
            shutil.copytree(by, lineage, dirs_exist_ok=True)
            env = {"PATH": os.environ["PATH"], "RENEWED_LINEAGE": str(lineage)}
            return subprocess.run([hook], env=env, check=True, capture_output=True, timeout=60)

        return renew

    other = {"PATH": os.environ["PATH"], "RENEWED_LINEAGE": str(renewals[0])}
    subprocess.run([hook], env=other, check=True, timeout=60)  # another site's renewal
    assert served_certificate(deployment) == der(deployment.cert)

    load = Load(deployment)
    load.start()
    try:
        load.progress()
        for renewal in renewals:
            deployment.reload_nginx()  # a provisioning change: same certificate
            load.progress()
            deployment.reload_nginx(renewed(renewal))
            assert der(deployment.cert) == der(renewal / "fullchain.pem")
            assert served_certificate(deployment) == der(deployment.cert)
            assert deployment.cert.with_name("central.key").stat().st_mode & 0o777 == 0o600
            load.progress()
    finally:
        load.end()
    load.check()
    # what the citizen would have seen: no call CentralClient failed, even once
    assert [k.tries[0] for k in load.kiosks] == [0] * len(load.kiosks)
