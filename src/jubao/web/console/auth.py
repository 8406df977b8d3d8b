"""Console sessions: log in with the admin token, then a signed cookie; a CSRF token per session.

The cookie is ``EXPIRES.NONCE.MAC`` with an HMAC-SHA256 over ``EXPIRES.NONCE`` under a key derived
from the admin token, so changing the token logs everyone out. The CSRF token is another HMAC of
the nonce. Logout records the nonce in ``ended_console_sessions`` until the cookie would have
expired, so a copied cookie stops working at logout on every gateway sharing the database. Before
login, the login form carries a double-submit token (a random cookie value repeated in the form).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from jubao.storage.database import Database
from jubao.storage.sql import Tx, execute, fetch_one

__all__ = ["LOGIN_COOKIE", "SESSION_COOKIE", "ConsoleAuth", "Session"]

SESSION_COOKIE = "jubao_console"
LOGIN_COOKIE = "jubao_console_login"
COOKIE_PATH = "/console"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    nonce: str
    expires: int
    csrf: str


def _end_session(nonce: str, expires: int, now: int) -> Tx[None]:
    yield execute("DELETE FROM ended_console_sessions WHERE expires_at <= ?", now)
    yield execute(
        "INSERT INTO ended_console_sessions (nonce, expires_at) VALUES (?, ?) "
        "ON CONFLICT (nonce) DO NOTHING",
        nonce,
        expires,
    )


def _session_ended(nonce: str) -> Tx[bool]:
    row = yield fetch_one("SELECT 1 AS ended FROM ended_console_sessions WHERE nonce = ?", nonce)
    return row.first is not None


class ConsoleAuth:
    def __init__(self, admin_token: str, db: Database, *, lifetime: int = SESSION_SECONDS) -> None:
        self._token = admin_token.encode("utf-8")
        self._db = db
        self._key = hmac.new(self._token, b"jubao console session v1", hashlib.sha256).digest()
        self._lifetime = lifetime

    @property
    def enabled(self) -> bool:
        return bool(self._token)

    def token_matches(self, presented: str) -> bool:
        if not self.enabled:
            return False
        return hmac.compare_digest(presented.encode("utf-8"), self._token)

    def _mac(self, message: str) -> str:
        return hmac.new(self._key, message.encode("ascii"), hashlib.sha256).hexdigest()

    def _session(self, nonce: str, expires: int) -> Session:
        return Session(nonce, expires, self._mac(f"csrf.{nonce}"))

    def new_session(self) -> tuple[Session, str]:
        """A fresh session and its cookie value."""
        nonce = secrets.token_urlsafe(18)
        expires = int(time.time()) + self._lifetime
        return self._session(nonce, expires), f"{expires}.{nonce}.{self._mac(f'{expires}.{nonce}')}"

    async def session(self, request: Request) -> Session | None:
        """The request's valid session, if any (not expired, not logged out)."""
        if not self.enabled:
            return None
        value = request.cookies.get(SESSION_COOKIE, "")
        parts = value.split(".")
        if len(parts) != 3 or not parts[0].isdigit():
            return None
        expires_text, nonce, mac = parts
        if not nonce.isascii() or not hmac.compare_digest(
            mac.encode("ascii", "replace"), self._mac(f"{expires_text}.{nonce}").encode("ascii")
        ):
            return None
        expires = int(expires_text)
        if expires <= time.time():
            return None
        if await self._db.read(lambda: _session_ended(nonce)):
            return None
        return self._session(nonce, expires)

    async def end(self, session: Session) -> None:
        """End ``session`` on the server: its cookie, even copied, no longer works."""
        now = int(time.time())
        await self._db.write(lambda: _end_session(session.nonce, session.expires, now))

    @staticmethod
    def csrf_matches(expected: str, presented: object) -> bool:
        return (
            isinstance(presented, str)
            and bool(expected)
            and hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))
        )

    # ---- cookies --------------------------------------------------------------------------

    @staticmethod
    def set_cookie(
        response: Response, request: Request, name: str, value: str, max_age: int
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

    def start_session(self, response: Response, request: Request) -> None:
        _, cookie = self.new_session()
        self.set_cookie(response, request, SESSION_COOKIE, cookie, self._lifetime)
        response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)

    @staticmethod
    def end_session(response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)

    @staticmethod
    def login_token(request: Request) -> str:
        """The pre-login double-submit token: the cookie's, or a new one (set it on the page)."""
        current = request.cookies.get(LOGIN_COOKIE, "")
        return current if len(current) >= 16 else secrets.token_urlsafe(18)
