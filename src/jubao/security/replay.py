"""Replay protection for apps in strict nonce mode: a nonce is accepted once per app within
24 hours. The primary key ``(app_id, nonce)`` of ``used_nonces`` is the arbiter, so concurrent
requests on any number of gateways accept one of them; rows older than the window are purged by
the maintenance task (and a late row is simply taken over, see ``remember_nonce``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jubao.clock import Clock, system_clock
from jubao.errors import InvalidParameter, NonceReused
from jubao.storage.database import Database
from jubao.storage.sql import Tx, execute

if TYPE_CHECKING:  # a type only: merchants imports security (sealing), not the other way round
    from jubao.merchants.models import App

__all__ = ["NONCE_WINDOW_MS", "ReplayGuard", "purge_nonces", "remember_nonce"]

NONCE_WINDOW_MS = 24 * 3600 * 1000
MAX_NONCE_LENGTH = 64


def remember_nonce(app_id: str, nonce: str, now: int, window_ms: int = NONCE_WINDOW_MS) -> Tx[bool]:
    """Record ``nonce`` for ``app_id``; false when it was already seen within the window."""
    result = yield execute(
        "INSERT INTO used_nonces (app_id, nonce, seen_at) VALUES (?, ?, ?) "
        "ON CONFLICT (app_id, nonce) DO UPDATE SET seen_at = excluded.seen_at "
        "WHERE used_nonces.seen_at <= ?",
        app_id,
        nonce,
        now,
        now - window_ms,
    )
    return result.rowcount == 1


def purge_nonces(now: int, window_ms: int = NONCE_WINDOW_MS) -> Tx[int]:
    """Delete nonces older than the window; returns how many."""
    result = yield execute("DELETE FROM used_nonces WHERE seen_at <= ?", now - window_ms)
    return result.rowcount


class ReplayGuard:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self._db = db
        self._clock = clock

    async def check(self, app: App, nonce: str) -> None:
        """Refuse a reused nonce for an app in strict mode (call after the signature check)."""
        await self.check_key(app.app_id, nonce, strict=app.strict_nonce)

    async def check_key(self, key: str, nonce: str, *, strict: bool) -> None:
        """The same for any signer (an app, or a vendor under its own key)."""
        if not strict:
            return
        if not nonce:
            raise InvalidParameter(
                "该应用已开启 nonce 防重放：缺少参数 nonce", sub_code="MISSING_PARAMETER"
            )
        if len(nonce) > MAX_NONCE_LENGTH:
            raise InvalidParameter(f"参数 nonce 长度不能超过 {MAX_NONCE_LENGTH}")
        now = self._clock()
        if not await self._db.write(lambda: remember_nonce(key, nonce, now)):
            raise NonceReused("nonce 在 24 小时内已使用过，请使用新的 nonce 重新签名")

    async def purge(self) -> int:
        now = self._clock()
        return await self._db.write(lambda: purge_nonces(now))
