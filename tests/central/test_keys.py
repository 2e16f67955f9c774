"""Secrets come from systemd credentials, the environment or a development file: never the DB."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
import requests
from itsdangerous import URLSafeSerializer
from sqlalchemy import create_engine, text

from central_server.embedded import start_embedded
from central_server.kiosk_auth import TOKEN_SALT
from tests.central.conftest import ADMIN_TOKEN, TODAY, count_rows
from tests.central.fleet.helpers import beat, enrol


def test_the_token_key_comes_from_a_systemd_credential(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$CREDENTIALS_DIRECTORY/token-signing-key signs the tokens; nothing lands in the DB."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    key = "credential-key-" + "7" * 40
    (credentials / "token-signing-key").write_text(key + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    with start_embedded(database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN) as server:
        token = enrol(server, "kiosk-a")["Authorization"].removeprefix("Bearer ")
        assert URLSafeSerializer(key, TOKEN_SALT).loads(token)["k"] == "kiosk-a"
        r = requests.get(f"{server.base_url}/login", timeout=10)  # the session key is loaded
        assert r.status_code == 200
    assert count_rows(database_url, "server_secrets") == 0
    assert count_rows(database_url, "staff_secrets") == 0


def test_a_development_key_file_is_made_once_beside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credential, no environment: a 0600 file beside the SQLite database, kept across
    restarts (tokens stay valid), and the database holds no secret."""
    for variable in (
        "CREDENTIALS_DIRECTORY",
        "ANJUNGAN_TOKEN_SECRET",
        "ANJUNGAN_TOKEN_SIGNING_KEY",
    ):
        monkeypatch.delenv(variable, raising=False)
    url = f"sqlite:///{tmp_path / 'central.db'}"
    with start_embedded(url, today=lambda: TODAY, admin_token=ADMIN_TOKEN) as server:
        kiosk = enrol(server, "kiosk-a")
    key_file = tmp_path / "keys" / "token-signing-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_text()) >= 32
    with start_embedded(url, today=lambda: TODAY, admin_token=ADMIN_TOKEN) as again:
        assert beat(again, kiosk).status_code == 200
    assert count_rows(url, "server_secrets") == 0


def test_tokens_signed_with_the_old_database_key_keep_working(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgraded server still accepts its kiosks' tokens signed with the key the old version
    kept in the database; new tokens are signed with the configured key."""
    monkeypatch.setenv("ANJUNGAN_TOKEN_SIGNING_KEY", "configured-key-" + "5" * 40)
    with start_embedded(database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN) as server:
        enrol(server, "kiosk-old")
        old_key = "old-database-key-" + "3" * 40
        old_token = URLSafeSerializer(old_key, TOKEN_SALT).dumps({"k": "kiosk-old", "n": "x"})
        engine = create_engine(database_url)
        try:
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO server_secrets (name, value) VALUES ('kiosk_token_key', :v)"),
                    {"v": old_key},
                )
                digest = hashlib.sha256(old_token.encode()).hexdigest()
                conn.execute(
                    text("UPDATE kiosks SET token_hash = :h WHERE kiosk_id = :k"),
                    {"h": digest, "k": "kiosk-old"},
                )
        finally:
            engine.dispose()
    with start_embedded(database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN) as upgraded:
        assert beat(upgraded, {"Authorization": f"Bearer {old_token}"}).status_code == 200
        fresh = enrol(upgraded, "kiosk-new")["Authorization"].removeprefix("Bearer ")
        assert URLSafeSerializer("configured-key-" + "5" * 40, TOKEN_SALT).loads(fresh)
