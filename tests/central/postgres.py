"""A throw-away PostgreSQL cluster: initdb + pg_ctl in a temp dir, 127.0.0.1 on a free port."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

SUPERUSER = "anjungan"
# initdb, and pg_ctl waiting for the server: deadlines, slow only on a busy machine
START_TIMEOUT_S = 120


def find_binary(name: str) -> str | None:
    """`name` on PATH or in Debian's /usr/lib/postgresql/<version>/bin (not on PATH there)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryPostgres:
    """initdb, start, hand out databases, stop and delete: nothing is left behind."""

    def __init__(self, *, durable: bool = False, settings: dict[str, str] | None = None) -> None:
        initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
        if not (initdb and pg_ctl):
            raise FileNotFoundError("PostgreSQL server binaries not found (apt: postgresql-15)")
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.dir = Path(tempfile.mkdtemp(prefix="anjungan-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.durable = durable
        self.settings = settings or {}
        self._as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if self._as_postgres else list(args)
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.dir, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr[-2000:]}")

    def start(self) -> TemporaryPostgres:
        """Create the cluster and start the server; wait until it accepts connections."""
        self._run(
            self.initdb, "-D", str(self.data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
            "--locale=C", *(() if self.durable else ("--no-sync",)),
        )  # fmt: skip
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.dir),
            "max_connections": "200",
            **({} if self.durable else {"fsync": "off", "synchronous_commit": "off"}),
            **({} if self.durable else {"full_page_writes": "off"}),
            **self.settings,
        }
        flags = " ".join(f"-c {key}={value}" for key, value in options.items())
        try:
            self._run(
                self.pg_ctl, "-D", str(self.data), "-o", flags, "-l", str(self.dir / "server.log"),
                "-w", "-t", str(START_TIMEOUT_S), "start",
            )  # fmt: skip
        except BaseException:
            self.stop()
            raise
        return self

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of a database on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """libpq connection string of a database on this server."""
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        with psycopg.connect(self.dsn(database), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of `template`); returns its name."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, closing any connection still open on it."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete the cluster."""
        if (self.data / "postmaster.pid").exists():
            try:
                self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
