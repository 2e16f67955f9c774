#!/usr/bin/env python3
"""Provision a kiosk: packages, user, config and keys, udev names, CUPS queue, enrolment.

Idempotent: every step compares what is there with what should be and only changes the
difference; a second run reports every step "unchanged" (the one-time enrolment code is used once:
a kiosk that already holds a token is not enrolled again unless --re-enrol is given).

Runs with the system's python3 and the standard library only (it runs before the venv exists).
`--root DIR` writes the files under DIR instead of / (a throwaway root for tests and image
builds); steps that change the running system (packages, user, CUPS, systemctl) then need
--system, which only makes sense with --root /.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))
from kiosk_cups import (  # noqa: E402  (a sibling module, not a package)
    CUPS_POLICY,
    KIOSK_USER,
    queue_op_policy,
    with_cups_policy,
)

PACKAGES = [
    "python3",
    "python3-venv",
    "cage",
    "xwayland",
    "pcscd",
    "libccid",
    "cups",
    "cups-client",
    "sane-utils",
    "libsane1",
    "fonts-dejavu-core",
    "espeak-ng",
    "libgl1",
    "libegl1",
    "libgl1-mesa-dri",
    "libmtdev1",
]
KIOSK_UNIT = "anjungan-kiosk.service"
# The kiosk's data dir: its unit's StateDirectory=anjungan (0700, the kiosk user's), writable
# to the kiosk, unlike /etc (ProtectSystem=full). The seal key lives there: the kiosk rewrites it.
DATA_DIR = "/var/lib/anjungan"
SIGNING_KEY = "signing.key"  # in DATA_DIR (kiosk_app.services.sealing.SIGNING_KEY_NAME)
OLD_SIGNING_KEY = "/etc/anjungan/signing.key"  # where provisioning wrote it before: moved
KIOSK_GROUPS = ["video", "input", "render", "dialout", "lp", "scanner"]
CENTRAL_CA = "/etc/anjungan/central-ca.pem"  # the central server's CA, given with --central-ca


class Step:
    """Records what each step did, for the report and for idempotency checks."""

    def __init__(self) -> None:
        self.results: list[tuple[str, str]] = []

    def done(self, name: str, outcome: str) -> None:
        """Note one step's outcome: changed, unchanged or skipped (with why)."""
        self.results.append((name, outcome))
        print(f"{name}: {outcome}")


def write_file(path: Path, content: str | bytes, mode: int, step: Step, name: str) -> None:
    """Write `content` atomically with `mode` unless the file already says exactly that."""
    data = content.encode() if isinstance(content, str) else content
    if path.exists() and path.read_bytes() == data and (path.stat().st_mode & 0o777) == mode:
        step.done(name, "unchanged")
        return
    write_atomic(path, data, mode)
    step.done(name, "changed")


def write_atomic(path: Path, data: bytes, mode: int, owner: str | None = None) -> None:
    """`data` in `path` with `mode` (and `owner` as user and group), whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, mode)
    if owner is not None:
        shutil.chown(tmp, owner, owner)
    os.replace(tmp, path)
    sync_dir(path.parent)


def sync_dir(path: Path) -> None:
    """fsync a directory: the names made or removed in it survive a power cut."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def directory(path: Path, mode: int, step: Step, name: str) -> None:
    """A directory with `mode`, made (with its parents) or set when it is not so already."""
    if path.is_dir() and path.stat().st_mode & 0o777 == mode:
        step.done(name, "unchanged")
        return
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    step.done(name, "changed")


def state_dir(path: Path, step: Step) -> None:
    """The kiosk's state directory, 0700 (systemd makes it so at the unit's start too, and
    gives it to the kiosk user): made now, so that the seal key can be written into it."""
    directory(path, 0o700, step, "state directory")


def signing_key(key: Path, old: Path, step: Step, owner: str | None) -> None:
    """The kiosk's seal key in its state directory, 0600 (`owner`'s with --system).

    Ed25519: the private key is 32 random bytes; it never leaves the kiosk, which sends the
    public half to the central server itself. The kiosk rewrites the file (a planned rotation
    writes `signing.key.next` beside it, a rejected or damaged key is kept aside and replaced),
    so it cannot live in /etc, read-only to the kiosk's unit. A key an earlier provisioning
    wrote to `old` (/etc/anjungan/signing.key) is MOVED here, the same bytes: the server has it
    in force, and a new key would wait for a technician's approval. Never a new key over one.
    """
    if not old.exists():
        if key.exists():
            step.done("signing key", "unchanged")
        else:
            write_atomic(key, (secrets.token_urlsafe(32) + "\n").encode(), 0o600, owner)
            step.done("signing key", "changed")
        return
    moved = old.read_bytes()
    if not key.exists() or key.read_bytes() != moved:
        target = key
        if key.exists():  # the kiosk seals with the state directory's key (sealing.py): kept
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            target = key.with_name(f"{key.name}.etc-{stamp}")
            print(f"signing key: {key} differs from {old}: the latter kept as {target}")
        write_atomic(target, moved, 0o600, owner)
    old.unlink()  # only once the copy is on disk (write_atomic synced it and its folder)
    sync_dir(old.parent)
    print(f"signing key: moved from {old} to {key}")
    step.done("signing key", "changed")


def udev_rules(args: argparse.Namespace) -> str:
    """Stable names for the serial devices, whatever order USB enumerates them in."""
    lines = ["# Written by provisioning/provision.py: stable names for the kiosk's serial devices."]
    for link, usb in (
        ("anjungan-printer", args.printer_usb),
        ("anjungan-scanner", args.scanner_usb),
    ):
        if usb:
            vendor, product = usb.lower().split(":")
            lines.append(
                f'SUBSYSTEM=="tty", ATTRS{{idVendor}}=="{vendor}", '
                f'ATTRS{{idProduct}}=="{product}", '
                f'SYMLINK+="{link}", GROUP="dialout", MODE="0660"'
            )
    return "\n".join(lines) + "\n"


def kiosk_toml(args: argparse.Namespace, token: str | None) -> str:
    """The kiosk's configuration (TOML; read by kiosk_app.config.load_config)."""

    def q(value: str) -> str:
        return json.dumps(value)  # a JSON string is a valid TOML basic string

    lines = [
        "# Written by provisioning/provision.py; edit with care (the kiosk reads it at start).",
        "[kiosk]",
        f"kiosk_id = {q(args.kiosk_id)}",
        f"kiosk_name = {q(args.kiosk_name or args.kiosk_id)}",
        f"office_code = {q(args.office_code)}",
        f"central_url = {q(args.central_url)}",
    ]
    if token:
        lines.append(f"central_token = {q(token)}")
    if args.central_ca:
        lines.append(f"central_ca_file = {q(CENTRAL_CA)}")
    lines += [
        f"data_dir = {q(DATA_DIR)}",
        'language = "id"',
        "fullscreen = true",
        "",
        "[devices]",
        'card_reader = "pcsc"',
        'ticket_printer = "escpos_serial"',
        'ticket_printer_port = "/dev/anjungan-printer"',
        'document_printer = "cups"',
        f"cups_queue = {q(args.cups_queue)}",
        'scanner = "sane"',
        'barcode_scanner = "serial"',
        'barcode_scanner_port = "/dev/anjungan-scanner"',
        "",
    ]
    return "\n".join(lines)


def existing_token(path: Path) -> str | None:
    """The token a previous run stored in kiosk.toml, if any."""
    if not path.exists():
        return None
    import tomllib

    token = tomllib.loads(path.read_text()).get("kiosk", {}).get("central_token")
    return str(token) if token else None


def enrol(args: argparse.Namespace) -> str:
    """Enrol with the central server using the technician's one-time code; return the token."""
    body = json.dumps(
        {
            "kiosk_id": args.kiosk_id,
            "office_code": args.office_code,
            "name": args.kiosk_name or args.kiosk_id,
            "enrolment_code": args.enrolment_code,
        }
    ).encode()
    request = urllib.request.Request(
        args.central_url.rstrip("/") + "/api/v1/kiosks",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    # a central server with a certificate of its own CA (or self-signed): trust that file only
    context = ssl.create_default_context(cafile=args.central_ca) if args.central_ca else None
    try:
        with urllib.request.urlopen(request, timeout=20, context=context) as answer:
            return str(json.load(answer)["token"])
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise SystemExit(f"enrolment refused (HTTP {exc.code}): {detail}") from exc
    except OSError as exc:
        raise SystemExit(f"central server unreachable at {args.central_url}: {exc}") from exc


def run(command: list[str], step: Step | None, name: str) -> str:
    """Run a system command for a --system step; stop with its output when it fails.

    With a `step` the command changed something and is reported; without, it only looked."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        detail = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise SystemExit(f"{name} failed: {' '.join(command)}\n{detail}")
    if step is not None:
        step.done(name, "changed")
    return done.stdout


def succeeds(command: list[str]) -> bool:
    """Whether a checking command (id, systemctl is-enabled ...) exits with 0."""
    return subprocess.run(command, capture_output=True).returncode == 0


def missing_packages(packages: list[str]) -> list[str]:
    """The Debian packages of `packages` that are not installed."""
    return [
        p
        for p in packages
        if subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True
        ).stdout
        != "install ok installed"
    ]


def install_packages(packages: list[str], step: Step, name: str = "packages") -> None:
    """apt-get install what is missing (nothing, and no network, when all are there)."""
    missing = missing_packages(packages)
    if missing:
        run(["apt-get", "install", "-y", "--no-install-recommends", *missing], step, name)
    else:
        step.done(name, "unchanged")


def enable_units(units: list[str], step: Step, *, reload: bool) -> None:
    """systemctl daemon-reload when a unit file changed, and enable the units not yet enabled."""
    if reload:
        run(["systemctl", "daemon-reload"], step, "systemd reload")
    if succeeds(["systemctl", "is-enabled", "--quiet", *units]):
        step.done("enable units", "unchanged")
    else:
        run(["systemctl", "enable", *units], step, "enable units")


def system_steps(args: argparse.Namespace, step: Step) -> None:
    """Packages, the kiosk user and the CUPS queue: the running system, before the files."""
    install_packages(PACKAGES, step)
    if succeeds(["id", KIOSK_USER]):
        step.done("user", "unchanged")
    else:
        groups = [g for g in KIOSK_GROUPS if succeeds(["getent", "group", g])]
        run(
            [
                "useradd",
                "--system",
                "--create-home",
                "--home-dir",
                f"/var/lib/{KIOSK_USER}",
                "--groups",
                ",".join(groups),
                KIOSK_USER,
            ],
            step,
            "user",
        )
    queues = subprocess.run(["lpstat", "-e"], capture_output=True, text=True).stdout.split()
    if args.cups_uri and args.cups_queue not in queues:
        run(
            [
                "lpadmin",
                "-p",
                args.cups_queue,
                "-E",
                "-v",
                args.cups_uri,
                "-m",
                "everywhere",
                "-o",
                "media=iso_a4_210x297mm",
            ],
            step,
            "cups queue",
        )
    else:
        step.done(
            "cups queue", "unchanged" if args.cups_queue in queues else "skipped: no --cups-uri"
        )


def system_files_steps(step: Step, config: Path, key: Path, signing: Path) -> None:
    """After the files: the kiosk user's ownership, udev and systemd told of what changed."""
    changed = {name for name, outcome in step.results if outcome == "changed"}
    owners = {
        config: ("root", KIOSK_USER),
        key: (KIOSK_USER, KIOSK_USER),
        signing.parent: (KIOSK_USER, KIOSK_USER),  # the state directory
        **{path: (KIOSK_USER, KIOSK_USER) for path in signing.parent.glob(f"{signing.name}*")},
    }
    wrong = [
        path
        for path, (user, group) in owners.items()
        if (path.owner(), path.group()) != (user, group)
    ]
    for path in wrong:
        shutil.chown(path, *owners[path])
    step.done("file owners", "changed" if wrong else "unchanged")
    if "udev rules" in changed:
        run(["udevadm", "control", "--reload-rules"], step, "udev reload")
    enable_units([KIOSK_UNIT], step, reload=KIOSK_UNIT in changed)


def cups_queue_policy(args: argparse.Namespace, step: Step, *, restart: bool) -> None:
    """Load the changed policy into cupsd and give it to the kiosk's A4 queue."""
    if restart:
        run(["systemctl", "restart", "cups.service"], step, "cups restart")
    queues = subprocess.run(["lpstat", "-e"], capture_output=True, text=True).stdout.split()
    if args.cups_queue not in queues:
        step.done("cups queue policy", "skipped: no queue")
        return
    if queue_op_policy(args.root / "etc/cups/printers.conf", args.cups_queue) == CUPS_POLICY:
        step.done("cups queue policy", "unchanged")
        return
    run(
        ["lpadmin", "-p", args.cups_queue, "-o", f"printer-op-policy={CUPS_POLICY}"],
        step,
        "cups queue policy",
    )
    # cupsd writes printers.conf up to 30 s later (DirtyCleanInterval); stopping writes it now,
    # so that the next run reads the policy back from the file instead of setting it again
    run(["systemctl", "restart", "cups.service"], None, "cups restart")


def main(argv: list[str] | None = None) -> int:
    """Provision; print one line per step and a JSON summary last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosk-id", required=True)
    parser.add_argument("--kiosk-name")
    parser.add_argument("--office-code", required=True)
    parser.add_argument("--central-url", required=True)
    parser.add_argument("--enrolment-code", help="one-time code from a technician")
    parser.add_argument(
        "--central-ca", help="PEM file of the CA (or self-signed certificate) of the central server"
    )
    parser.add_argument("--re-enrol", action="store_true", help="enrol again (rotates the token)")
    parser.add_argument("--root", type=Path, default=Path("/"))
    parser.add_argument(
        "--system",
        action="store_true",
        help="also install packages, create the user, CUPS queue, enable units",
    )
    parser.add_argument("--printer-usb", help="VID:PID of the serial ticket printer")
    parser.add_argument("--scanner-usb", help="VID:PID of the serial barcode scanner")
    parser.add_argument("--cups-queue", default="A4")
    parser.add_argument(
        "--cups-uri", help="device URI of the A4 printer, e.g. ipp://printer/ipp/print"
    )
    args = parser.parse_args(argv)
    if args.system and args.root != Path("/"):
        parser.error("--system changes the running machine: use it with --root / only")
    step = Step()
    etc = args.root / "etc"
    config = etc / "anjungan" / "kiosk.toml"

    if args.system:
        system_steps(args, step)
    if args.central_ca:  # before enrolling: the kiosk trusts the server's certificate by it
        ca = Path(args.central_ca).read_text(encoding="ascii")
        write_file(args.root / CENTRAL_CA.lstrip("/"), ca, 0o644, step, "central CA")
    token = existing_token(config)
    if token and not args.re_enrol:
        step.done("enrolment", "unchanged")
    elif not args.enrolment_code:
        parser.error("an --enrolment-code from a technician is needed to enrol this kiosk")
    else:
        token = enrol(args)
        step.done("enrolment", "changed")
    write_file(config, kiosk_toml(args, token), 0o640, step, "kiosk.toml")
    key = etc / "anjungan" / "outbox.key"  # encrypts personal data at rest; never leaves the kiosk
    if key.exists():
        step.done("outbox key", "unchanged")
    else:
        write_file(key, secrets.token_urlsafe(32) + "\n", 0o600, step, "outbox key")
    # Seals tickets and receipts: in the state directory, which the kiosk may write
    data = args.root / DATA_DIR.lstrip("/")
    state_dir(data, step)
    signing = data / SIGNING_KEY
    signing_key(
        signing, args.root / OLD_SIGNING_KEY.lstrip("/"), step, KIOSK_USER if args.system else None
    )
    write_file(
        etc / "udev" / "rules.d" / "60-anjungan.rules", udev_rules(args), 0o644, step, "udev rules"
    )
    cupsd_conf = etc / "cups" / "cupsd.conf"
    if cupsd_conf.exists():
        mode = cupsd_conf.stat().st_mode & 0o777
        write_file(cupsd_conf, with_cups_policy(cupsd_conf.read_text()), mode, step, "cups policy")
        if args.system:
            cups_queue_policy(args, step, restart=step.results[-1][1] == "changed")
    else:
        step.done("cups policy", "skipped: CUPS is not installed")
    unit = PROJECT / "systemd" / KIOSK_UNIT  # the central server's units: provisioning/central.py
    write_file(etc / "systemd" / "system" / KIOSK_UNIT, unit.read_text(), 0o644, step, KIOSK_UNIT)
    if args.system:
        system_files_steps(step, config, key, signing)
    print(
        json.dumps(
            {
                "changed": sum(1 for _, o in step.results if o == "changed"),
                "steps": dict(step.results),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
