#!/usr/bin/env python3
"""Provision the central server on Debian: nginx in front, N app servers, one worker, PostgreSQL.

    nginx :443 (TLS, client_max_body_size, /static/ from disk)
      -> anjungan-central@8001 .. @800N (one uvicorn process each, 127.0.0.1 only)
    anjungan-central-worker (notification delivery: once per deployment)
    PostgreSQL (all shared state)

Idempotent like provision.py: files are rewritten only when they differ, the certificate and
central.toml only when absent. Standard library only. `--root DIR` writes into a throwaway root;
`--system` (with --root /) also installs packages, creates the user and database, enables units.
The tests build their nginx from the same functions (nginx_site, nginx_main_conf: central_nginx.py).
`--rolling-restart` only restarts the app servers one after the other, then the worker
(central_restart.py): after an upgrade, without a request answered 502.
`--certbot EMAIL` (with --system) then obtains the first Let's Encrypt certificate through
nginx's plain-HTTP server and installs it as every renewal is (central_certbot.py).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from central_certbot import (  # noqa: E402  (a sibling module)
    ACME_WEBROOT,
    LETSENCRYPT_LIVE,
    acme_webroot,
    certbot_steps,
)
from central_nginx import (  # noqa: E402  (a sibling module)
    nginx_main_conf,  # noqa: F401  (the tests and benchmarks take it from here)
    nginx_site,
)
from central_restart import restart_steps  # noqa: E402  (a sibling module)
from provision import (  # noqa: E402  (a sibling script, not a package)
    Step,
    enable_units,
    install_packages,
    run,
    succeeds,
    write_file,
)

PROJECT = HERE.parent
STATIC_DIR = PROJECT / "central_server" / "static"
PACKAGES = ["nginx-light", "postgresql-15", "python3", "python3-venv", "openssl", "espeak-ng"]
SERVICE_USER = "anjungan-central"
DATABASE = "anjungan"
INSTALLED_ANJUNGAN = Path("/opt/anjungan/.venv/bin/anjungan")  # what the units start
SITE_AVAILABLE = Path("/etc/nginx/sites-available/anjungan-central")
DEBIAN_DEFAULT_SITE = Path("/etc/nginx/sites-enabled/default")
TLS_DIR = Path("/etc/anjungan/tls")  # central.crt and central.key: what nginx serves
# certbot runs every executable here after each renewal (its deploy hooks)
RENEWAL_HOOK = Path("/etc/letsencrypt/renewal-hooks/deploy/anjungan-central")
CHECK_NGINX = "nginx -t -q"  # the whole config, with the certificate and key it names
RELOAD_NGINX = "systemctl reload nginx.service"
TARGET = "anjungan-central.target"
UNITS = ("anjungan-central@.service", "anjungan-central-worker.service", TARGET)
DEFAULT_PORTS = (8001, 8002)
CREDENTIALS_DIR = Path("/etc/anjungan/credentials")  # root-only; units LoadCredential= them
# central_server/keys.py's names: the app servers' LoadCredential= lines name the same files
SERVER_SECRETS = (
    "token-signing-key",
    "session-key",
    "print-code-pepper",
    "seal-signing-key",
    "nik-audit-key",
)


def central_toml(args: argparse.Namespace) -> str:
    """The first /etc/anjungan/central.toml: PostgreSQL over its socket, no in-process loops."""
    missing = [
        name
        for name, given in (
            ("sms", args.sms_gateway),
            ("whatsapp", args.whatsapp_gateway),
            ("email", args.smtp_host),
        )
        if not given
    ]
    notify = ""
    if args.sms_gateway:
        notify += f'\n[notify.sms]\nurl = "{args.sms_gateway}"\n'
    if args.whatsapp_gateway:
        notify += f'\n[notify.whatsapp]\nurl = "{args.whatsapp_gateway}"\n'
    if args.smtp_host:
        notify += f'\n[notify.email]\nhost = "{args.smtp_host}"\nport = 587\nstarttls = true\n'
    if missing:
        channels = ", ".join(f'"{name}"' for name in missing)
        notify += (
            "\n# No gateway given for these: messages are written as files (see README)\n"
            f'[notify.file]\ndirectory = "/var/lib/{SERVICE_USER}/messages"\n'
            f"channels = [{channels}]\n"
        )
    return f"""# Anjungan central server (written once by provisioning/central.py; edit freely)
[server]
host = "127.0.0.1"              # nginx is the only client; each unit passes --port
database_url = "{args.database_url}"
public_url = "https://{args.server_name}/"
trusted_proxies = ["127.0.0.1", "::1"]
background_loops = false        # anjungan-central-worker.service delivers notifications

[cookies]
secure = true

[[offices]]
code = "{args.office_code}"
name = "{args.office_name}"
{notify}"""


def self_signed_cert(cert: Path, key: Path, server_name: str) -> None:
    """A self-signed certificate for `server_name` (and 127.0.0.1), until a real one replaces it."""
    cert.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "825", "-subj", f"/CN={server_name}",
         "-addext", f"subjectAltName=DNS:{server_name},IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    key.chmod(0o600)


def renewal_hook(
    server_name: str,
    *,
    lineage: Path | None = None,
    tls_dir: Path = TLS_DIR,
    check: str = CHECK_NGINX,
    reload: str = RELOAD_NGINX,
) -> str:
    """certbot's deploy hook: the renewed certificate of `server_name` (certbot's `lineage`,
    /etc/letsencrypt/live/NAME) replaces the one nginx serves, then nginx reloads: new workers
    read it, the old ones finish the requests they are answering and close their idle
    connections (the kiosks resend on a new one). Never a restart: nginx would answer
    nothing while down and cut the requests in flight.

    nginx never keeps a pair it refuses (a key not matching the certificate, a truncated file):
    the new pair is written beside the served one and renamed over it, the served one kept
    under a second name (a hard link: no copy to fail); when `check` (nginx -t) refuses the
    new pair the old one is renamed back, nginx is not reloaded and keeps serving it, and the
    hook says why on stderr and exits 1 (certbot logs both; a later renewal installs again).
    A copy that fails (a full disk) stops before anything nginx reads changed."""
    lineage = lineage or LETSENCRYPT_LIVE / server_name
    key, crt = tls_dir / "central.key", tls_dir / "central.crt"
    new_key, new_crt = tls_dir / ".central.key.new", tls_dir / ".central.crt.new"
    old_key, old_crt = tls_dir / ".central.key.old", tls_dir / ".central.crt.old"
    return f"""#!/bin/sh
# Written by provisioning/central.py: certbot runs it after each renewal.
set -eu
[ "${{RENEWED_LINEAGE:-}}" = "{lineage}" ] || exit 0  # another site's certificate
umask 077
trap 'rm -f "{new_key}" "{new_crt}"' EXIT
cp "$RENEWED_LINEAGE/privkey.pem" "{new_key}"
cp "$RENEWED_LINEAGE/fullchain.pem" "{new_crt}"
chmod 0644 "{new_crt}"
sync "{new_key}" "{new_crt}"  # on disk before they replace the served pair
ln -f "{key}" "{old_key}"  # the served pair, kept under a second name
ln -f "{crt}" "{old_crt}"
mv -f "{new_key}" "{key}"
mv -f "{new_crt}" "{crt}"
if ! refused=$({check} 2>&1); then
    mv -f "{old_key}" "{key}"
    mv -f "{old_crt}" "{crt}"
    echo "anjungan-central deploy hook: nginx refused the certificate of $RENEWED_LINEAGE;" \
        "the previous certificate and key are back in {tls_dir}, nginx was not reloaded and" \
        "keeps serving them. nginx -t said: $(printf %s "$refused" | tr '\\n' ' ')" >&2
    exit 1
fi
rm -f "{old_key}" "{old_crt}"
{reload}
"""


def psql(sql: str) -> str:
    """One query as the cluster's superuser over the local socket (peer authentication)."""
    return run(["runuser", "-u", "postgres", "--", "psql", "-tAc", sql], None, "database").strip()


def database_steps(step: Step) -> None:
    """The service's PostgreSQL role and its database (each made only when missing)."""
    if psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{SERVICE_USER}'") == "1":
        step.done("db user", "unchanged")
    else:
        run(["runuser", "-u", "postgres", "--", "createuser", SERVICE_USER], step, "db user")
    if psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") == "1":
        step.done("database", "unchanged")
    else:
        run(
            ["runuser", "-u", "postgres", "--", "createdb", "-O", SERVICE_USER, DATABASE],
            step,
            "database",
        )


def nginx_steps(step: Step, *, changed: bool) -> None:
    """Enable the site, check the whole config, and reload nginx if anything of ours changed."""
    site = Path("/etc/nginx/sites-enabled/anjungan-central")
    linked = site.is_symlink() and site.readlink() == SITE_AVAILABLE
    if linked:
        step.done("nginx site", "unchanged")
    else:
        site.unlink(missing_ok=True)
        site.symlink_to(SITE_AVAILABLE)
        step.done("nginx site", "changed")
    # Debian's welcome page answers any Host on :80 as its default server; ours refuses them
    if DEBIAN_DEFAULT_SITE.is_symlink():
        DEBIAN_DEFAULT_SITE.unlink()
        linked = False  # reload
        step.done("nginx default site", "changed (disabled)")
    else:
        step.done("nginx default site", "unchanged")
    run(["nginx", "-t"], None, "nginx check")
    if (
        changed
        or not linked
        or not succeeds(["systemctl", "is-active", "--quiet", "nginx.service"])
    ):
        run(["systemctl", "reload-or-restart", "nginx.service"], step, "nginx reload")
    else:
        step.done("nginx reload", "unchanged")


def system_steps(args: argparse.Namespace, ports: tuple[int, ...], step: Step) -> None:
    """Packages, the service user, the database, nginx and the units: the running system only."""
    changed = {name for name, outcome in step.results if outcome.startswith("changed")}
    install_packages(PACKAGES, step)
    if not INSTALLED_ANJUNGAN.exists():
        raise SystemExit(f"{INSTALLED_ANJUNGAN} is missing: install the project at /opt/anjungan")
    if succeeds(["id", SERVICE_USER]):
        step.done("user", "unchanged")
    else:
        run(
            ["useradd", "--system", "--user-group", "--home-dir", f"/var/lib/{SERVICE_USER}",
             "--shell", "/usr/sbin/nologin", SERVICE_USER],
            step, "user",
        )  # fmt: skip
    # the service reads its config (root:anjungan-central 0640), never the secrets (root 0700)
    config = Path("/etc/anjungan/central.toml")
    if config.group() == SERVICE_USER:
        step.done("central.toml group", "unchanged")
    else:
        shutil.chown(config, group=SERVICE_USER)
        step.done("central.toml group", "changed")
    if CREDENTIALS_DIR.stat().st_mode & 0o777 == 0o700:
        step.done("credentials directory", "unchanged")
    else:
        CREDENTIALS_DIR.chmod(0o700)
        step.done("credentials directory", "changed")
    database_steps(step)
    nginx_steps(step, changed=bool({"nginx", "tls certificate"} & changed))
    units = [f"anjungan-central@{port}.service" for port in ports]
    units += ["anjungan-central-worker.service", TARGET]
    unit_changed = bool(set(UNITS) & changed)
    enable_units(units, step, reload=unit_changed)
    if not succeeds(["systemctl", "is-active", "--quiet", *units]):
        run(["systemctl", "start", *units], step, "start")
    elif unit_changed:  # one app server after the other (not the target's: all at once)
        restart_steps(ports, step)
    else:
        step.done("start", "unchanged (running)")


def main(argv: list[str] | None = None) -> int:
    """Write the central server's files (and with --system set up the machine)."""
    parser = argparse.ArgumentParser(
        prog="provisioning/central.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--server-name", help="e.g. anjungan.jombangkab.go.id (required)")
    parser.add_argument(
        "--app-ports",
        default=",".join(map(str, DEFAULT_PORTS)),
        help="one app server per port (default 8001,8002)",
    )
    parser.add_argument(
        "--database-url",
        default=f"postgresql+psycopg://{SERVICE_USER}@/{DATABASE}?host=/run/postgresql",
    )
    parser.add_argument("--office-code", default="3517")
    parser.add_argument(
        "--office-name", default="Dinas Kependudukan dan Pencatatan Sipil Kabupaten Jombang"
    )
    parser.add_argument("--sms-gateway", help="URL of the SMS gateway")
    parser.add_argument("--whatsapp-gateway", help="URL of the WhatsApp gateway")
    parser.add_argument("--smtp-host", help="SMTP server for email")
    parser.add_argument("--root", type=Path, default=Path("/"))
    parser.add_argument("--system", action="store_true", help="also change the running system")
    parser.add_argument(
        "--certbot",
        metavar="EMAIL",
        help="with --system: obtain and install Let's Encrypt's certificate for --server-name "
        "(EMAIL: the CA's expiry notices); run again any time, it keeps a valid one",
    )
    parser.add_argument(
        "--acme-server",
        metavar="URL",
        help="the ACME directory --certbot asks (default certbot's: Let's Encrypt; its "
        "staging directory for a trial run)",
    )
    parser.add_argument(
        "--rolling-restart",
        action="store_true",
        help="only restart the app servers one by one, then the worker (after an upgrade)",
    )
    args = parser.parse_args(argv)
    ports = tuple(int(p) for p in args.app_ports.split(","))
    if args.rolling_restart:
        if args.root != Path("/") or args.system:
            parser.error("--rolling-restart restarts this machine's units: use it alone")
        restart_steps(ports, Step())
        return 0
    if not args.server_name:
        parser.error("--server-name is required")
    if args.system and args.root != Path("/"):
        parser.error("--system changes the running machine: use it with --root / only")
    if args.certbot and not args.system:
        parser.error("--certbot needs --system: nginx must serve the site's challenge path")
    root, step = args.root, Step()
    config = root / "etc/anjungan/central.toml"
    if config.exists():
        step.done("central.toml", "unchanged (kept as edited)")
    else:
        write_file(config, central_toml(args), 0o640, step, "central.toml")
    cert, key = TLS_DIR / "central.crt", TLS_DIR / "central.key"
    if (root / cert.relative_to("/")).exists():
        step.done("tls certificate", "unchanged")
    else:
        self_signed_cert(
            root / cert.relative_to("/"), root / key.relative_to("/"), args.server_name
        )
        step.done("tls certificate", "changed (self-signed)")
    (root / CREDENTIALS_DIR.relative_to("/")).mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in SERVER_SECRETS:  # made once: a new key would void sessions and kiosk tokens
        secret = root / CREDENTIALS_DIR.relative_to("/") / name
        if secret.exists():
            step.done(f"secret {name}", "unchanged")
        else:
            write_file(secret, secrets.token_hex(32) + "\n", 0o600, step, f"secret {name}")
    site = nginx_site(server_name=args.server_name, app_ports=ports, cert=cert, key=key)
    write_file(root / "etc/nginx/sites-available/anjungan-central", site, 0o644, step, "nginx")
    hook = renewal_hook(args.server_name)
    write_file(root / RENEWAL_HOOK.relative_to("/"), hook, 0o755, step, "certificate renewal hook")
    acme_webroot(root / ACME_WEBROOT.relative_to("/"), step)
    for unit in UNITS:
        text = (PROJECT / "systemd" / unit).read_text()
        write_file(root / "etc/systemd/system" / unit, text, 0o644, step, unit)
    if args.system:
        system_steps(args, ports, step)
    if args.certbot:
        certbot_steps(
            args.server_name, args.certbot, step, tls_dir=TLS_DIR, hook=RENEWAL_HOOK,
            acme_server=args.acme_server,
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
