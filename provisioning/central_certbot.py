"""The central server's first Let's Encrypt certificate (provisioning/central.py --certbot EMAIL).

certbot's HTTP-01 challenge through nginx's plain-HTTP server: `certbot certonly --webroot`
writes a token's file under ACME_WEBROOT, nginx answers it on port 80 (the only thing it
answers there besides the redirect to https: central.nginx_site), the CA fetches it. The
certificate is then installed the way every renewal is: certbot's deploy hook
(central.renewal_hook) swaps it in for /etc/anjungan/tls/central.{crt,key}, checks nginx's
config (putting the previous pair back if nginx refuses the new one) and reloads nginx. certbot
keeps the webroot in its renewal config, so its timer renews the same way. Each check that can
fail before a request reaches the CA (no DNS record for the name, nginx not answering the
challenge path) stops with what to do; a refused challenge stops with the CA's words. Nothing
changes then: nginx keeps serving the certificate it had (the self-signed one). Standard
library only, like central.py.
"""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import subprocess
from pathlib import Path

from provision import Step, directory, install_packages

# certbot --webroot writes its HTTP-01 challenges under here; nginx serves only those (port 80)
ACME_WEBROOT = Path("/var/lib/anjungan-acme")
LETSENCRYPT_LIVE = Path("/etc/letsencrypt/live")  # certbot's lineages: live/NAME/fullchain.pem
CERTBOT_PACKAGES = ["certbot"]
CHALLENGES = Path(".well-known/acme-challenge")
CERTBOT_TIMEOUT_S = 600  # certbot's own requests time out sooner: this only bounds a hang
HOOK_TIMEOUT_S = 120  # the deploy hook: two copies and nginx's reload
UNCHANGED = "Nothing was changed: nginx keeps serving the certificate it has."


def acme_webroot(webroot: Path, step: Step) -> None:
    """The webroot, root's and readable by nginx's workers (certbot writes into it as root)."""
    directory(webroot, 0o755, step, "acme webroot")


def certbot_command(
    server_name: str, email: str, *, webroot: Path, acme_server: str | None
) -> list[str]:
    """certbot's first request (a later run keeps the certificate until it is due)."""
    return [
        "certbot", "certonly", "--webroot", "-w", str(webroot),
        "-d", server_name, "--cert-name", server_name,
        "--email", email, "--agree-tos", "--no-eff-email", "--non-interactive",
        "--keep-until-expiring",
        *(["--server", acme_server] if acme_server else []),
    ]  # fmt: skip


def check_dns(server_name: str) -> None:
    """The CA finds the server by its name: stop here when the name has no address."""
    try:
        socket.getaddrinfo(server_name, 80, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # UnicodeError: no name DNS can hold (a..b)
        raise SystemExit(
            f"certificate: {server_name} has no address in DNS ({exc}). Let's Encrypt "
            f"reaches this server by that name: ask for an A record of {server_name} pointing "
            f"to this server's public address, wait until it resolves here, then run this "
            f"again. {UNCHANGED}"
        ) from exc


def check_challenge_path(server_name: str, webroot: Path, port: int = 80) -> None:
    """nginx on this machine answers a file put where certbot puts its tokens (over loopback,
    Host: the server name): else the site is not nginx's yet, and the CA would fail too."""
    challenges = webroot / CHALLENGES
    challenges.mkdir(parents=True, exist_ok=True)
    for part in (webroot / ".well-known", challenges):
        part.chmod(0o755)
    token = f"anjungan-probe-{secrets.token_urlsafe(16)}"
    content = secrets.token_urlsafe(32).encode()
    probe = challenges / token
    probe.write_bytes(content)
    probe.chmod(0o644)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", f"/{CHALLENGES}/{token}", headers={"Host": server_name})
        answer = conn.getresponse()
        body = answer.read()
        seen = f"HTTP {answer.status}"
    # HTTPException: something else than an HTTP server on the port (BadStatusLine)
    except (OSError, http.client.HTTPException) as exc:
        body, seen = b"", f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
        probe.unlink(missing_ok=True)
    if body != content:
        raise SystemExit(
            f"certificate: nginx on this machine does not serve http://{server_name}/{CHALLENGES}/"
            f" from {webroot} ({seen}). Run provisioning/central.py --system --server-name "
            f"{server_name} (it writes nginx's site and reloads nginx), check `nginx -t` and "
            f"`systemctl status nginx`. {UNCHANGED}"
        )


def request_certificate(command: list[str], server_name: str) -> None:
    """Run certbot; stop with the CA's reason and what to check when it fails."""
    try:
        done = subprocess.run(  # certbot says the CA's reason on stdout, the rest on stderr
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=CERTBOT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise SystemExit(
            f"certificate: certbot did not finish within {CERTBOT_TIMEOUT_S} s. {UNCHANGED}"
        ) from exc
    if done.returncode != 0:
        detail = done.stdout.strip()[-2500:]
        raise SystemExit(
            f"certificate: certbot failed: {' '.join(command)}\n{detail}\n"
            f"The CA must reach http://{server_name}/{CHALLENGES}/ on port 80 from the "
            f"internet: {server_name}'s DNS A record must be this server's public address and "
            f"port 80 open to it (firewall, the router's port forwarding); certbot's log: "
            f"/var/log/letsencrypt/letsencrypt.log. {UNCHANGED}"
        )


def install_certificate(lineage: Path, tls_dir: Path, hook: Path, step: Step) -> None:
    """The lineage's certificate served by nginx, through the deploy hook (as a renewal)."""
    if (tls_dir / "central.crt").read_bytes() == (lineage / "fullchain.pem").read_bytes():
        step.done("certificate installed", "unchanged")
        return
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
    try:
        done = subprocess.run(
            [str(hook)], env={**env, "RENEWED_LINEAGE": str(lineage)},
            capture_output=True, text=True, timeout=HOOK_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise SystemExit(
            f"certificate: obtained ({lineage}) but its deploy hook did not finish within "
            f"{HOOK_TIMEOUT_S} s: {hook}. Check `nginx -t` and `systemctl status nginx`, then "
            "run this again (it installs the same certificate)."
        ) from exc
    if done.returncode != 0:
        detail = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise SystemExit(
            f"certificate: obtained ({lineage}) but installing it failed: {hook}\n{detail}\n"
            "Fix what it says, then run this again (it installs the same certificate)."
        )
    step.done("certificate installed", "changed (Let's Encrypt)")


def certbot_steps(
    server_name: str,
    email: str,
    step: Step,
    *,
    tls_dir: Path,
    hook: Path,
    acme_server: str | None = None,
    webroot: Path = ACME_WEBROOT,
    live: Path = LETSENCRYPT_LIVE,
) -> None:
    """`--certbot EMAIL`: certbot installed, the name's DNS and nginx checked, the certificate
    obtained (once: afterwards certbot's timer renews it) and installed by the deploy hook."""
    install_packages(CERTBOT_PACKAGES, step, "certbot package")
    check_dns(server_name)
    check_challenge_path(server_name, webroot)
    chain = live / server_name / "fullchain.pem"
    before = chain.read_bytes() if chain.exists() else None
    request_certificate(
        certbot_command(server_name, email, webroot=webroot, acme_server=acme_server),
        server_name,
    )
    step.done(
        "certificate", "unchanged (not yet due)" if chain.read_bytes() == before else "changed"
    )
    install_certificate(chain.parent, tls_dir, hook, step)
