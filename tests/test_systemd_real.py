"""The central server's units under the real systemd: ordering, Restart=, PartOf=, the sandbox.

tests/systemd_machine.py boots Debian's systemd as PID 1 of a container over a throwaway copy of
this machine (its own PostgreSQL cluster postgresql@15-main and nginx, enabled as on the host
image). provisioning/central.py --system runs there with the real systemctl, the machine
reboots cleanly, and then systemd itself is asked what it did: in which order it started the
units, whether it restarts a killed app server (and a crash-looping one), whether stopping the
target stops its parts, and what a service can see (ProtectHome=, ProtectSystem=, PrivateTmp=,
LoadCredential=, NoNewPrivileges=). Skipped only where such a machine cannot be booted at all
(not root, no systemd, no cgroup2): CI's machines boot it.
"""

from __future__ import annotations

import collections
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.central.conftest import wait_for
from tests.system_sandbox import join_network
from tests.systemd_machine import SystemdMachine, cannot_boot
from tests.test_provisioning_system import BASE, CENTRAL, CENTRAL_UNITS, PORTS, https

WHY_NOT = cannot_boot()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"cannot boot systemd: {WHY_NOT}")

TARGET = "anjungan-central.target"
APP = CENTRAL_UNITS[0]  # anjungan-central@8001.service
CLUSTER = "postgresql@15-main.service"  # central.py installs postgresql-15: Debian's cluster
SERVICE_USER = "anjungan-central"
THROUGH_NGINX = "https://127.0.0.1/health"  # the certificate names 127.0.0.1 too
ROLLING_RESTART = ["/usr/bin/python3", "/opt/anjungan/provisioning/central.py", "--rolling-restart",
                   "--app-ports", ",".join(PORTS)]  # fmt: skip


def answers(machine: SystemdMachine, url: str) -> bool:
    """One GET over the machine's loopback: 2xx or not (refused, 502 from nginx...)."""

    def get() -> bool:
        with https(machine) as session:
            try:
                return session.get(url, timeout=5).ok
            except requests.RequestException:
                return False

    return machine.on_loopback(get)


def all_up(machine: SystemdMachine) -> Callable[[], bool]:
    def up() -> bool:
        direct = [answers(machine, f"http://127.0.0.1:{port}/health") for port in PORTS]
        return all(direct) and answers(machine, THROUGH_NGINX)

    return up


def journal(machine: SystemdMachine) -> str:
    return machine.run("journalctl", "-b", "--no-pager", "-n", "80").stdout


def main_pid(machine: SystemdMachine, unit: str) -> int:
    return int(machine.show(unit, "MainPID")["MainPID"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemdMachine]:
    """A central server provisioned by central.py --system under systemd, then rebooted."""
    scratch = tmp_path_factory.mktemp("systemd") / "machine"
    machine = SystemdMachine(scratch)
    try:
        machine.start()
        done = machine.run(*CENTRAL)
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{journal(machine)}"
        assert "start: changed" in done.stdout
        wait_for(all_up(machine), timeout_s=90)
        machine.reboot()  # what an installed server does at every power-on, from the enabled units
        wait_for(all_up(machine), timeout_s=90)
        yield machine
    finally:
        machine.close()
        shutil.rmtree(scratch, ignore_errors=True)


def test_at_boot_the_units_start_after_postgresql_and_the_network(
    server: SystemdMachine,
) -> None:
    for unit in CENTRAL_UNITS:  # as systemd read them
        read = server.show(unit, "After", "Wants", "PartOf", "WantedBy", "UnitFileState")
        assert {"postgresql.service", "network-online.target"} <= set(read["After"].split())
        assert "network-online.target" in read["Wants"].split()
        assert read["PartOf"] == read["WantedBy"] == TARGET
        assert read["UnitFileState"] == "enabled"
    assert server.show(TARGET, "WantedBy")["WantedBy"] == "multi-user.target"
    # the boot after provisioning: PostgreSQL accepted connections (pg_ctlcluster returned)
    # and the network was online before any of them was started, so none had to be restarted
    ready = [
        int(server.show(unit, "ActiveEnterTimestampMonotonic")["ActiveEnterTimestampMonotonic"])
        for unit in (CLUSTER, "postgresql.service", "network-online.target")
    ]
    for unit in CENTRAL_UNITS:
        started = server.show(unit, "ExecMainStartTimestampMonotonic", "NRestarts", "ActiveState")
        assert int(started["ExecMainStartTimestampMonotonic"]) > max(ready) > 0, (unit, ready)
        assert (started["NRestarts"], started["ActiveState"]) == ("0", "active"), unit
    log = server.run("journalctl", "-b", "--no-pager", "-o", "cat", "_PID=1").stdout
    assert log.index(f"Started {CLUSTER}") < log.index(f"Starting {APP}")


def test_a_killed_app_server_comes_back_while_nginx_answers_from_the_other(
    server: SystemdMachine,
) -> None:
    before = server.show(APP, "MainPID", "NRestarts")
    killed = int(before["MainPID"])
    assert server.run("kill", "-KILL", str(killed)).returncode == 0
    wait_for(lambda: main_pid(server, APP) != killed, timeout_s=30)  # systemd saw it die
    refused_while_nginx_answered = 0

    def back() -> bool:
        nonlocal refused_while_nginx_answered
        direct = answers(server, f"http://127.0.0.1:{PORTS[0]}/health")
        assert answers(server, THROUGH_NGINX), "nginx did not answer while @8001 was down"
        refused_while_nginx_answered += not direct
        return direct

    wait_for(back, timeout_s=60)  # restarted (RestartSec=1) and listening again
    after = server.show(APP, "MainPID", "NRestarts", "ActiveState")
    assert int(after["MainPID"]) not in (0, killed)
    assert int(after["NRestarts"]) == int(before["NRestarts"]) + 1
    assert after["ActiveState"] == "active"
    assert refused_while_nginx_answered > 0  # the other app server answered meanwhile


def test_an_app_server_dying_again_and_again_is_restarted_every_time(
    server: SystemdMachine,
) -> None:
    """systemd's default start limit (5 starts in 10 s) would leave it failed after the 6th
    death in a row (it did, before StartLimitIntervalSec=0); the unit says never give up."""
    restarts = int(server.show(APP, "NRestarts")["NRestarts"])
    killed: list[int] = [0]
    for _ in range(6):  # each as soon as the new process exists: 6 starts in about 6 s
        wait_for(lambda: main_pid(server, APP) not in (0, killed[-1]), timeout_s=30)
        killed.append(main_pid(server, APP))
        server.run("kill", "-KILL", str(killed[-1]))
    wait_for(all_up(server), timeout_s=60)
    after = server.show(APP, "NRestarts", "ActiveState", "Result")
    assert (after["ActiveState"], after["Result"]) == ("active", "success")
    assert int(after["NRestarts"]) == restarts + 6
    for unit in CENTRAL_UNITS:  # the worker too (its deaths cost 2 s each to show)
        assert server.show(unit, "StartLimitIntervalUSec")["StartLimitIntervalUSec"] == "0"


def test_the_target_restarts_and_stops_its_app_servers_and_worker(
    server: SystemdMachine,
) -> None:
    """central.py restarts the target when a unit file changed: PartOf= carries it over."""
    before = {unit: main_pid(server, unit) for unit in CENTRAL_UNITS}
    assert server.run("systemctl", "restart", TARGET).returncode == 0
    after = {unit: main_pid(server, unit) for unit in CENTRAL_UNITS}
    assert all(after[unit] not in (0, before[unit]) for unit in CENTRAL_UNITS), (before, after)
    assert server.run("systemctl", "stop", TARGET).returncode == 0

    def stopped() -> bool:  # the target's own stop job ends first (it is ordered after them)
        states = {server.show(unit, "ActiveState")["ActiveState"] for unit in CENTRAL_UNITS}
        return states == {"inactive"}

    wait_for(stopped, timeout_s=60)
    assert not answers(server, THROUGH_NGINX)
    assert server.run("systemctl", "start", TARGET).returncode == 0
    wait_for(all_up(server), timeout_s=60)


def test_a_rolling_restart_restarts_each_app_server_cleanly_and_nginx_answers_every_post(
    server: SystemdMachine,
) -> None:
    """`central.py --rolling-restart` (an upgrade): each app server stopped (it drains) and
    started again in turn, then the worker; POSTs sent through nginx all along are each
    answered by an app server (no kiosk token here: its 401), never by nginx's 502."""
    before = {unit: main_pid(server, unit) for unit in CENTRAL_UNITS}
    restarts = {unit: server.show(unit, "NRestarts")["NRestarts"] for unit in CENTRAL_UNITS}
    stop, statuses = threading.Event(), collections.Counter[int]()

    def post_until_stopped() -> None:
        join_network(server.pid)  # this thread only: the machine's loopback
        with https(server) as session:
            while not stop.is_set():
                try:
                    beat = session.post(f"{BASE}/api/v1/fleet/heartbeat", json={}, timeout=30)
                    statuses[beat.status_code] += 1
                except requests.RequestException as exc:  # counted, and the test fails on it
                    statuses[-1] += 1
                    print(exc)

    load = threading.Thread(target=post_until_stopped)
    load.start()
    try:
        done = server.run(*ROLLING_RESTART, timeout=300)
    finally:
        stop.set()
        load.join(timeout=60)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{journal(server)}"
    assert [line for line in done.stdout.splitlines() if "restart" in line] == [
        *(f"anjungan-central@{port}.service restart: changed" for port in PORTS),
        "worker restart: changed",
    ]
    after = {unit: main_pid(server, unit) for unit in CENTRAL_UNITS}
    for unit in CENTRAL_UNITS:  # a new process each, stopped cleanly (not a crash's restart)
        assert after[unit] not in (0, before[unit]), unit
        shown = server.show(unit, "NRestarts", "ActiveState", "Result")
        assert shown == {"NRestarts": restarts[unit], "ActiveState": "active", "Result": "success"}
    assert set(statuses) == {401} and statuses[401] > 0, statuses
    for port in PORTS:
        log = server.run(
            "journalctl", "-b", "--no-pager", "-o", "cat", "-u", f"anjungan-central@{port}"
        ).stdout
        assert "draining:" in log and "drain ended with" not in log


def test_while_postgresql_is_down_the_app_servers_keep_trying_and_come_back_with_it(
    server: SystemdMachine,
) -> None:
    """After= orders, nothing Requires= PostgreSQL (Debian's postgresql.service is a oneshot
    umbrella, and database_url may name another machine): an app server started while the
    database is down exits, is restarted until the database is back, then serves, with no one
    typing systemctl."""
    assert server.run("systemctl", "stop", "postgresql.service").returncode == 0
    # the cluster is PartOf= it (and stops after it: its own job ends first)
    wait_for(lambda: server.show(CLUSTER, "ActiveState")["ActiveState"] == "inactive", 60)
    restarts = int(server.show(APP, "NRestarts")["NRestarts"])
    assert server.run("systemctl", "restart", TARGET).returncode == 0
    wait_for(lambda: int(server.show(APP, "NRestarts")["NRestarts"]) > restarts, 60)
    assert not answers(server, THROUGH_NGINX)
    assert server.run("systemctl", "start", "postgresql.service").returncode == 0
    wait_for(all_up(server), timeout_s=60)
    assert server.show(APP, "ActiveState")["ActiveState"] == "active"
    died = server.run("journalctl", "-b", "--no-pager", "-o", "cat", "-u", APP).stdout
    assert 'connection to server on socket "/run/postgresql/.s.PGSQL.5432" failed' in died


def test_a_service_sees_only_what_its_unit_allows(server: SystemdMachine) -> None:
    """ProtectHome=, ProtectSystem=strict, PrivateTmp=, LoadCredential=, NoNewPrivileges=,
    applied by systemd and looked at from inside the running app server's mount namespace."""
    ids = (
        server.run("id", "-u", SERVICE_USER).stdout.strip(),
        server.run("id", "-g", SERVICE_USER).stdout.strip(),
    )
    setup = "mkdir -p /home/x && echo x > /home/x/private && echo r > /root/private"
    assert server.run("sh", "-c", f"{setup} && echo m > /tmp/machine-tmp").returncode == 0
    pid = str(main_pid(server, APP))
    other = str(main_pid(server, CENTRAL_UNITS[1]))

    def inside(*command: str, as_user: bool = False, of: str = pid) -> tuple[int, str]:
        user = ["-S", ids[0], "-G", ids[1]] if as_user else []
        done = server.run("nsenter", "-t", of, "-m", *user, "--", *command)
        return done.returncode, done.stdout + done.stderr

    # ProtectHome=yes: /home, /root and /run/user empty and closed, even to root in there
    for directory in ("/home", "/root", "/run/user"):
        assert inside("ls", "-A", directory) == (0, ""), directory
        code, said = inside("ls", directory, as_user=True)
        assert code != 0 and "Permission denied" in said, said
    assert server.path("/home/x/private").exists()  # the machine's own view still has them
    # ProtectSystem=strict: everything read-only but the state directory
    for directory in ("/etc", "/usr", "/opt/anjungan", "/var/lib/postgresql"):
        code, said = inside("touch", f"{directory}/probe")
        assert code != 0 and "Read-only file system" in said, (directory, said)
    assert inside("touch", "/var/lib/anjungan-central/probe", as_user=True) == (0, "")
    # PrivateTmp=yes: its own /tmp, neither the machine's nor the other app server's
    assert inside("ls", "-A", "/tmp")[1].split() == []
    assert inside("touch", "/tmp/app-tmp", as_user=True) == (0, "")
    assert not server.path("/tmp/app-tmp").exists()
    assert inside("ls", "-A", "/tmp", of=other)[1].split() == []
    # LoadCredential=: the root-only secrets readable by the service as credentials only
    environ = server.path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    credentials = f"/run/credentials/{APP}"
    assert f"CREDENTIALS_DIRECTORY={credentials}".encode() in environ
    secret = server.path("/etc/anjungan/credentials/session-key").read_text()
    assert inside("cat", f"{credentials}/session-key", as_user=True) == (0, secret)
    code, said = inside("cat", "/etc/anjungan/credentials/session-key", as_user=True)
    assert code != 0 and "Permission denied" in said
    code, said = inside("touch", f"{credentials}/probe")
    assert code != 0 and "Read-only file system" in said
    worker = str(main_pid(server, "anjungan-central-worker.service"))
    assert inside("ls", "/run/credentials/anjungan-central-worker.service", of=worker)[0] != 0
    # User=, NoNewPrivileges=yes
    status = server.path(f"/proc/{pid}/status").read_text()
    assert f"Uid:\t{ids[0]}\t" in status and "NoNewPrivs:\t1" in status


def test_the_machine_is_gone_from_the_host_after_close(tmp_path: Path) -> None:
    """Nothing of a machine outlives close(): no process, no sub-cgroup; the host's /tmp kept."""
    canary = Path("/tmp") / f"anjungan-canary-{tmp_path.name}"
    canary.write_text("still here\n")
    machine = SystemdMachine(tmp_path / "machine").start()
    pid, cgroup = machine.pid, machine.cgroup
    try:
        assert cgroup is not None and (cgroup / "init.scope").is_dir()  # systemd's own tree
    finally:
        machine.close()
    try:
        assert not Path(f"/proc/{pid}").exists() and not cgroup.exists()
        assert canary.read_text() == "still here\n"
    finally:
        canary.unlink()
        shutil.rmtree(tmp_path / "machine", ignore_errors=True)
