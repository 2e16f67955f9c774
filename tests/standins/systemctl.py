#!/usr/bin/env python3
"""A stand-in `systemctl` for provisioning's --system tests (tests/test_provisioning_system.py).

Why a stand-in: the test machines (a developer's container, CI's) are Debian 12 machines where
systemd is not PID 1, so the real systemctl has no manager to talk to. The central server's
units do run under the real systemd in tests/test_systemd_real.py, booted as a container's PID 1
over a root of its own (tests/systemd_machine.py; booted over the host's file system instead,
its systemd-tmpfiles --boot once emptied the host's /tmp), and so does the kiosk's in
tests/test_systemd_kiosk.py. This stand-in remains for the two-machine enrolment test (the
central server's TLS through nginx, a kiosk enrolled by a technician's code): there the kiosk's
unit is only enabled. udevd does not run in a container either (/sys is read-only there), so
`udevadm` is a stand-in in both.

It does what systemd would do for the few verbs provisioning uses, from the unit files as
installed, so a wrong unit fails here as it would on a kiosk or a server:
  daemon-reload             recorded only
  enable UNIT...            the unit file must exist and pass `systemd-analyze verify`; the
                            [Install] WantedBy=/RequiredBy= symlinks are made as systemd makes them
  is-enabled / is-active    from those symlinks / from the running process
  start, restart, stop, reload, reload-or-restart UNIT...
                            a target starts what it wants (its .wants/ directory); a service's
                            ExecStartPre= and ExecStart= run as the unit says: User=, Group=,
                            the user's groups, SupplementaryGroups=, Environment=, LoadCredential=
                            (copied to /run/credentials/UNIT, $CREDENTIALS_DIRECTORY),
                            StateDirectory= (made, owned by the user), WorkingDirectory=,
                            PrivateTmp=, ProtectSystem=, ReadWritePaths=, NoNewPrivileges= (a
                            mount namespace per service, see HARDENING), socket activation by the
                            service's .socket unit, and Type=forking with PIDFile= or
                            exec/simple/notify (the process is kept)
Not emulated: ProtectHome= (see hardening()), cgroups, Restart=, the notify protocol, ordering.
Every call is appended to /run/standin/calls.log (one JSON line); a service's output goes to
/run/standin/log/UNIT.log (the journal's stand-in). The file
/run/standin/service.env (KEY=VALUE lines, if present) adds to every service's environment.
Standard library only: it runs with the system's python3, like provisioning.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

STATE = Path("/run/standin")
UNIT_DIRS = (
    Path("/etc/systemd/system"),
    Path("/lib/systemd/system"),
    Path("/usr/lib/systemd/system"),
)
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"


class Failed(Exception):
    """What systemctl would print before exiting with 1."""


def unit_file(name: str) -> Path:
    """The file that defines `name` (a template's file for an instance), as systemd looks it up."""
    candidates = [name]
    if "@" in name:
        prefix, _, rest = name.partition("@")
        candidates.append(f"{prefix}@{rest[rest.rfind('.') :]}")
    for directory in UNIT_DIRS:
        for candidate in candidates:
            if (directory / candidate).is_file():
                return directory / candidate
    raise Failed(f"Unit file {name} does not exist.")


def parse(name: str) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> values (a key may repeat), continuation lines joined, %i expanded."""
    instance = name.partition("@")[2].rpartition(".")[0]
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    pending = ""
    for raw in unit_file(name).read_text().splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif "=" in line:
            key, _, value = line.partition("=")
            value = value.strip().replace("%i", instance).replace("%n", name)
            current.setdefault(key.strip(), []).append(value)
    return sections


def record(argv: list[str]) -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "calls.log").open("a") as log:
        log.write(json.dumps(["systemctl", *argv]) + "\n")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def main_pid(name: str) -> int | None:
    service = parse(name).get("Service", {})
    pid_file = Path(service["PIDFile"][-1]) if "PIDFile" in service else STATE / "pid" / name
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid) else None


def wants(target: str) -> list[str]:
    wanted = Path("/etc/systemd/system") / f"{target}.wants"
    return sorted(p.name for p in wanted.iterdir()) if wanted.is_dir() else []


def verify(name: str) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    done = subprocess.run([analyze, "verify", name], capture_output=True, text=True, timeout=60)
    if done.returncode != 0 or done.stderr.strip():
        raise Failed(f"systemd-analyze verify {name}:\n{done.stderr.strip()}")


def enable(name: str) -> None:
    path = unit_file(name)
    verify(name)
    install = parse(name).get("Install", {})
    for key, suffix in (("WantedBy", "wants"), ("RequiredBy", "requires")):
        for target in " ".join(install.get(key, [])).split():
            link = Path("/etc/systemd/system") / f"{target}.{suffix}" / name
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(path)
                print(f"Created symlink {link} \u2192 {path}.")


def is_enabled(name: str) -> bool:
    unit_file(name)
    return any(Path("/etc/systemd/system").glob(f"*.wants/{name}")) or any(
        Path("/etc/systemd/system").glob(f"*.requires/{name}")
    )


def credentials(name: str, service: dict[str, list[str]], uid: int, gid: int) -> Path | None:
    loads = service.get("LoadCredential", [])
    if not loads:
        return None
    directory = Path("/run/credentials") / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for entry in loads:
        credential, _, source = entry.partition(":")
        target = directory / credential
        try:
            target.write_bytes(Path(source).read_bytes())
        except OSError as exc:
            raise Failed(f"{name}: LoadCredential={entry}: {exc}") from exc
        target.chmod(0o400)
        os.chown(target, uid, gid)
    directory.chmod(0o500)
    os.chown(directory, uid, gid)
    return directory


def listening_sockets(name: str) -> list[socket.socket]:
    """The Unix stream sockets of the service's .socket unit (ListenStream=/path), bound."""
    try:
        listen = parse(name.rpartition(".")[0] + ".socket").get("Socket", {})
    except Failed:
        return []
    sockets = []
    for path in listen.get("ListenStream", []):
        if path.startswith("/"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).unlink(missing_ok=True)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(path)
            os.chmod(path, int(listen.get("SocketMode", ["0666"])[-1], 8))
            sock.listen(128)
            sockets.append(sock)
    return sockets


def command_line(value: str) -> tuple[list[str], bool]:
    """An Exec*= line as argv, and whether its failure is ignored (the "-" prefix)."""
    argv = shlex.split(value)
    prefix = argv[0][: len(argv[0]) - len(argv[0].lstrip("-@!+:"))]
    argv[0] = argv[0][len(prefix) :]
    return argv, "-" in prefix


def flag(service: dict[str, list[str]], key: str) -> bool:
    return service.get(key, ["no"])[-1].lower() in ("yes", "true", "1", "on")


# PrivateTmp=, ProtectSystem= and ReadWritePaths=/StateDirectory= as systemd makes them: a mount
# namespace of the service's own, the rest of the file system read-only, then chdir.
HARDENING = r"""
set -e
private_tmp=$1 protect=$2 writable=$3 cwd=$4
shift 4
if [ "$private_tmp" = yes ]; then
  mount -t tmpfs -o mode=1777 private-tmp /tmp
  mount -t tmpfs -o mode=1777 private-var-tmp /var/tmp
  writable="$writable /tmp /var/tmp"
fi
for dir in $writable; do mount --bind "$dir" "$dir"; done
case "$protect" in
  strict) read_only=$(findmnt -rn -o TARGET | grep -vE '^/(dev|proc|sys)(/|$)') ;;
  full) read_only="/usr /boot /efi /etc" ;;
  yes|true) read_only="/usr /boot /efi" ;;
  *) read_only="" ;;
esac
for target in $read_only; do
  case " $writable " in *" $target "*) continue ;; esac
  [ -d "$target" ] || continue
  [ "$protect" = strict ] || mount --bind "$target" "$target"
  mount -o remount,bind,ro "$target"
done
cd "$cwd"
exec "$@"
"""


def hardening(service: dict[str, list[str]], cwd: str) -> list[str]:
    """The command that runs its arguments in the unit's file-system sandbox ([] if none).

    Not emulated: ProtectHome= (on a developer's machine the venv's interpreter may live under
    /root, e.g. pyenv; CI's and production's venvs use Debian's /usr/bin/python3)."""
    protect = service.get("ProtectSystem", ["no"])[-1]
    private_tmp = flag(service, "PrivateTmp")
    if protect == "no" and not private_tmp and not flag(service, "NoNewPrivileges"):
        return []
    writable = [
        str(Path("/var/lib") / d) for d in " ".join(service.get("StateDirectory", [])).split()
    ]
    writable += " ".join(service.get("ReadWritePaths", [])).split()
    return [
        "unshare", "--mount", "--propagation=private", "/bin/sh", "-c", HARDENING, "sh",
        "yes" if private_tmp else "no", protect, " ".join(writable), cwd,
    ]  # fmt: skip


def start_service(name: str) -> None:
    if main_pid(name) is not None:
        return
    service = parse(name).get("Service", {})
    user = pwd.getpwnam(service.get("User", ["root"])[-1])
    gid = user.pw_gid
    if "Group" in service:
        gid = grp.getgrnam(service["Group"][-1]).gr_gid
    groups = os.getgrouplist(user.pw_name, gid)
    for group in " ".join(service.get("SupplementaryGroups", [])).split():
        groups.append(grp.getgrnam(group).gr_gid)
    env = {
        "PATH": DEFAULT_PATH,
        "LANG": "C.UTF-8",
        "USER": user.pw_name,
        "LOGNAME": user.pw_name,
        "HOME": user.pw_dir,
        "SHELL": user.pw_shell,
        "INVOCATION_ID": os.urandom(16).hex(),
    }
    for directory in " ".join(service.get("StateDirectory", [])).split():
        state = Path("/var/lib") / directory
        state.mkdir(parents=True, exist_ok=True)
        os.chown(state, user.pw_uid, gid)
        env["STATE_DIRECTORY"] = str(state)
    creds = credentials(name, service, user.pw_uid, gid)
    if creds is not None:
        env["CREDENTIALS_DIRECTORY"] = str(creds)
    for assignment in service.get("Environment", []):
        for pair in shlex.split(assignment):
            key, _, value = pair.partition("=")
            env[key] = value
    extra = STATE / "service.env"
    if extra.exists():
        for line in extra.read_text().splitlines():
            if "=" in line:
                key, _, value = line.partition("=")
                env[key] = value
    cwd = service.get("WorkingDirectory", [user.pw_dir if user.pw_uid else "/"])[-1].lstrip("-")
    (STATE / "log").mkdir(parents=True, exist_ok=True)
    options: dict[str, object] = {
        "user": user.pw_uid,
        "group": gid,
        "extra_groups": sorted(set(groups)),
        "env": env,
        "cwd": cwd,
        "stdin": subprocess.DEVNULL,
        "start_new_session": True,
    }
    hardened = hardening(service, cwd)
    if hardened:  # the namespace is made as root; setpriv becomes the user inside it
        for key in ("user", "group", "extra_groups"):
            del options[key]
        hardened += [
            "setpriv", f"--reuid={user.pw_uid}", f"--regid={gid}",
            "--groups=" + ",".join(map(str, sorted(set(groups)))),
            *(["--no-new-privs"] if flag(service, "NoNewPrivileges") else []),
            "--",
        ]  # fmt: skip
    with (STATE / "log" / f"{name}.log").open("ab") as log:
        for pre in service.get("ExecStartPre", []):
            argv, ignore = command_line(pre)
            done = subprocess.run([*hardened, *argv], stdout=log, stderr=log, timeout=60, **options)  # type: ignore[call-overload]
            if done.returncode and not ignore:
                raise Failed(f"{name}: ExecStartPre= {pre} exited with {done.returncode}")
        argv, _ = command_line(service["ExecStart"][-1])
        command = argv
        argv = [*hardened, *argv]
        sockets = listening_sockets(name)
        if sockets:  # socket activation: fds 3.. and LISTEN_FDS, LISTEN_PID (the exec'd pid)
            env["LISTEN_FDS"] = str(len(sockets))
            argv = ["/bin/sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh", *argv]

            def as_fds_from_3() -> None:
                for n, sock in enumerate(sockets):
                    os.dup2(sock.fileno(), 3 + n)

            options["preexec_fn"] = as_fds_from_3
            options["pass_fds"] = tuple(range(3, 3 + len(sockets)))
        process = subprocess.Popen(argv, stdout=log, stderr=log, **options)  # type: ignore[call-overload]
    if service.get("Type", ["simple"])[-1] == "forking":
        if process.wait(timeout=60) != 0:
            raise Failed(f"{name}: ExecStart= exited with {process.returncode}")
        if main_pid(name) is None:
            raise Failed(f"{name}: no live process in its PIDFile=")
        return
    executed(name, process, command)
    (STATE / "pid").mkdir(parents=True, exist_ok=True)
    (STATE / "pid" / name).write_text(f"{process.pid}\n")


def executed(name: str, process: subprocess.Popen[bytes], command: list[str]) -> None:
    """Wait, as Type=exec does, until the wrappers have become the service's own program."""
    wanted = [part.encode() for part in command]
    for _ in range(400):
        if process.poll() is not None:
            raise Failed(f"{name}: exited with {process.returncode} (see its log)")
        try:
            cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")[:-1]
        except OSError:
            cmdline = []
        if wanted in (cmdline, cmdline[1:]):  # a script: its interpreter comes first
            return
        time.sleep(0.025)
    raise Failed(f"{name}: {command[0]} was not executed within 10 s")


def stop(name: str) -> None:
    if name.endswith(".target"):
        for unit in wants(name):
            stop(unit)
        return
    pid = main_pid(name)
    if pid is None:
        return
    try:
        os.killpg(os.getpgid(pid), signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(200):
        if not alive(pid):
            return
        time.sleep(0.05)
    os.killpg(os.getpgid(pid), signal.SIGKILL)


def start(name: str) -> None:
    if name.endswith(".target"):
        unit_file(name)
        for unit in wants(name):
            start(unit)
        return
    start_service(name)


def reload(name: str) -> None:
    """ExecReload= of a running service (systemd refuses a stopped one, or one without)."""
    command = parse(name).get("Service", {}).get("ExecReload", [])
    if main_pid(name) is None:
        raise Failed(f"{name} is not active, cannot reload.")
    if not command:
        raise Failed(f"Failed to reload {name}: Job type reload is not applicable for unit.")
    argv, _ = command_line(command[-1])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise Failed(f"{name}: ExecReload= failed: {done.stderr.strip()}")


def reload_or_restart(name: str) -> None:
    if parse(name).get("Service", {}).get("ExecReload") and main_pid(name) is not None:
        reload(name)
        return
    stop(name)
    start(name)


def main(argv: list[str]) -> int:
    record(argv)
    args = [a for a in argv if not a.startswith("-")]
    now = "--now" in argv
    verb, units = (args[0], args[1:]) if args else ("", [])
    units = [u if "." in u else f"{u}.service" for u in units]  # "nginx" is nginx.service
    try:
        if verb == "daemon-reload":
            return 0
        if verb == "enable":
            for unit in units:
                enable(unit)
            if now:
                for unit in units:
                    start(unit)
            return 0
        if verb == "is-enabled":
            states = [is_enabled(unit) for unit in units]
            print("\n".join("enabled" if state else "disabled" for state in states))
            return 0 if all(states) else 1
        if verb == "is-active":
            states = [
                all(main_pid(u) for u in wants(unit))
                if unit.endswith(".target")
                else bool(main_pid(unit))
                for unit in units
            ]
            print("\n".join("active" if state else "inactive" for state in states))
            return 0 if all(states) else 3
        actions = {
            "start": start,
            "stop": stop,
            "restart": lambda unit: (stop(unit), start(unit)),
            "reload": reload,
            "reload-or-restart": reload_or_restart,
        }
        if verb in actions:
            for unit in units:
                actions[verb](unit)
            return 0
    except Failed as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"systemctl stand-in: verb {verb!r} is not emulated", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
