"""A throwaway copy of this machine booted with the real systemd as its PID 1 (container style).

The test machines are Debian 12 VMs whose PID 1 is not systemd. SystemdMachine boots Debian's own
/lib/systemd/systemd the way systemd-nspawn boots a container, so the unit files are read,
ordered, sandboxed and restarted by systemd itself:

  - new mount, PID, network, UTS, IPC and cgroup namespaces (mount propagation private: no mount
    made inside reaches the host);
  - a new root on a tmpfs: /etc, /var, /usr, /root and /home are overlays of the host's (writes
    land in the tmpfs), /opt/anjungan an overlay of this checkout, /run and /tmp fresh tmpfs of
    the new root; the host's /, /tmp and /run are not in it at all (an earlier attempt booted
    systemd over the host's file system, and systemd-tmpfiles --boot emptied the host's /tmp);
  - /proc of the new PID namespace with /proc/sys read-only, /sys read-only, a /dev of its own
    (null, zero, random..., a new devpts, /dev/console a log file);
  - cgroup2 at /sys/fs/cgroup: a sub-cgroup of the host's cgroup2 hierarchy made for this
    machine, which is the root of the new cgroup namespace, so systemd manages its own tree;
  - capabilities that would change the host kernel (modules, clock, raw I/O, syslog) dropped
    from the bounding set before systemd runs; `container=` tells systemd it is a container.

pivot_root makes the new root the namespace's root before systemd starts; the old root is
detached. Killing the namespace's PID 1 (systemd) ends every process inside; the tmpfs and
mounts go with the namespace, the sub-cgroup is removed by close().

The venv: production's /opt/anjungan/.venv is made by Debian's python3. The test machine's venv
may be made by an interpreter under /root (pyenv), which ProtectHome= hides from the services, so
the machine gets its own /opt/anjungan/.venv made by /usr/bin/python3 (the same 3.11) whose
sys.path holds /opt/anjungan (this checkout) and the test venv's site-packages (read-only).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from tests.system_sandbox import die_with_parent, join_network

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CGROUP2 = Path("/sys/fs/cgroup/unified")  # the hybrid hierarchy's v2 part (or the unified one)
SYSTEMD = Path("/lib/systemd/systemd")
# Units of this image the tests have no use for (printing, mDNS, clock, consoles, timers): not
# started in the machine, so it boots in a few seconds.
MASKED = (
    "avahi-daemon.service", "avahi-daemon.socket", "cups.service", "cups.socket", "cups.path",
    "pcscd.socket", "e2scrub_reap.service", "systemd-timesyncd.service", "systemd-pstore.service",
    "getty@tty1.service", "console-getty.service", "apt-daily.timer", "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer", "e2scrub_all.timer", "fstrim.timer", "man-db.timer",
    "systemd-logind.service", "systemd-journal-flush.service",
)  # fmt: skip
# Capabilities no container should have (nspawn drops them too): the host kernel's modules,
# clock, raw devices, log and audit rules.
DROPPED_CAPS = (
    "-sys_module,-sys_time,-sys_rawio,-syslog,-wake_alarm,-mac_admin,-mac_override,-audit_control"
)

# Runs as the new PID namespace's first process: builds the root, pivots into it, execs systemd.
SETUP = r"""
set -euo pipefail
scratch=$1 project=$2 site=$3 masked=$4 caps=$5 target=$6
fresh=yes
[ -d "$scratch/etc.upper" ] && fresh=no  # booted before: its changes are kept (a reboot)
new=$scratch/root
mkdir -p "$new"
mount -t tmpfs -o mode=0755 root "$new"
for dir in etc var usr root home; do
  mkdir -p "$scratch/$dir.upper" "$scratch/$dir.work" "$new/$dir"
  mount -t overlay overlay \
    -o "lowerdir=/$dir,upperdir=$scratch/$dir.upper,workdir=$scratch/$dir.work" "$new/$dir"
done
for link in bin sbin lib lib64; do
  if [ -L "/$link" ]; then ln -s "$(readlink "/$link")" "$new/$link"; fi
done
mkdir -p "$new/opt/anjungan" "$new/opt/anjungan-site" "$new/proc" "$new/sys" "$new/dev" \
  "$new/run" "$new/tmp" "$new/srv" "$new/mnt" "$new/media" "$new/boot"
mount -t tmpfs -o mode=0755 run "$new/run"
mount -t tmpfs -o mode=1777 tmp "$new/tmp"
mkdir -p "$scratch/opt.upper" "$scratch/opt.work"
mount -t overlay overlay \
  -o "lowerdir=$project,upperdir=$scratch/opt.upper,workdir=$scratch/opt.work" "$new/opt/anjungan"
mount --bind "$site" "$new/opt/anjungan-site"
mount -o remount,bind,ro "$new/opt/anjungan-site"
if [ $fresh = yes ]; then
  # the installed venv, made by Debian's python3 as in production (see the module's docstring)
  rm -rf "$new/opt/anjungan/.venv"
  /usr/bin/python3 -m venv --without-pip "$new/opt/anjungan/.venv"
  venv_site=$(echo "$new"/opt/anjungan/.venv/lib/python3*/site-packages)
  printf '/opt/anjungan\n/opt/anjungan-site\n' > "$venv_site/anjungan.pth"
  cat > "$new/opt/anjungan/.venv/bin/anjungan" <<'SCRIPT'
#!/opt/anjungan/.venv/bin/python
import sys
from kiosk_app.__main__ import main
sys.exit(main())
SCRIPT
  chmod 0755 "$new/opt/anjungan/.venv/bin/anjungan"
  # a fresh machine as far as Anjungan goes, whatever the host holds
  rm -rf "$new/etc/anjungan" "$new/var/lib/anjungan" "$new/var/lib/anjungan-central" \
    "$new"/etc/nginx/sites-enabled/anjungan-*
  # the journal in /run: each boot's own (the host's journal files share the kernel's boot id)
  rm -rf "$new/var/log/journal"
  for unit in $masked; do
    rm -f "$new/etc/systemd/system/$unit"
    ln -s /dev/null "$new/etc/systemd/system/$unit"
  done
fi
# /dev as a container's
mount -t tmpfs -o mode=0755,nosuid dev "$new/dev"
for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
  IFS=: read -r name major minor <<< "$node"
  mknod -m 0666 "$new/dev/$name" c "$major" "$minor"
done
mkdir -p "$new/dev/pts" "$new/dev/shm" "$new/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$new/dev/pts"
ln -s pts/ptmx "$new/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$new/dev/shm"
ln -s /proc/self/fd "$new/dev/fd"
for n in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${n%%:*}" "$new/dev/${n#*:}"; done
touch "$scratch/console" "$new/dev/console"
mount --bind "$scratch/console" "$new/dev/console"
# /proc of this PID namespace, the kernel's settings read-only; /sys read-only; cgroup2 (this
# cgroup namespace's root) writable
mount -t proc -o nosuid,nodev,noexec proc "$new/proc"
for entry in sys sysrq-trigger; do
  [ -e "$new/proc/$entry" ] || continue
  mount --bind "$new/proc/$entry" "$new/proc/$entry"
  mount -o remount,bind,ro "$new/proc/$entry"
done
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$new/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$new/sys/fs/cgroup"
cd "$new"
mkdir .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot
# shared inside this namespace (its peers are only its own copies: the host's mounts are not),
# as nspawn leaves it: systemd moves credentials and the like between its namespaces this way
mount --make-rshared /
exec </dev/null >/dev/console 2>&1
exec setpriv --bounding-set "$caps" -- /usr/bin/env -i container=anjungan-test \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /lib/systemd/systemd "systemd.unit=$target" systemd.show_status=0 \
  systemd.log_level=info
"""


def cgroup2_root() -> Path:
    """Where the host's cgroup2 hierarchy is mounted (hybrid: /sys/fs/cgroup/unified)."""
    return CGROUP2 if (CGROUP2 / "cgroup.procs").exists() else Path("/sys/fs/cgroup")


def cannot_boot() -> str | None:
    """Why this machine cannot boot systemd in a container (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (namespaces, mounts, a sub-cgroup)"
    if not SYSTEMD.exists():
        return f"no {SYSTEMD} (Debian's systemd package)"
    missing = [tool for tool in ("unshare", "nsenter", "setpriv") if shutil.which(tool) is None]
    if missing:
        return f"no {', '.join(missing)} (util-linux)"
    if not (cgroup2_root() / "cgroup.procs").exists():
        return "no cgroup2 hierarchy to delegate a sub-cgroup from"
    if not Path("/proc/self/ns/cgroup").exists():
        return "the kernel has no cgroup namespaces"
    return None


class SystemdMachine:
    """Boot with start(), run commands with run(), read its files at path(), end with close().

    `scratch` (on disk) keeps the machine's changes across reboot(); remove it when done.
    `masked`: the units not started at all (set at the first boot); `target`: what it boots."""

    def __init__(
        self, scratch: Path, *, masked: tuple[str, ...] = MASKED, target: str = "multi-user.target"
    ) -> None:
        self.scratch = scratch
        self.masked = masked
        self.target = target
        self.pid = 0
        self.process: subprocess.Popen[str] | None = None
        self.cgroup: Path | None = None
        self._loopback: ThreadPoolExecutor | None = None

    def _enter_cgroup(self) -> None:
        die_with_parent()
        assert self.cgroup is not None
        (self.cgroup / "cgroup.procs").write_text(f"{os.getpid()}\n")

    def start(self, *, timeout: float = 60) -> SystemdMachine:
        """Make the namespaces, boot systemd and wait until it has finished booting."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.cgroup = cgroup2_root() / f"anjungan-test-{uuid.uuid4().hex[:12]}"
        self.cgroup.mkdir()
        command = [
            "unshare", "--mount", "--propagation=private", "--pid", "--fork", "--net", "--uts",
            "--ipc", "--cgroup", "--kill-child",
            "bash", "-c", SETUP, "setup", str(self.scratch), str(ROOT),
            sysconfig.get_paths()["purelib"], " ".join(self.masked), DROPPED_CAPS, self.target,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            preexec_fn=self._enter_cgroup,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={"PATH": PATH, "LANG": "C.UTF-8"},
        )
        unshare, deadline = self.process.pid, time.monotonic() + timeout
        while not self.pid:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"machine setup failed: {self._stderr()}")
            children = Path(f"/proc/{unshare}/task/{unshare}/children").read_text().split()
            if children and _comm(int(children[0])) == "systemd":
                self.pid = int(children[0])  # the namespace's PID 1, once it is systemd
            else:
                time.sleep(0.05)
        while True:  # the manager's socket appears a moment after exec
            state = self.run("systemctl", "is-system-running", "--wait", timeout=timeout)
            if state.stdout.strip() in ("running", "degraded"):
                return self
            if time.monotonic() > deadline:
                failed = self.run("systemctl", "--failed", "--no-pager").stdout
                raise RuntimeError(f"systemd did not boot: {state.stdout}{state.stderr}{failed}")
            time.sleep(0.2)

    def _stderr(self) -> str:
        if self.process is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read()[-3000:]

    def reboot(self, *, timeout: float = 60) -> SystemdMachine:
        """A clean shutdown (systemd stops every unit), then a boot with the same file system."""
        self.run("systemctl", "poweroff", "--no-block")
        assert self.process is not None
        try:  # systemd's end ends the PID namespace; unshare then exits
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        self.close()
        return self.start(timeout=timeout)

    def run(
        self, *command: str, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`command` inside, as root, with a clean environment."""
        return subprocess.run(
            ["nsenter", "-t", str(self.pid), "-m", "-n", "-p", "-u", "-i", "-C", "-r", "-w",
             "--", *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={"PATH": PATH, "LANG": "C.UTF-8", "HOME": "/root", **(env or {})},
        )  # fmt: skip

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        """`systemctl show -p ...` of one unit, as a dict."""
        done = self.run("systemctl", "show", unit, *[f"--property={p}" for p in properties])
        assert done.returncode == 0, done.stderr
        return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)

    def path(self, inside: str) -> Path:
        """A file inside, as seen from outside (the machine's root through /proc)."""
        return Path(f"/proc/{self.pid}/root") / inside.lstrip("/")

    def on_loopback(self, call: Callable[[], T]) -> T:
        """`call()` in a thread of this process that is in the machine's network namespace."""
        if self._loopback is None:
            self._loopback = ThreadPoolExecutor(1, initializer=join_network, initargs=(self.pid,))
        return self._loopback.submit(call).result(timeout=120)

    def close(self) -> None:
        """Kill systemd (every process inside goes with it), then remove the sub-cgroup."""
        if self._loopback is not None:
            self._loopback.shutdown()
            self._loopback = None
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = 0
        if self.process is not None:  # unshare reaps its child, then exits
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process = None
        for _ in range(100):  # the dying processes leave their cgroups in a moment
            try:
                if self.cgroup is not None:
                    for directory, _dirs, _files in os.walk(self.cgroup, topdown=False):
                        os.rmdir(directory)
                break
            except OSError:
                time.sleep(0.1)
        self.cgroup = None


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


if __name__ == "__main__":  # a manual look: boot, wait until SCRATCH.stop exists (or N s), end
    machine = SystemdMachine(Path(sys.argv[1]))
    stop = Path(f"{sys.argv[1]}.stop")
    try:
        machine.start()
        print(f"booted: nsenter -t {machine.pid} -m -n -p -u -i -C -r -w", flush=True)
        end = time.monotonic() + (float(sys.argv[2]) if len(sys.argv) > 2 else 600)
        while not stop.exists() and time.monotonic() < end:
            time.sleep(0.5)
    finally:
        machine.close()
