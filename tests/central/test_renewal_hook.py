"""certbot's deploy hook (provisioning/central.py renewal_hook) given a renewed pair nginx
refuses, against the real nginx with the production site (tests/central/test_acme_challenge.py's)
and real files: a key not matching the certificate, a truncated certificate. The hook puts the
previous pair back and does not reload: `nginx -t` still passes (the next reload or restart, a
reboot, logrotate, keeps the site up), nginx serves the previous certificate over TLS, the hook
exits 1 with nginx's reason (certbot logs it), and the next renewal installs. The hook under
the real certbot against an ACME server: tests/test_provisioning_certbot.py.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from tests.central.conftest import wait_for
from tests.central.deployment import needs_a_deployment, provisioning
from tests.central.test_acme_challenge import NAME, Nginx
from tests.central.test_acme_challenge import nginx as nginx  # fixture

pytestmark = needs_a_deployment


def served(nginx: Nginx) -> str:
    """The SHA-256 fingerprint of the certificate nginx presents for the site's name."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", nginx.https), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=NAME) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


def fingerprint(pem: Path) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.read_text())).hexdigest()


def files(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file in `directory`: its bytes and mode."""
    return {p.name: (p.read_bytes(), p.stat().st_mode & 0o777) for p in directory.iterdir()}


def workers(nginx: Nginx) -> set[int]:
    """The process ids of nginx's workers (a reload replaces them)."""
    pid = nginx.process.pid
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def renew(lineage: Path, fault: str | None = None) -> None:
    """certbot's renewal into `lineage`: a new pair, or one damaged by `fault`."""
    prov = provisioning()
    chain, key = lineage / "fullchain.pem", lineage / "privkey.pem"
    prov.self_signed_cert(chain, key, NAME)
    if fault == "a key not matching the certificate":
        other = lineage.parent / "other"
        prov.self_signed_cert(other / "cert.pem", other / "key.pem", NAME)
        key.write_bytes((other / "key.pem").read_bytes())
    elif fault == "a truncated certificate":  # a full disk while it was written
        chain.write_bytes(chain.read_bytes()[: len(chain.read_bytes()) // 2])


def run_hook(hook: Path, lineage: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "RENEWED_LINEAGE": str(lineage)}
    return subprocess.run([hook], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("fault", "nginx_says"),
    [
        ("a key not matching the certificate", "key values mismatch"),
        ("a truncated certificate", "cannot load certificate"),
    ],
    ids=["mismatched key", "truncated certificate"],
)
def test_a_renewal_nginx_refuses_leaves_it_serving_the_previous_pair_and_the_next_installs(
    nginx: Nginx, tmp_path: Path, fault: str, nginx_says: str
) -> None:
    tls = nginx.cert.parent
    lineage = tmp_path / f"letsencrypt/live/{NAME}"
    command = shlex.join(nginx.command)
    hook = tmp_path / "renewal-hook"
    hook.write_text(
        provisioning().renewal_hook(
            NAME, lineage=lineage, tls_dir=tls,
            check=f"{command} -t -q", reload=f"{command} -s reload",
        )
    )  # fmt: skip
    hook.chmod(0o755)
    previous, before = files(tls), served(nginx)
    assert before == fingerprint(nginx.cert)
    running = workers(nginx)

    renew(lineage, fault)
    done = run_hook(hook, lineage)
    assert done.returncode == 1, done.stdout + done.stderr
    [said] = done.stderr.splitlines()  # one line in certbot's log
    assert said.startswith(
        f"anjungan-central deploy hook: nginx refused the certificate of {lineage}; the "
        f"previous certificate and key are back in {tls}, nginx was not reloaded"
    ), said
    assert nginx_says in said
    assert files(tls) == previous  # the same bytes and modes, nothing left beside them
    checked = subprocess.run(
        [*nginx.command, "-t", "-q"], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr  # the next reload or restart works
    assert workers(nginx) == running  # not reloaded
    assert served(nginx) == before

    # the next renewal (a pair nginx takes) is installed and served
    renew(lineage)
    done = run_hook(hook, lineage)
    assert done.returncode == 0, done.stdout + done.stderr
    assert nginx.cert.read_bytes() == (lineage / "fullchain.pem").read_bytes()
    assert nginx.key.read_bytes() == (lineage / "privkey.pem").read_bytes()
    assert nginx.key.stat().st_mode & 0o777 == 0o600
    assert sorted(files(tls)) == ["central.crt", "central.key"]
    renewed = fingerprint(nginx.cert)
    assert renewed != before
    wait_for(lambda: served(nginx) == renewed, timeout_s=60)  # the new workers' certificate
