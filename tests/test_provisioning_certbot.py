"""provisioning/central.py --certbot EMAIL: the first certificate from a real ACME server.

The central machine is the sandbox of tests/test_provisioning_system.py (its own network
namespace: every address is its loopback), set up by `central.py --system` with nginx on ports
80 and 443 as Debian runs it. The CA is pebble (Debian's package: the ACME test server by
Let's Encrypt's authors) inside that namespace; it finds the server by name through the
sandbox's /etc/hosts, as Let's Encrypt does through DNS, and fetches the HTTP-01 token from
nginx on port 80. certbot is Debian's. The certificate is then installed by certbot's deploy
hook (provisioning's) and served by nginx, verified up to pebble's root for the server's name.
Before that, the two failures a technician meets: no DNS record yet, and port 80 not reachable
by the CA (pebble validating on a port nothing listens on, as behind a closed firewall): each
stops with what to do, and nginx keeps serving the self-signed certificate.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.central.conftest import wait_for
from tests.system_sandbox import ROOT, Sandbox
from tests.test_provisioning_system import (
    CENTRAL,
    SERVER,
    calls,
    changed,
    needs_root,
    provision,
    script_module,
)
from tests.test_provisioning_system import central as central  # fixtures
from tests.test_provisioning_system import on_loopback as on_loopback
from tests.test_provisioning_system import postgres as postgres

EMAIL = "teknisi@anjungan.test"
PEBBLE = "/root/pebble"  # inside the sandbox
DIRECTORY = "https://127.0.0.1:14000/dir"
TLS = "/etc/anjungan/tls/central.crt"
# certbot (its requests) trusts pebble's own listener by this; Let's Encrypt needs nothing
CA_ENV = {"REQUESTS_CA_BUNDLE": f"{PEBBLE}/listener.pem"}
CERTBOT = [*CENTRAL, "--certbot", EMAIL, "--acme-server", DIRECTORY]

needs_certbot = pytest.mark.skipif(
    shutil.which("certbot") is None or shutil.which("pebble") is None,
    reason="needs certbot and pebble (apt: certbot pebble; provisioning/dev-setup.sh)",
)
pytestmark = [needs_root, needs_certbot]


@contextmanager
def pebble(
    central: Sandbox, on_loopback: Callable[[Callable[[], object]], object], *, http_port: int
) -> Iterator[Path]:
    """pebble in the sandbox, validating HTTP-01 challenges on `http_port`; yields its log."""
    home = central.path(PEBBLE)
    home.mkdir(exist_ok=True)
    if not (home / "listener.pem").exists():
        script_module("central.py").self_signed_cert(
            home / "listener.pem", home / "listener.key", "localhost"
        )
    config = {
        "listenAddress": "127.0.0.1:14000",
        "managementListenAddress": "127.0.0.1:15000",
        "certificate": f"{PEBBLE}/listener.pem",
        "privateKey": f"{PEBBLE}/listener.key",
        "httpPort": http_port,
        "tlsPort": 5001,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }
    (home / "config.json").write_text(json.dumps({"pebble": config}))
    log = home.parent / f"pebble-{http_port}.log"
    env = {"PATH": "/usr/bin:/bin", "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["nsenter", "-t", str(central.pid), "-m", "-n", "-p", "--wd=/", "--",
             "pebble", "-config", f"{PEBBLE}/config.json"],
            stdout=output, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip

    def started() -> bool:
        assert process.poll() is None, log.read_text()
        return listening_at(14000)()

    try:
        on_loopback(lambda: wait_for(started, timeout_s=60))
        yield log
    finally:
        # nsenter (its parent, outside the PID namespace) forwards no signal: pebble's own
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        for child in children:
            os.kill(int(child), signal.SIGTERM)
        process.wait(timeout=30)
        wait_for(lambda: not on_loopback(listening_at(14000)), timeout_s=30)


def listening_at(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            return False
        return True

    return check


def served(central: Sandbox, on_loopback: Callable[[Callable[[], object]], object]) -> bytes:
    """The certificate nginx presents on 443 for the server's name (DER)."""

    def fetch() -> bytes:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", 443), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=SERVER) as tls:
                der = tls.getpeercert(binary_form=True)
        assert der is not None
        return der

    return on_loopback(fetch)  # type: ignore[return-value]


def first_der(pem: bytes) -> bytes:
    first = pem.decode().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    return ssl.PEM_cert_to_DER_cert(first)


def verified(central: Sandbox, on_loopback: Callable[[Callable[[], object]], object]) -> str:
    """An HTTPS request to the server by name, verified up to pebble's root (as a kiosk would
    verify Let's Encrypt's chain): the status line of /health."""

    def fetch() -> str:
        root = requests.get(
            "https://127.0.0.1:15000/roots/0",
            verify=str(central.path(f"{PEBBLE}/listener.pem")),
            timeout=10,
        )
        root.raise_for_status()
        context = ssl.create_default_context(cadata=root.text)
        with socket.create_connection(("127.0.0.1", 443), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=SERVER) as tls:
                tls.sendall(f"GET /health HTTP/1.1\r\nHost: {SERVER}\r\n\r\n".encode())
                return tls.recv(4096).decode().split("\r\n")[0]

    return on_loopback(fetch)  # type: ignore[return-value]


def test_certbot_needs_system_and_writes_nothing_without(tmp_path: Path) -> None:
    done = subprocess.run(
        ["/usr/bin/python3", str(ROOT / "provisioning/central.py"), "--server-name", SERVER,
         "--root", str(tmp_path), "--certbot", EMAIL],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "--certbot needs --system" in done.stderr
    assert not any(tmp_path.iterdir())


def test_the_first_certificate_from_an_acme_server_after_the_failures_a_technician_meets(
    central: Sandbox, on_loopback: Callable[[Callable[[], object]], object]
) -> None:
    first = provision(central, CENTRAL)
    assert first["acme webroot"] == "changed"
    webroot = central.path("/var/lib/anjungan-acme")
    assert webroot.stat().st_mode & 0o777 == 0o755 and webroot.stat().st_uid == 0
    self_signed = central.path(TLS).read_bytes()
    assert served(central, on_loopback) == first_der(self_signed)

    # no DNS record for the name yet: stopped before asking the CA, nothing changed
    done = central.run(*CERTBOT, env=CA_ENV)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"certificate: {SERVER} has no address in DNS" in done.stderr
    assert "ask for an A record" in done.stderr and "Nothing was changed" in done.stderr
    with central.path("/etc/hosts").open("a") as hosts:  # the record exists now
        hosts.write(f"127.0.0.1 {SERVER}\n")

    # port 80 not reachable by the CA (a closed firewall): the CA's words, nothing changed
    with pebble(central, on_loopback, http_port=5002):
        done = central.run(*CERTBOT, env=CA_ENV, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "certificate: certbot failed" in done.stderr
    assert "connection refused" in done.stderr.lower()  # the CA's reason, from certbot
    assert "port 80 open to it" in done.stderr and "Nothing was changed" in done.stderr
    assert central.path(TLS).read_bytes() == self_signed
    assert served(central, on_loopback) == first_der(self_signed)
    assert not central.path(f"/etc/letsencrypt/live/{SERVER}").exists()
    # a new pebble knows no account of the last one (Let's Encrypt keeps them): certbot's
    # saved account would be refused
    shutil.rmtree(central.path("/etc/letsencrypt/accounts"))

    with pebble(central, on_loopback, http_port=80) as log:
        steps = provision(central, CERTBOT, env=CA_ENV)
        assert steps["certificate"] == "changed", log.read_text()[-3000:]
        assert steps["certificate installed"] == "changed (Let's Encrypt)"
        lineage = central.path(f"/etc/letsencrypt/live/{SERVER}")
        issued = (lineage / "fullchain.pem").read_bytes()
        assert central.path(TLS).read_bytes() == issued
        assert central.path("/etc/anjungan/tls/central.key").stat().st_mode & 0o777 == 0o600
        # the reload is nginx's master starting new workers: the old ones answer meanwhile
        wait_for(lambda: served(central, on_loopback) == first_der(issued), timeout_s=60)
        assert verified(central, on_loopback) == "HTTP/1.1 200 OK"
        assert ["systemctl", "reload", "nginx.service"] in calls(central)  # not a restart
        # the token's file is gone again: the webroot serves nothing between challenges
        challenges = webroot / ".well-known/acme-challenge"
        assert not challenges.exists() or not any(challenges.iterdir())

        # again: certbot keeps the valid certificate, nothing changes
        again = provision(central, CERTBOT, env=CA_ENV)
        assert changed(again) == {}, again
        assert again["certificate"] == "unchanged (not yet due)"
        assert central.path(TLS).read_bytes() == issued

        # a renewal whose chain was cut short (a full disk as certbot wrote it: a deploy hook
        # running before provisioning's truncates it): nginx -t refuses it, the hook puts the
        # served pair back and certbot reports the hook's failure; nothing nginx reads changed
        hooks = central.path("/etc/letsencrypt/renewal-hooks/deploy")
        cut = hooks / "00-disk-full"
        cut.write_text('#!/bin/sh\ntruncate -s 400 "$RENEWED_LINEAGE/fullchain.pem"\n')
        cut.chmod(0o755)
        key = central.path("/etc/anjungan/tls/central.key").read_bytes()
        broken = central.run(
            "certbot", "renew", "--force-renewal", "--no-random-sleep-on-renew",
            env=CA_ENV, timeout=300,
        )  # fmt: skip
        cut.unlink()
        assert "Hook 'deploy-hook' reported error code 1" in broken.stderr, broken.stderr
        assert "nginx refused the certificate of /etc/letsencrypt/live/" in broken.stderr
        assert "nginx was not reloaded and keeps serving them" in broken.stderr
        assert central.path(TLS).read_bytes() == issued
        assert central.path("/etc/anjungan/tls/central.key").read_bytes() == key
        assert sorted(p.name for p in central.path("/etc/anjungan/tls").iterdir()) == [
            "central.crt", "central.key"
        ]  # fmt: skip
        assert central.run("nginx", "-t", "-q").returncode == 0  # a reboot would bring it up
        assert served(central, on_loopback) == first_der(issued)

        # certbot's timer renewing (forced: not due yet) with what the first request stored
        # (webroot, server): its deploy hook installs the new certificate, nginx reloads
        renewal = central.run(
            "certbot", "renew", "--force-renewal", "--no-random-sleep-on-renew",
            env=CA_ENV, timeout=300,
        )  # fmt: skip
        assert renewal.returncode == 0, renewal.stdout + renewal.stderr
    renewed = (lineage / "fullchain.pem").read_bytes()
    assert renewed != issued and central.path(TLS).read_bytes() == renewed
    wait_for(lambda: served(central, on_loopback) == first_der(renewed), timeout_s=60)
