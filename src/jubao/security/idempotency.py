"""A byte-identical request is executed once: every state-changing request (any method not known
to be read-only, so a future create method is covered without a change here) claims a row keyed
by ``(app_id, hash of its signed parameters)`` before it runs and stores its answer there, success
or failure. An identical request within 24 h gets that first answer; one arriving while the first
still runs waits for it. The claim is an insert on the primary key, so concurrent identical
requests on any number of gateways (one PostgreSQL) execute exactly once.

The key leaves out ``sign``: it is a function of the parameters and the secret, so equal
parameters from one app are the same request whatever the letter case of the hex. A merchant who
means a second, separate operation with the same fields sends a new ``nonce`` (or, for refunds, a
new ``merchant_refund_sn``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from jubao.clock import Clock, system_clock
from jubao.errors import BusinessRuleError, JubaoError
from jubao.protocol import jsonwire, methods
from jubao.storage.database import Database
from jubao.storage.sql import Tx, execute, fetch_one

__all__ = [
    "ANSWER_WINDOW_MS",
    "READ_ONLY_METHODS",
    "RequestLedger",
    "claim_request",
    "purge_answers",
    "request_hash",
]

ANSWER_WINDOW_MS = 24 * 3600 * 1000
# Methods that change nothing: repeating them is harmless and their answer should be fresh.
READ_ONLY_METHODS = frozenset(
    {methods.QUERY, methods.REFUND_QUERY, methods.REFUND_STATISTICS, methods.GET_TIME}
)
_POLL_FIRST, _POLL_MAX = 0.02, 0.25  # seconds between looks at a pending first answer


def request_hash(signed_params: Mapping[str, str | None]) -> str:
    """SHA-256 of the signed parameters in a canonical order (``sign`` excluded)."""
    canonical = jsonwire.dumps(sorted((k, v) for k, v in signed_params.items() if k != "sign"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def claim_request(app_id: str, key: str, now: int, window_ms: int = ANSWER_WINDOW_MS) -> Tx[bool]:
    """True when this request is the first within the window (its caller must execute it)."""
    result = yield execute(
        "INSERT INTO request_answers (app_id, request_hash, created_at, answer) "
        "VALUES (?, ?, ?, NULL) "
        "ON CONFLICT (app_id, request_hash) DO UPDATE SET created_at = excluded.created_at, "
        "answer = NULL WHERE request_answers.created_at <= ?",
        app_id,
        key,
        now,
        now - window_ms,
    )
    return result.rowcount == 1


def store_answer(app_id: str, key: str, answer: str) -> Tx[None]:
    yield execute(
        "UPDATE request_answers SET answer = ? WHERE app_id = ? AND request_hash = ?",
        answer,
        app_id,
        key,
    )


def stored_answer(app_id: str, key: str) -> Tx[str | None]:
    row = (
        yield fetch_one(
            "SELECT answer FROM request_answers WHERE app_id = ? AND request_hash = ?",
            app_id,
            key,
        )
    ).first
    return None if row is None else row["answer"]


def purge_answers(now: int, window_ms: int = ANSWER_WINDOW_MS) -> Tx[int]:
    """Delete answers older than the window; returns how many."""
    result = yield execute("DELETE FROM request_answers WHERE created_at <= ?", now - window_ms)
    return result.rowcount


def _encode(outcome: dict[str, Any] | JubaoError) -> str:
    if isinstance(outcome, JubaoError):
        return jsonwire.dumps({"error": {"message": outcome.message, "sub_code": outcome.sub_code}})
    return jsonwire.dumps({"data": outcome})


def _decode(answer: str) -> dict[str, Any]:
    stored = jsonwire.loads(answer)
    if "error" in stored:
        raise JubaoError(stored["error"]["message"], sub_code=stored["error"]["sub_code"])
    data: dict[str, Any] = stored["data"]
    return data


class RequestLedger:
    def __init__(
        self, db: Database, clock: Clock = system_clock, wait_seconds: float = 30.0
    ) -> None:
        self._db = db
        self._clock = clock
        self._wait = wait_seconds

    async def once(
        self,
        app_id: str,
        method: str,
        signed_params: Mapping[str, str | None],
        run: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """Run a state-changing request once; an identical one gets the first answer."""
        if method in READ_ONLY_METHODS:
            return await run()
        key = request_hash(signed_params)
        now = self._clock()
        if not await self._db.write(lambda: claim_request(app_id, key, now)):
            return await self._first_answer(app_id, key)
        try:
            outcome: dict[str, Any] | JubaoError = await run()
        except JubaoError as exc:
            outcome = exc
        except Exception:
            # Unexpected: the caller logs it and answers SYSTEM_ERROR; so does every identical
            # retry, since what the failed run changed is unknown.
            await self._db.write(lambda: store_answer(app_id, key, _encode(JubaoError())))
            raise
        answer = _encode(outcome)
        await self._db.write(lambda: store_answer(app_id, key, answer))
        if isinstance(outcome, JubaoError):
            raise outcome
        return outcome

    async def _first_answer(self, app_id: str, key: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        pause = _POLL_FIRST
        while True:
            answer = await self._db.read(lambda: stored_answer(app_id, key))
            if answer is not None:
                return _decode(answer)
            if loop.time() >= deadline:
                raise BusinessRuleError(
                    "相同的请求正在处理中，请稍后用相同参数重试或查询结果",
                    sub_code="REQUEST_IN_PROGRESS",
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)

    async def purge(self) -> int:
        now = self._clock()
        return await self._db.write(lambda: purge_answers(now))
