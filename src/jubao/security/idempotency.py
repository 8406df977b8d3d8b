"""A byte-identical request is executed once: every state-changing request (any method not known
to be read-only, so a future create method is covered without a change here) claims a row keyed
by ``(app_id, hash of its signed parameters)`` before it runs and stores its answer there. An
identical request within 24 h gets that first answer; one arriving while the first still runs
waits for it. The claim is an insert on the primary key, so concurrent identical requests on any
number of gateways (one PostgreSQL) execute once.

Transient failures are not answers: after ``CHANNEL_UNAVAILABLE`` or ``SYSTEM_ERROR`` (the
contract says "retry the same request") the claim is released and an identical retry runs again.
A running request renews its lease every few seconds; if its process dies, the lease runs out
and a waiting or later identical request takes the claim over.

The key leaves out ``sign``: it is a function of the parameters and the secret. A merchant who
means a second, separate operation with the same fields sends a new ``nonce`` (or, for refunds,
a new ``merchant_refund_sn``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from jubao.clock import Clock, system_clock
from jubao.errors import BusinessRuleError, ChannelUnavailable, JubaoError, StorageError
from jubao.protocol import fbpay, jsonwire, methods
from jubao.storage.database import Database
from jubao.storage.sql import Tx, execute, fetch_one

__all__ = [
    "ANSWER_WINDOW_MS",
    "LEASE_MS",
    "READ_ONLY_METHODS",
    "REPLAYED_BY_THEIR_ORDER",
    "RequestLedger",
    "claim_request",
    "purge_answers",
    "request_hash",
    "store_answer",
]

log = logging.getLogger("jubao.security")

ANSWER_WINDOW_MS = 24 * 3600 * 1000
LEASE_MS = 10_000  # a claim not renewed for this long belongs to a dead process
_RENEW_SECONDS = 2.0
# Methods that change nothing: repeating them is harmless and their answer should be fresh.
READ_ONLY_METHODS = frozenset(
    {methods.QUERY, methods.REFUND_QUERY, methods.REFUND_STATISTICS, methods.GET_TIME}
    | {fbpay.QUERY, fbpay.REFUND_QUERY}
)
# Order-creating methods whose own key already answers an identical request with its first answer:
# the order is unique per merchant_order_sn and its stored payment instruction is what every
# retry answers (payments.service.create). The ledger would add two writes to every order for
# nothing (mina on PostgreSQL lost about a third of its throughput to them, docs/benchmarks.md).
# A payment code (swipe) stays in the ledger: its answer reports the order's state at the time.
REPLAYED_BY_THEIR_ORDER = frozenset(
    {methods.MINA, methods.H5PAY, methods.SCAN, methods.ALIPAY_H5}
    | {fbpay.CREATE, fbpay.WAP_CREATE}
)
# Failures the protocol calls transient ("retry the same request"): the retry must run again.
_TRANSIENT = (ChannelUnavailable, StorageError)
_POLL_FIRST, _POLL_MAX = 0.02, 0.25  # seconds between looks at a pending first answer


def request_hash(signed_params: Mapping[str, str | None]) -> str:
    """SHA-256 of the signed parameters in a canonical order (``sign`` excluded)."""
    canonical = jsonwire.dumps(sorted((k, v) for k, v in signed_params.items() if k != "sign"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def claim_request(
    app_id: str,
    key: str,
    now: int,
    *,
    lease_ms: int = LEASE_MS,
    window_ms: int = ANSWER_WINDOW_MS,
) -> Tx[bool]:
    """True when the caller must execute the request: it is new within the window, or its first
    run died (no answer, lease expired)."""
    result = yield execute(
        "INSERT INTO request_answers (app_id, request_hash, created_at, lease_until, answer) "
        "VALUES (?, ?, ?, ?, NULL) "
        "ON CONFLICT (app_id, request_hash) DO UPDATE SET created_at = excluded.created_at, "
        "lease_until = excluded.lease_until, answer = NULL "
        "WHERE request_answers.created_at <= ? "
        "OR (request_answers.answer IS NULL AND request_answers.lease_until <= ?)",
        app_id,
        key,
        now,
        now + lease_ms,
        now - window_ms,
        now,
    )
    return result.rowcount == 1


def renew_lease(app_id: str, key: str, until: int) -> Tx[None]:
    yield execute(
        "UPDATE request_answers SET lease_until = ? "
        "WHERE app_id = ? AND request_hash = ? AND answer IS NULL",
        until,
        app_id,
        key,
    )


def store_answer(app_id: str, key: str, answer: str) -> Tx[None]:
    yield execute(
        "UPDATE request_answers SET answer = ? WHERE app_id = ? AND request_hash = ?",
        answer,
        app_id,
        key,
    )


def release_claim(app_id: str, key: str) -> Tx[None]:
    yield execute(
        "DELETE FROM request_answers WHERE app_id = ? AND request_hash = ? AND answer IS NULL",
        app_id,
        key,
    )


def claim_state(app_id: str, key: str) -> Tx[tuple[str | None, int] | None]:
    """``(answer, lease_until)``, or None when nobody holds the request."""
    row = (
        yield fetch_one(
            "SELECT answer, lease_until FROM request_answers WHERE app_id = ? AND request_hash = ?",
            app_id,
            key,
        )
    ).first
    return None if row is None else (row["answer"], int(row["lease_until"]))


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
        self,
        db: Database,
        clock: Clock = system_clock,
        *,
        wait_seconds: float = 30.0,
        lease_ms: int = LEASE_MS,
    ) -> None:
        self._db = db
        self._clock = clock
        self._wait = wait_seconds
        self._lease_ms = lease_ms

    async def once(
        self,
        app_id: str,
        method: str,
        signed_params: Mapping[str, str | None],
        run: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """Run a state-changing request once; an identical one gets the first answer."""
        if method in READ_ONLY_METHODS or method in REPLAYED_BY_THEIR_ORDER:
            return await run()
        key = request_hash(signed_params)
        if await self._claim(app_id, key):
            return await self._execute(app_id, key, run)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        pause = _POLL_FIRST
        while True:
            state = await self._db.read(lambda: claim_state(app_id, key))
            if state is not None and state[0] is not None:
                return _decode(state[0])
            # released after a transient failure, or its process died: run it here
            if (state is None or state[1] <= self._clock()) and await self._claim(app_id, key):
                return await self._execute(app_id, key, run)
            if loop.time() >= deadline:
                raise BusinessRuleError(
                    "相同的请求正在处理中，请稍后用相同参数重试或查询结果",
                    sub_code="REQUEST_IN_PROGRESS",
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)

    async def _claim(self, app_id: str, key: str) -> bool:
        now = self._clock()
        return await self._db.write(
            lambda: claim_request(app_id, key, now, lease_ms=self._lease_ms)
        )

    async def _execute(
        self, app_id: str, key: str, run: Callable[[], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        renewing = asyncio.ensure_future(self._renew(app_id, key))
        try:
            outcome: dict[str, Any] | JubaoError = await run()
        except _TRANSIENT:
            await self._release(app_id, key)
            raise
        except JubaoError as exc:
            outcome = exc
        except BaseException:  # unexpected (SYSTEM_ERROR) or cancelled: the retry runs again
            await self._release(app_id, key)
            raise
        finally:
            renewing.cancel()
        answer = _encode(outcome)
        await self._db.write(lambda: store_answer(app_id, key, answer))
        if isinstance(outcome, JubaoError):
            raise outcome
        return outcome

    async def _renew(self, app_id: str, key: str) -> None:
        while True:
            await asyncio.sleep(_RENEW_SECONDS)
            with contextlib.suppress(StorageError):  # the next round tries again
                await self._db.write(self._renewal(app_id, key, self._clock() + self._lease_ms))

    @staticmethod
    def _renewal(app_id: str, key: str, until: int) -> Callable[[], Tx[None]]:
        return lambda: renew_lease(app_id, key, until)

    async def _release(self, app_id: str, key: str) -> None:
        try:
            await self._db.write(lambda: release_claim(app_id, key))
        except Exception:  # the lease runs out instead, and a retry takes the claim over
            log.warning("could not release a request claim; it expires with its lease")

    async def purge(self) -> int:
        now = self._clock()
        return await self._db.write(lambda: purge_answers(now))
