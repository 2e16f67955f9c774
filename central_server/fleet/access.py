"""Technician access to the fleet: the admin bearer token for the API, a signed cookie for pages.

Technicians and admins logged in through the staff login (central_server/auth.py) are admitted;
the admin token (bearer for the API, or the /fleet/login form) works too, for scripts and setup.
"""

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "anjungan_staff"
SESSION_MAX_AGE_S = 8 * 3600
LOGIN_PATH = "/fleet/login"


@dataclass(frozen=True)
class Staff:
    """Who is acting (logged in the command history)."""

    name: str
    role: str
    user: Any = None  # the auth.StaffUser when logged in through the staff login


class LoginRequired(Exception):
    """A page needs a logged-in technician: answered with a redirect to the login form."""


class StaffAccess:
    """Checks technician credentials; kiosk tokens never match (they are not the admin token)."""

    def __init__(
        self, admin_token: str | None, signing_key: Callable[[], str], staff_auth: Any = None
    ) -> None:
        self.admin_token = admin_token or None
        self.staff_auth = staff_auth  # auth.Auth: .user(request), .csrf_token(user)
        self._signing_key = signing_key
        self._serializer: URLSafeTimedSerializer | None = None
        self.bearer = HTTPBearer(auto_error=False)

    def serializer(self) -> URLSafeTimedSerializer:
        """Cookie signer (salted apart from kiosk tokens)."""
        if self._serializer is None:
            self._serializer = URLSafeTimedSerializer(self._signing_key(), "anjungan.staff.v1")
        return self._serializer

    def check_token(self, token: str) -> bool:
        """True when `token` is the configured admin token."""
        return self.admin_token is not None and hmac.compare_digest(
            token.encode(), self.admin_token.encode()
        )

    def session_cookie(self, staff: Staff) -> str:
        """A signed cookie value for a logged-in technician."""
        return self.serializer().dumps({"name": staff.name, "role": staff.role})

    def from_cookie(self, request: Request) -> Staff | None:
        """The technician of a valid session cookie (staff login or fleet token login)."""
        if self.staff_auth is not None:
            user = self.staff_auth.user(request)
            if user is not None:
                if user.role not in ("technician", "admin"):
                    raise HTTPException(
                        403, {"code": "forbidden", "message": "technicians and admins only"}
                    )
                return Staff(user.username, user.role, user)
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self.serializer().loads(raw, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("role") not in ("technician", "admin"):
            return None
        return Staff(str(data.get("name", "?")), str(data["role"]))

    def csrf_token(self, staff: Staff) -> str:
        """A per-session token that dashboard forms must echo back."""
        if staff.user is not None and self.staff_auth is not None:
            return str(self.staff_auth.csrf_token(staff.user))
        key = self._signing_key().encode()
        return hmac.new(key, f"csrf:{staff.name}:{staff.role}".encode(), "sha256").hexdigest()

    def csrf_ok(self, staff: Staff, token: str) -> bool:
        """True when a form echoed this session's CSRF token."""
        return hmac.compare_digest(token, self.csrf_token(staff))

    @property
    def api(self) -> Callable[..., Staff]:
        """Dependency for JSON endpoints: admin bearer token or staff cookie, else 401/403."""

        def require_technician(
            request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(self.bearer)],
        ) -> Staff:
            """Admit technicians and admins only."""
            if credentials is not None:
                if self.check_token(credentials.credentials):
                    return Staff("admin-token", "admin")
                raise HTTPException(
                    401,
                    {"code": "unauthorized", "message": "technician or admin credentials required"},
                    headers={"WWW-Authenticate": "Bearer"},
                )
            staff = self.from_cookie(request)
            if staff is None:
                if self.admin_token is None:
                    raise HTTPException(
                        403, {"code": "admin_disabled", "message": "no staff login configured"}
                    )
                raise HTTPException(
                    401,
                    {"code": "unauthorized", "message": "technician or admin credentials required"},
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return staff

        return require_technician

    @property
    def page(self) -> Callable[..., Staff]:
        """Dependency for HTML pages: a staff cookie, else a redirect to the login form."""

        def require_technician_page(request: Request) -> Staff:
            """Admit logged-in technicians; send others to the login form."""
            staff = self.from_cookie(request)
            if staff is None:
                raise LoginRequired()
            return staff

        return require_technician_page
