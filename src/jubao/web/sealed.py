"""Short-lived state a page hands the browser and takes back (OAuth ``state``, a round trip's
progress, an identity found): JSON, HMAC-signed, with an expiry, so no state is kept on the
server and any gateway process can open it. Not encrypted: seal nothing secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from jubao.config import Settings

__all__ = ["Sealer"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _same(expected: str, presented: str) -> bool:
    # bytes: compare_digest refuses str with non-ASCII characters (a hostile token may have them)
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8", "replace"))


class Sealer:
    """``purpose`` keeps one page's tokens from ever opening as another's (each gets its own key,
    derived from the master key; without one, random per instance)."""

    def __init__(self, settings: Settings, purpose: str, ttl_seconds: int = 600) -> None:
        seed = settings.master_key.encode() if settings.master_key else secrets.token_bytes(32)
        self._key = hmac.new(seed, purpose.encode("utf-8"), hashlib.sha256).digest()
        self._ttl = ttl_seconds

    def seal(self, state: dict[str, Any]) -> str:
        body = _b64(json.dumps({**state, "e": int(time.time()) + self._ttl}).encode("utf-8"))
        return f"{body}.{self._mac(body)}"

    def open(self, token: str) -> dict[str, Any] | None:
        """The state, or ``None`` when tampered with, malformed or expired."""
        body, _, mac = token.partition(".")
        if not body or not mac or len(token) > 4096:
            return None
        if not _same(self._mac(body), mac):
            return None
        try:
            state = json.loads(_unb64(body))
        except ValueError:
            return None
        if not isinstance(state, dict) or not isinstance(state.get("e"), int):
            return None
        return state if state["e"] >= time.time() else None

    def stamp(self, subject: str) -> str:
        """A short proof (under 60 characters) that ``subject`` was stamped here lately, for
        where a whole sealed state does not fit (Alipay's ``state``: 100 characters at most)."""
        expires = str(int(time.time()) + self._ttl)
        return f"{expires}.{self._mac(f'{expires}.{subject}')[:32]}"

    def stamped(self, subject: str, stamp: str) -> bool:
        expires, _, mac = stamp.partition(".")
        if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
            return False
        good = _same(self._mac(f"{expires}.{subject}")[:32], mac)
        return good and int(expires) >= time.time()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("utf-8"), hashlib.sha256).digest())
