"""Staff accounts (officer, technician, admin): argon2 passwords, signed session cookies, CSRF."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import logging
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from central_server import keys
from central_server.db import Database
from central_server.models import Office
from central_server.review_models import User
from central_server.settings import DEFAULT_DATABASE_URL, DEFAULT_OFFICES, now_wib
from central_server.throttle import normalise_account

log = logging.getLogger("central_server.auth")

ROLES = ("officer", "technician", "admin")
SESSION_COOKIE = "anjungan_session"
LOGIN_CSRF_COOKIE = "anjungan_login_csrf"
SESSION_MAX_AGE_S = 8 * 3600  # one working day
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
_dummy_hash: str | None = None


class LoginRequired(Exception):
    """No valid session: the page handler answers with a redirect to the login form."""


class Forbidden(Exception):
    """Logged in, but the role may not do this."""


class CsrfFailed(Exception):
    """A form came without the session's CSRF token."""


@dataclass(frozen=True)
class StaffUser:
    """The logged-in staff member as the pages see it."""

    id: int
    username: str
    full_name: str
    role: str
    office_code: str | None
    nonce: str = ""

    def may_see_office(self, office_code: str) -> bool:
        """Admins see every office; officers only their own; technicians no applications."""
        return self.role == "admin" or (self.role == "officer" and self.office_code == office_code)


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Swap the password hasher (tests use cheap parameters); returns the previous one."""
    global _hasher, _dummy_hash
    previous, _hasher, _dummy_hash = _hasher, hasher, None
    return previous


def _burn_time(password: str) -> None:
    """Verify against a dummy hash: unknown users cost as much as known ones (no timing oracle)."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not-a-real-password")
    verify_password(_dummy_hash, password)


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    db: Database,
    username: str,
    password: str,
    role: str,
    *,
    office_code: str | None = None,
    full_name: str = "",
) -> int:
    """Create a staff account and return its id; ValueError on a bad role, office or password."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if role == "officer" and not office_code:
        raise ValueError("an officer belongs to an office")
    username = normalise_account(username)
    if not username or len(username) > 64:
        raise ValueError("username must have 1-64 characters")
    with db.transaction() as session:
        if office_code and session.get(Office, office_code) is None:
            raise ValueError(f"office {office_code} is not configured")
        if session.scalar(select(User).where(User.username == username)) is not None:
            raise ValueError(f"user {username} already exists")
        user = User(
            username=username,
            full_name=full_name or username,
            password_hash=hash_password(password),
            role=role,
            office_code=office_code,
            created_at=now_wib(),
        )
        session.add(user)
        session.flush()
        log.info("user %s created with role %s", username, role)
        return user.id


def seed_admin(db: Database, username: str = "admin", password: str | None = None) -> bool:
    """Create the first admin (password argument or ANJUNGAN_ADMIN_PASSWORD) unless one exists."""
    with db.transaction() as session:
        if session.scalar(select(func.count()).where(User.role == "admin")):
            return False
    password = password or os.environ.get("ANJUNGAN_ADMIN_PASSWORD")
    if not password:
        raise ValueError("set ANJUNGAN_ADMIN_PASSWORD (or pass --password) for the first admin")
    create_user(db, username, password, "admin", full_name="Administrator")
    return True


class Auth:
    """Logs staff in and out and resolves a request's session cookie to a StaffUser."""

    def __init__(
        self, db: Database, secret_key: str | None = None, *, secure_cookie: bool = False
    ) -> None:
        self.db = db
        secret = secret_key or keys.load_secret(keys.SESSION_KEY, db.url)  # never the database
        self._secret = secret.encode()
        self._signer = URLSafeTimedSerializer(secret, salt="anjungan-session")
        self.secure_cookie = secure_cookie

    def authenticate(self, username: str, password: str) -> StaffUser | None:
        """The active user with this username and password, or None."""
        with self.db.transaction() as session:
            account = normalise_account(username)
            user = session.scalar(select(User).where(User.username == account))
            if user is None or not user.active:
                _burn_time(password)
                return None
            if not verify_password(user.password_hash, password):
                return None
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            return self._staff(user)

    def session_cookie(self, user: StaffUser) -> str:
        """Signed cookie value naming the user, the session version and a per-session nonce."""
        with self.db.transaction() as session:
            version = session.get_one(User, user.id).session_version
        return self._signer.dumps({"u": user.id, "v": version, "n": secrets.token_urlsafe(16)})

    def end_sessions(self, user_id: int) -> None:
        """Invalidate every session of a user (logout, deactivation, password change)."""
        with self.db.transaction() as session:
            session.get_one(User, user_id).session_version += 1

    def user(self, request: Request) -> StaffUser | None:
        """The staff member of a request's session cookie, or None."""
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data: dict[str, Any] = self._signer.loads(raw, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        with self.db.transaction() as session:
            user = session.get(User, data.get("u"))
            if user is None or not user.active or user.session_version != data.get("v"):
                return None
            return self._staff(user, str(data.get("n", "")))

    def require(self, *roles: str) -> Callable[[Request], StaffUser]:
        """A FastAPI dependency: the logged-in user if their role is one of `roles`."""
        allowed = roles or ROLES

        def dependency(request: Request) -> StaffUser:
            user = self.user(request)
            if user is None:
                raise LoginRequired()
            if user.role not in allowed:
                raise Forbidden()
            return user

        return dependency

    def csrf_token(self, user: StaffUser) -> str:
        """The CSRF token of this session (an HMAC of its nonce: never stored)."""
        return hmac.new(self._secret, f"csrf:{user.nonce}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, user: StaffUser, token: str | None) -> None:
        """Raise CsrfFailed unless `token` is this session's CSRF token."""
        if not token or not hmac.compare_digest(token, self.csrf_token(user)):
            raise CsrfFailed()

    @staticmethod
    def _staff(user: User, nonce: str = "") -> StaffUser:
        return StaffUser(user.id, user.username, user.full_name, user.role, user.office_code, nonce)


def main(argv: list[str] | None = None) -> int:
    """`python -m central_server.auth --db URL create-admin|create-user ...`."""
    parser = argparse.ArgumentParser(prog="python -m central_server.auth", description=__doc__)
    parser.add_argument("--db", default=DEFAULT_DATABASE_URL, help="SQLAlchemy URL")
    sub = parser.add_subparsers(dest="command", required=True)
    admin = sub.add_parser("create-admin", help="create the first admin user")
    admin.add_argument("--username", default="admin")
    admin.add_argument("--password", help="default: env ANJUNGAN_ADMIN_PASSWORD")
    user = sub.add_parser("create-user", help="create an officer, technician or admin")
    user.add_argument("username")
    user.add_argument("--role", choices=ROLES, required=True)
    user.add_argument("--office")
    user.add_argument("--full-name", default="")
    user.add_argument("--password", help="default: env ANJUNGAN_USER_PASSWORD")
    args = parser.parse_args(argv)
    db = Database(args.db)
    try:
        db.create_all(DEFAULT_OFFICES)
        if args.command == "create-admin":
            created = seed_admin(db, args.username, args.password)
            print("admin created" if created else "an admin already exists; nothing done")
        else:
            password = args.password or os.environ.get("ANJUNGAN_USER_PASSWORD", "")
            create_user(
                db,
                args.username,
                password,
                args.role,
                office_code=args.office,
                full_name=args.full_name,
            )
            print(f"user {args.username} created")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
