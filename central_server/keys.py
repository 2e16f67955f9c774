"""Server secrets from systemd credentials or the environment, never from the database.

Looked up in order: $CREDENTIALS_DIRECTORY/<name> (systemd's LoadCredential=/SetCredential=),
the environment variable ANJUNGAN_<NAME>, and on a development machine a key file created once
beside the SQLite database (var/keys/<name>), with a warning. A copy of the database alone
then signs no kiosk token, forges no staff session, derives no print code and seals no
receipt.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger("central_server.keys")

TOKEN_SIGNING_KEY = "token-signing-key"
SESSION_KEY = "session-key"
PRINT_CODE_PEPPER = "print-code-pepper"
SEAL_SIGNING_KEY = "seal-signing-key"  # the server's Ed25519 receipt seals (server_seal)
NIK_AUDIT_KEY = "nik-audit-key"  # keys the NIKs of the card-holder audit (card_holder_audit)
# name: the environment variables that may hold it (the first one is the documented one)
ENVIRONMENT: dict[str, tuple[str, ...]] = {
    TOKEN_SIGNING_KEY: ("ANJUNGAN_TOKEN_SIGNING_KEY", "ANJUNGAN_TOKEN_SECRET"),
    SESSION_KEY: ("ANJUNGAN_SESSION_KEY", "ANJUNGAN_SECRET_KEY"),
    PRINT_CODE_PEPPER: ("ANJUNGAN_PRINT_CODE_PEPPER",),
    SEAL_SIGNING_KEY: ("ANJUNGAN_SEAL_SIGNING_KEY",),
    NIK_AUDIT_KEY: ("ANJUNGAN_NIK_AUDIT_KEY",),
}
MIN_LENGTH = 32


def development_dir(database_url: str) -> Path:
    """Where development keys live: beside a SQLite file's database, else ./var/keys."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database or "").resolve().parent / "keys"
    return Path("var/keys").resolve()


def load_secret(name: str, database_url: str) -> str:
    """The secret `name` from a credential file, the environment, or a development key file."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if directory and (Path(directory) / name).is_file():
        return _checked(name, (Path(directory) / name).read_text().strip())
    for variable in ENVIRONMENT.get(name, ()):
        if os.environ.get(variable):
            return _checked(name, os.environ[variable].strip())
    return _development_key(name, development_dir(database_url))


def _checked(name: str, value: str) -> str:
    if len(value) < MIN_LENGTH:
        raise ValueError(f"secret {name} must have at least {MIN_LENGTH} characters")
    return value


@functools.lru_cache(maxsize=64)
def _development_key(name: str, directory: Path) -> str:
    """A key file made once (0600); every process on this machine reads the same one."""
    path = directory / name
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        draft = directory / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # atomic: a racing worker's key wins or ours does, never half
        except FileExistsError:
            pass
        finally:
            draft.unlink()
        log.warning(
            "secret %s: using the development key file %s; in production give it as the "
            "systemd credential %s or in %s",
            name,
            path,
            name,
            ENVIRONMENT.get(name, ("",))[0],
        )
    return path.read_text().strip()
