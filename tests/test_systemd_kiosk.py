"""The kiosk's unit under the real systemd: ordering, Type=notify, the watchdog, Restart=, sandbox.

tests/systemd_machine.py boots Debian's systemd as PID 1 of a container over a throwaway copy of
this machine, with what a kiosk runs beside the app: CUPS (cups.socket, cups.service), pcscd
(pcscd.socket, with the vpcd reader of /etc/reader.conf.d) and systemd-logind (the unit's
PAMName=login session). A central server (SQLite) runs there as a unit of its own on loopback;
its technician's code enrols the kiosk as provisioning/provision.py --system does it, with the
real systemctl (and moves the seal key an earlier provisioning left in /etc, read-only to the
unit, into the state directory). Then the machine reboots into graphical.target and systemd
starts the shipped anjungan-kiosk.service: the notify relay, the real cage, Xwayland and the
Kivy app; a technician's rotate_seal_key command rotates that key inside the unit's sandbox.

What the test changes, in a drop-in of its own: cage's wlroots back end is the headless one
(the container has no screen, GPU or input devices: WLR_BACKENDS=headless, pixman rendering) and
there is no /dev/tty1 (TTYPath= none, StandardInput=null); the host's own tty1 must never be
touched. udevd cannot run in a container (its unit's ConditionPathIsReadWrite=/sys fails), so
`udevadm control --reload-rules` is the stand-in of tests/standins/udevadm.py (it checks the rules
with the real `udevadm test`). Skipped only where such a machine cannot be booted at all.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Iterator

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk_app.services.receipt_seal import public_key_text
from kiosk_app.services.sealing import read_key
from tests.central.conftest import wait_for
from tests.central.officer.conftest import Staff
from tests.systemd_machine import MASKED, SystemdMachine, cannot_boot
from tests.test_provisioning_system import KIOSK, OFFICE, TECH_PASSWORD, enrolment_code

WHY_NOT = cannot_boot()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"cannot boot systemd: {WHY_NOT}")

UNIT = "anjungan-kiosk.service"
USER = "anjungan"
STATE = "/var/lib/anjungan"  # the unit's StateDirectory= and the kiosk's data_dir
OLD_KEY = "/etc/anjungan/signing.key"
# 43 base64url characters, 32 bytes: a key as provisioning makes them (secrets.token_urlsafe)
OLD_KEY_TEXT = "kiosk-seal-key-from-an-earlier-provisioning\n"
CENTRAL = "http://127.0.0.1:8000"
CENTRAL_DB = "sqlite:////var/lib/test-central/central.db"
# a kiosk's machine runs CUPS, pcscd and logind; the rest stays masked as for the central server
KIOSK_MASKED = tuple(
    unit
    for unit in MASKED
    if unit not in ("cups.service", "cups.socket", "cups.path", "pcscd.socket")
    and unit != "systemd-logind.service"
)
CENTRAL_UNIT = f"""[Unit]
Description=A central server for the kiosk test (development settings, SQLite)
[Service]
ExecStart=/opt/anjungan/.venv/bin/anjungan central --host 127.0.0.1 --port 8000 --db {CENTRAL_DB}
StateDirectory=test-central
[Install]
WantedBy=multi-user.target
"""
HEADLESS = """[Service]
Environment=WLR_BACKENDS=headless WLR_RENDERER=pixman WLR_LIBINPUT_NO_DEVICES=1
TTYPath=
StandardInput=null
"""
UDEVADM = '#!/bin/sh\nexec /usr/bin/python3 /opt/anjungan/tests/standins/udevadm.py "$@"\n'
PROVISION = [
    "/usr/bin/python3", "/opt/anjungan/provisioning/provision.py", "--system",
    "--kiosk-id", KIOSK, "--office-code", OFFICE, "--central-url", CENTRAL,
    "--printer-usb", "0416:5011", "--cups-uri", "ipp://localhost:8631/ipp/print",
]  # fmt: skip
APP = re.compile(r"^\S*python\S* \S*/anjungan kiosk ")


def journal(machine: SystemdMachine, *selection: str) -> str:
    return machine.run("journalctl", "-b", "--no-pager", "-o", "cat", *selection).stdout


def state(machine: SystemdMachine) -> dict[str, str]:
    return machine.show(UNIT, "ActiveState", "SubState", "MainPID", "NRestarts", "Result")


def app_pid(machine: SystemdMachine) -> int:
    """The Kivy app's process (cage's child), 0 while there is none."""
    listed = machine.run("ps", "-e", "-o", "pid=,args=").stdout.splitlines()
    pids = [int(pid) for pid, _, args in (line.strip().partition(" ") for line in listed)
            if APP.match(args)]  # fmt: skip
    return pids[0] if len(pids) == 1 else 0


def ready(machine: SystemdMachine) -> bool:
    now = state(machine)
    assert now["ActiveState"] != "failed", journal(machine, "-u", UNIT)[-3000:]
    return now["ActiveState"] == "active" and app_pid(machine) != 0


def heartbeat(machine: SystemdMachine) -> str | None:
    """The devices of the kiosk's last heartbeat, as the central server stored them."""
    query = (
        "import sqlite3, sys; row = sqlite3.connect(sys.argv[1]).execute("
        "'SELECT devices_json FROM kiosk_states WHERE kiosk_id = ?', [sys.argv[2]]).fetchone();"
        "print(row[0] if row else '')"
    )
    done = machine.run("/usr/bin/python3", "-c", query, "/var/lib/test-central/central.db", KIOSK)
    return done.stdout.strip() or None


def signing_keys(machine: SystemdMachine) -> list[tuple[str, str, str]]:
    """The kiosk's seal keys as the central server holds them: (key, state, registered by)."""
    query = (
        "import json, sqlite3, sys; print(json.dumps(sqlite3.connect(sys.argv[1]).execute("
        "'SELECT public_key, state, registered_by FROM kiosk_signing_keys WHERE kiosk_id = ?"
        " ORDER BY id', [sys.argv[2]]).fetchall()))"
    )
    done = machine.run("/usr/bin/python3", "-c", query, "/var/lib/test-central/central.db", KIOSK)
    return [tuple(row) for row in json.loads(done.stdout or "[]")]


def seal_key_files(machine: SystemdMachine) -> dict[str, tuple[str, str]]:
    """The state directory and the seal key files in it: mode and owner (user:group)."""
    listed = machine.run("sh", "-c", f"stat -c '%n %a %U:%G' {STATE} {STATE}/signing.key*")
    return {name: (mode, owner) for name, mode, owner in map(str.split, listed.stdout.splitlines())}


def public_key_in(machine: SystemdMachine, path: str) -> str:
    return public_key_text(Ed25519PrivateKey.from_private_bytes(read_key(machine.path(path))))


def write(machine: SystemdMachine, path: str, text: str, mode: int = 0o644) -> None:
    target = machine.path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(mode)


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemdMachine]:
    """A kiosk provisioned by provision.py --system under systemd, rebooted into its target."""
    scratch = tmp_path_factory.mktemp("systemd-kiosk") / "machine"
    machine = SystemdMachine(scratch, masked=KIOSK_MASKED, target="graphical.target")
    try:
        machine.start()
        write(machine, "/etc/systemd/system/test-central.service", CENTRAL_UNIT)
        started = machine.run("systemctl", "enable", "--now", "test-central.service")
        assert started.returncode == 0, started.stderr
        wait_for(lambda: machine.on_loopback(central_answers), timeout_s=90)
        code = machine.on_loopback(enrolment_code(machine, as_user="root", db=CENTRAL_DB,
                                                  base=CENTRAL))  # fmt: skip
        write(machine, "/usr/local/sbin/udevadm", UDEVADM, 0o755)
        # a seal key where provisioning used to write it, read-only to the kiosk: moved
        write(machine, OLD_KEY, OLD_KEY_TEXT, 0o600)
        done = machine.run(*PROVISION, f"--enrolment-code={code}")
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        assert f"signing key: moved from {OLD_KEY} to {STATE}/signing.key" in done.stdout
        for step in ("user", "enrolment", "signing key", "udev reload", "enable units"):
            assert f"{step}: changed" in done.stdout, done.stdout
        calls = machine.path("/run/standin/calls.log").read_text()  # /run: gone at the reboot
        assert '["udevadm", "control", "--reload-rules"]' in calls
        write(machine, f"/etc/systemd/system/{UNIT}.d/test-headless.conf", HEADLESS)
        machine.reboot()  # a kiosk's power-on: systemd starts what provisioning enabled
        wait_for(lambda: ready(machine), timeout_s=120)
        yield machine
    finally:
        machine.close()
        shutil.rmtree(scratch, ignore_errors=True)


def central_answers() -> bool:
    with requests.Session() as session:
        session.trust_env = False
        try:
            return session.get(f"{CENTRAL}/health", timeout=5).ok
        except requests.RequestException:
            return False


def test_at_boot_the_kiosk_starts_after_its_services_and_says_it_is_ready(
    kiosk: SystemdMachine,
) -> None:
    read = kiosk.show(UNIT, "After", "Wants", "WantedBy", "UnitFileState", "Type")
    after = set(read["After"].split())
    assert {"pcscd.socket", "cups.service", "network-online.target"} <= after
    assert "systemd-user-sessions.service" in after
    assert {"pcscd.socket", "network-online.target"} <= set(read["Wants"].split())
    assert (read["WantedBy"], read["UnitFileState"]) == ("graphical.target", "enabled")
    # everything it is ordered after was up before systemd started it
    up = {
        unit: int(kiosk.show(unit, "ActiveEnterTimestampMonotonic")[
            "ActiveEnterTimestampMonotonic"])
        for unit in ("pcscd.socket", "cups.service", "network-online.target",
                     "systemd-user-sessions.service")
    }  # fmt: skip
    started = kiosk.show(UNIT, "ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic")
    exec_start = int(started["ExecMainStartTimestampMonotonic"])
    assert all(0 < when < exec_start for when in up.values()), (up, exec_start)
    # Type=notify: active only once the app said READY=1 (through the relay), first boot's try
    assert int(started["ActiveEnterTimestampMonotonic"]) > exec_start
    assert (state(kiosk)["NRestarts"], read["Type"]) == ("0", "notify")
    # its state directory, made by systemd for the kiosk user alone (personal data)
    info = kiosk.run("stat", "-c", "%a %U %G", "/var/lib/anjungan").stdout.split()
    assert info == ["700", USER, USER]
    assert kiosk.path("/var/lib/anjungan/outbox.db").exists()
    # the simulated devices behind it: pcscd was started by its socket for the kiosk's reader
    log = journal(kiosk)
    assert "PC/SC readers: card='Virtual PCD 00 00'" in log
    assert kiosk.show("pcscd.service", "ActiveState")["ActiveState"] == "active"

    wait_for(lambda: heartbeat(kiosk) is not None, timeout_s=90)  # the server hears from it
    assert "card_reader" in json.loads(heartbeat(kiosk) or "{}")
    # udevd does not run in a container: the rules went to the udevadm stand-in
    udevd = kiosk.show("systemd-udevd.service", "ConditionResult", "ActiveState")
    assert udevd == {"ConditionResult": "no", "ActiveState": "inactive"}


def test_the_app_sees_only_what_its_unit_allows(kiosk: SystemdMachine) -> None:
    """User=, SupplementaryGroups=, ProtectSystem=full, PrivateTmp=, /home and /root closed,
    NoNewPrivileges=, looked at from inside the running app's mount namespace."""
    uid = kiosk.run("id", "-u", USER).stdout.strip()
    gid = kiosk.run("id", "-g", USER).stdout.strip()
    setup = "mkdir -p /home/x && echo x > /home/x/private && echo r > /root/private"
    assert kiosk.run("sh", "-c", f"{setup} && echo m > /tmp/machine-tmp").returncode == 0
    pid = str(app_pid(kiosk))

    def inside(*command: str, as_user: bool = False) -> tuple[int, str]:
        user = ["-S", uid, "-G", gid] if as_user else []
        done = kiosk.run("nsenter", "-t", pid, "-m", *user, "--", *command)
        return done.returncode, done.stdout + done.stderr

    # /home and /root: empty and closed, even to root in there
    for directory in ("/home", "/root"):
        assert inside("ls", "-A", directory) == (0, ""), directory
        code, said = inside("ls", directory, as_user=True)
        assert code != 0 and "Permission denied" in said, said
    assert kiosk.path("/home/x/private").exists()  # the machine's own view still has them
    # ... but not /run/user: logind's session directory holds cage's Wayland socket
    code, said = inside("ls", "-A", f"/run/user/{uid}", as_user=True)
    assert code == 0 and "wayland-0" in said.split(), said
    # ProtectSystem=full: /usr, /etc and /boot read-only; the state directory writable
    for directory in ("/usr", "/etc", "/boot"):
        code, said = inside("touch", f"{directory}/probe")
        assert code != 0 and "Read-only file system" in said, (directory, said)
    assert inside("touch", "/var/lib/anjungan/probe", as_user=True) == (0, "")
    # PrivateTmp=yes: its own /tmp
    assert "machine-tmp" not in inside("ls", "-A", "/tmp")[1].split()
    assert inside("touch", "/tmp/app-tmp", as_user=True) == (0, "")
    assert not kiosk.path("/tmp/app-tmp").exists()
    # User=, the device groups (serial printer and scanner, CUPS, screen, input), no new privileges
    status = kiosk.path(f"/proc/{pid}/status").read_text()
    assert f"Uid:\t{uid}\t" in status and "NoNewPrivs:\t1" in status
    groups = set(re.search(r"^Groups:\t(.*)$", status, re.M).group(1).split())  # type: ignore[union-attr]
    for group in ("dialout", "lp", "video", "input", "render", "scanner"):
        assert kiosk.run("getent", "group", group).stdout.split(":")[2] in groups, group
    # the app runs in the logind session PAMName= opened (outside the unit's cgroup: hence the
    # relay), the relay is the unit's main process
    cgroup = kiosk.run("cat", f"/proc/{pid}/cgroup").stdout  # as the machine's cgroups see it
    assert re.search(r"^0::/user\.slice/user-\d+\.slice/session-\d+\.scope$", cgroup, re.M)
    main = kiosk.path(f"/proc/{state(kiosk)['MainPID']}/cmdline").read_bytes().split(b"\0")
    assert main[1:3] == [b"/opt/anjungan/.venv/bin/anjungan", b"notify-relay"]


def test_the_fleet_rotates_the_seal_key_of_the_sandboxed_kiosk(kiosk: SystemdMachine) -> None:
    """The fleet's "Ganti kunci segel": the technician's rotate_seal_key command reaches the
    running app with a heartbeat; under ProtectSystem=full it writes the new key beside the old
    one in its state directory, proves it with the old, and the server holds it in force. Every
    key file is the kiosk user's, 0600, in its 0700 state directory; /etc holds none (the
    key an earlier provisioning left there was moved, and is the one rotated)."""
    key = f"{STATE}/signing.key"
    owned = (("700", f"{USER}:{USER}"), ("600", f"{USER}:{USER}"))
    assert seal_key_files(kiosk) == dict(zip((STATE, key), owned, strict=True))
    assert not kiosk.path(OLD_KEY).exists()
    old = public_key_in(kiosk, key)
    seed = base64.urlsafe_b64decode(OLD_KEY_TEXT.strip() + "=")  # provisioning moved that key
    assert old == public_key_text(Ed25519PrivateKey.from_private_bytes(seed))

    def queue() -> tuple[Staff, str]:
        tech = Staff(CENTRAL, "teknisi", TECH_PASSWORD)
        assert tech.login_response.status_code == 303, tech.login_response.text
        queued = tech.http.post(
            f"{CENTRAL}/api/v1/fleet/kiosks/{KIOSK}/commands",
            json={"kind": "rotate_seal_key"},
            timeout=10,
        )
        assert queued.status_code == 201, queued.text
        return tech, f"{CENTRAL}/api/v1/fleet/commands/{queued.json()['id']}"

    tech, command = kiosk.on_loopback(queue)

    def result() -> dict[str, str]:
        return dict(kiosk.on_loopback(lambda: tech.http.get(command, timeout=10).json()))

    wait_for(lambda: result()["finished_at"] is not None, timeout_s=180)  # next heartbeat: 60 s
    done = result()
    new = public_key_in(kiosk, key)
    assert (done["status"], done["result_detail"]) == (
        "done",
        f"seal key rotated: {old[:8]} -> {new[:8]}, in force on the server",
    ), journal(kiosk, "-u", UNIT)[-3000:]
    assert new != old
    assert signing_keys(kiosk) == [(old, "in_force", "kiosk"), (new, "in_force", "kiosk+proof")]
    # the old key's file kept aside and removed once the new one was in use: only the new key
    assert seal_key_files(kiosk) == dict(zip((STATE, key), owned, strict=True))


def test_a_frozen_app_is_killed_by_the_watchdog_and_started_again(kiosk: SystemdMachine) -> None:
    """SIGSTOP on the app (what feeds the watchdog): after WatchdogSec systemd kills the unit,
    the relay takes cage and the frozen app down with it, and Restart= starts a new one."""
    before = state(kiosk)
    frozen = app_pid(kiosk)
    assert kiosk.run("kill", "-STOP", str(frozen)).returncode == 0
    wait_for(lambda: int(state(kiosk)["NRestarts"]) > int(before["NRestarts"]), timeout_s=120)
    wait_for(lambda: ready(kiosk), timeout_s=120)
    after = state(kiosk)
    assert int(after["MainPID"]) != int(before["MainPID"])
    assert app_pid(kiosk) != frozen and not kiosk.path(f"/proc/{frozen}").exists()
    said = journal(kiosk, "-u", UNIT)
    assert f"{UNIT}: Watchdog timeout (limit 30s)!" in said


def test_a_crashing_app_is_started_again_every_time(kiosk: SystemdMachine) -> None:
    """SIGKILL on the app, again and again: systemd's default start limit (and the unit's old
    10 starts in 5 minutes) would leave the kiosk failed for good; a lobby kiosk must return."""
    restarts = int(state(kiosk)["NRestarts"])
    killed = [0]

    def new_app() -> bool:
        assert state(kiosk)["ActiveState"] != "failed", journal(kiosk, "-u", UNIT)[-2000:]
        return app_pid(kiosk) not in (0, killed[-1])

    for _ in range(11):  # each as soon as the new app exists: 11 starts in about 30 s
        wait_for(new_app, timeout_s=60)
        killed.append(app_pid(kiosk))
        kiosk.run("kill", "-KILL", str(killed[-1]))
    wait_for(lambda: ready(kiosk), timeout_s=120)
    after = state(kiosk)
    assert (after["ActiveState"], after["Result"]) == ("active", "success")
    assert int(after["NRestarts"]) == restarts + 11
    assert kiosk.show(UNIT, "StartLimitIntervalUSec")["StartLimitIntervalUSec"] == "0"
