"""A throwaway copy of this machine for the provisioning scripts' --system steps.

Each Sandbox is a private mount and PID namespace (and its own network namespace, or another
sandbox's): /etc, /var and /usr are overlays of the host's (writes land in a tmpfs and vanish
with the sandbox), /run and /tmp are fresh tmpfs, and /opt/anjungan is an overlay of this
checkout with the test's venv at /opt/anjungan/.venv, where the units expect the installed
project. Commands run inside as root with nsenter, so useradd, dpkg-query, nginx, psql and
provisioning itself act on real files that nothing outside ever sees. Killing the sandbox's
first process ends every process inside (the services the stand-in systemctl started, nginx).

PostgreSQL: the test's server (tests/central/postgres.py) runs outside; its socket is bind-mounted
at /run/postgresql/.s.PGSQL.5432, where Debian's clients and the central server look for the
local cluster. systemctl and udevadm are stand-ins on PATH (tests/standins/: why, there).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STANDINS = ROOT / "tests" / "standins"
PR_SET_PDEATHSIG = 1
CLONE_NEWNET = 0x40000000
PATH = "/run/standin/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Runs as the sandbox's first process: mounts, then reaps orphans until killed.
SETUP = r"""
set -euo pipefail
scratch=$1 project=$2 venv=$3 pg_socket=$4 standins=$5
mount -t tmpfs -o mode=0700 sandbox "$scratch"
for dir in etc var usr root; do
  mkdir -p "$scratch/$dir/upper" "$scratch/$dir/work"
  # files mounted over /etc (a container's hosts, resolv.conf): keep their content
  mounted=$(findmnt -rn -o TARGET | grep "^/$dir/" || true)
  for file in $mounted; do
    [ -f "$file" ] && cp -a "$file" "$scratch/$dir/keep.$(basename "$file")"
  done
  mount -t overlay overlay \
    -o "lowerdir=/$dir,upperdir=$scratch/$dir/upper,workdir=$scratch/$dir/work" "/$dir"
  for file in $mounted; do
    keep="$scratch/$dir/keep.$(basename "$file")"
    [ -f "$keep" ] && cat "$keep" > "$file"
  done
done
# the units' users run the venv's interpreter: on a developer's machine it may live under /root
# (pyenv); a venv made by Debian's python3, as in CI and production, needs no such thing
chmod 0711 /root
# a fresh machine as far as Anjungan goes, whatever the host holds
rm -rf /etc/anjungan /var/lib/anjungan /var/lib/anjungan-central /etc/nginx/sites-enabled/anjungan-*
mount -t tmpfs -o mode=0755 run /run
mkdir -p /run/lock /run/standin/bin /run/postgresql
chown postgres:postgres /run/postgresql && chmod 2775 /run/postgresql
if [ -n "$pg_socket" ]; then
  touch /run/postgresql/.s.PGSQL.5432
  mount --bind "$pg_socket" /run/postgresql/.s.PGSQL.5432
fi
for tool in systemctl udevadm; do
  printf '#!/bin/sh\nexec /usr/bin/python3 %s/%s.py "$@"\n' "$standins" "$tool" \
    > /run/standin/bin/$tool
  chmod 0755 /run/standin/bin/$tool
done
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=0755 opt /opt
mkdir -p "$scratch/opt/upper" "$scratch/opt/work" /opt/anjungan
mount -t overlay overlay \
  -o "lowerdir=$project,upperdir=$scratch/opt/upper,workdir=$scratch/opt/work" /opt/anjungan
if [ "$(readlink -f "$project/.venv" || true)" != "$(readlink -f "$venv")" ]; then
  mkdir -p /opt/anjungan/.venv && mount --bind "$venv" /opt/anjungan/.venv
fi
ip link set lo up 2>/dev/null || true
echo ready
exec /usr/bin/python3 -c '
import os, time
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.2)
'
"""


def die_with_parent() -> None:
    """SIGKILL this child when the test process dies, whatever way it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def join_network(pid: int) -> None:
    """This thread (only) into the network namespace of process `pid`: loopback is its."""
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
    finally:
        os.close(fd)


class Sandbox:
    """Start with start(), run commands with run(), read its files at path(), end with close()."""

    def __init__(self, scratch: Path, *, pg_socket: Path | None = None) -> None:
        self.scratch = scratch
        self.pg_socket = pg_socket
        self.pid = 0
        self.process: subprocess.Popen[str] | None = None

    def start(self, *, network_of: Sandbox | None = None) -> Sandbox:
        """Make the namespaces and mounts; `network_of`: share that sandbox's loopback."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        net = ["nsenter", f"--net=/proc/{network_of.pid}/ns/net", "--"] if network_of else []
        command = [
            *net,
            "unshare", "--mount", "--pid", "--fork", "--mount-proc", "--propagation=private",
            "--kill-child",  # unshare gone (this test killed too): the sandbox ends
            *([] if network_of else ["--net"]),
            "bash", "-c", SETUP, "setup", str(self.scratch), str(ROOT), sys.prefix,
            str(self.pg_socket or ""), str(STANDINS),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            preexec_fn=die_with_parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"PATH": PATH, "LANG": "C.UTF-8"},
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.process.kill()
            raise RuntimeError(f"sandbox setup failed: {self.process.stderr.read()[-3000:]}")
        unshare = self.process.pid
        children = Path(f"/proc/{unshare}/task/{unshare}/children").read_text().split()
        self.pid = int(children[0])  # the namespace's first process (PID 1 inside)
        return self

    def run(
        self, *command: str, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`command` inside, as root, with a clean environment (PATH finds the stand-ins first)."""
        return subprocess.run(
            ["nsenter", "-t", str(self.pid), "-m", "-n", "-p", "--wd=/", "--", *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={"PATH": PATH, "LANG": "C.UTF-8", "HOME": "/root", **(env or {})},
        )

    def path(self, inside: str) -> Path:
        """A file inside, as seen from outside (the sandbox's root through /proc)."""
        return Path(f"/proc/{self.pid}/root") / inside.lstrip("/")

    def close(self) -> None:
        """End every process inside; the mounts and their tmpfs go with the namespace."""
        if self.pid:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
        if self.process is not None:
            self.process.wait(timeout=30)
