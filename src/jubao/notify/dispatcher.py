"""Delivers merchant notifications from the outbox: claim due rows, POST the signed form, record.

At-least-once: a row leaves PENDING only after an attempt's outcome is committed, and a claim that
never finishes (crash, kill) expires after ``notify_lease_seconds`` and is claimed again. The
merchant may therefore see a notification more than once and must treat it idempotently, as with
Fubei and WeChat.

Every attempt, refused or failed, is recorded: start time, HTTP status, the first 256 bytes of the
answer, the error, the duration. Nothing here logs the form: it carries the sign.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from jubao.clock import Clock, system_clock
from jubao.config import Settings
from jubao.httppool import PinnedAiohttpClient
from jubao.notify import repository as repo
from jubao.notify.repository import AttemptRecord, NotificationRecord, NotificationStatus
from jubao.notify.schedule import RetryPolicy
from jubao.notify.urlguard import Destination, UrlGuard, UrlRefused
from jubao.observe.metrics import NOTIFICATION_DELIVERIES
from jubao.protocol.notification import build_form, is_acknowledged
from jubao.security.keys import sealer_for
from jubao.storage.database import Database

__all__ = ["Dispatcher", "Reply"]

# a claim's signing secrets by signer (repository.signer_of): sealed, and the data that opens it
Secrets = Mapping[tuple[str, str], tuple[str, bytes] | None]

log = logging.getLogger("jubao.notify")

MAX_ANSWER_BYTES = 4096  # read no more of a merchant's answer than this
RECORDED_HEAD_BYTES = 256
USER_AGENT = "jubao-notify/1.0"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes  # at most MAX_ANSWER_BYTES


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Clock = system_clock,
        http_client: httpx.AsyncClient | None = None,
        owner: str | None = None,
        guard: UrlGuard | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self._policy = RetryPolicy(settings.notify_schedule)
        self._guard = guard or UrlGuard(allow_private=settings.notify_allow_private)
        self._sealer = sealer_for(settings)  # app secrets are sealed at rest
        # Tests inject an httpx client (MockTransport, ASGITransport); production posts over
        # aiohttp, a fifth of httpx's CPU per request (docs/benchmarks.md). Neither uses a proxy
        # from the environment: a proxy would resolve the host itself and undo the address
        # pinning (see urlguard.Destination).
        self._injected = http_client
        self._pool = (
            PinnedAiohttpClient(connections=settings.notify_concurrency)
            if http_client is None
            else None
        )
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._claims = itertools.count(1)
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    # ---- one pass (tests and tools) ----------------------------------------------------------

    async def run_once(self) -> int:
        """Claim up to ``notify_concurrency`` due notifications, deliver them, return how many."""
        rows = await self._claim(self._settings.notify_concurrency)
        await asyncio.gather(*(self._attempt(*claimed) for claimed in rows))
        return len(rows)

    # ---- the loop ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run(), name=f"notify-{self.owner}")

    async def stop(self) -> None:
        """Stop claiming; give deliveries in flight one timeout to finish, then cancel them
        (their leases expire and another run delivers them)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._in_flight:
            _, pending = await asyncio.wait(
                self._in_flight, timeout=self._settings.notify_timeout_seconds + 1
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._pool is not None:
            await self._pool.aclose()

    def poke(self) -> None:
        """Look for due notifications now (call after committing an outbox row)."""
        self._wake.set()

    async def _run(self) -> None:
        # Deliveries run as independent tasks, so one slow merchant holds one slot, not a batch.
        limit = self._settings.notify_concurrency
        while True:
            free = limit - len(self._in_flight)
            claimed = []
            if free > 0:
                try:
                    claimed = await self._claim(free)
                except Exception:
                    log.exception("claiming notifications failed; will retry")
                for row, token, secrets in claimed:
                    task = asyncio.create_task(self._attempt(row, token, secrets))
                    self._in_flight.add(task)
                    task.add_done_callback(self._finished)
            if free > 0 and len(claimed) == free:
                continue  # a full batch: more may be due
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()
            self._wake.clear()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()  # a slot is free

    # ---- claim, deliver, record --------------------------------------------------------------

    async def _claim(self, limit: int) -> list[tuple[NotificationRecord, str, Secrets]]:
        token = f"{self.owner}/{next(self._claims)}"
        now = self._clock()
        lease_until = now + round(self._settings.notify_lease_seconds * 1000)
        dialect = self._db.dialect
        rows = await self._db.write(lambda: repo.claim_due(dialect, token, now, lease_until, limit))
        secrets = await self._signing_secrets(rows)
        return [(row, token, secrets) for row in rows]

    async def _signing_secrets(self, rows: list[NotificationRecord]) -> Secrets:
        """The secrets that sign ``rows``, each signer's read once for the claim (not once per
        row): current when the row was claimed, just before its attempt."""
        if not rows:
            return {}
        try:
            return await self._db.read(lambda: repo.signing_secrets(rows))
        except Exception:  # each attempt reads its own, and fails or succeeds on its own
            log.exception("reading the signing secrets of %d notifications failed", len(rows))
            return {}

    async def _attempt(self, row: NotificationRecord, token: str, secrets: Secrets) -> None:
        try:
            await self._attempt_unguarded(row, token, secrets)
        except Exception:  # the lease expires and the row is tried again
            log.exception("notification %s: attempt not recorded", row.notification_id)

    async def _attempt_unguarded(
        self, row: NotificationRecord, token: str, secrets: Secrets
    ) -> None:
        notification_id = row.notification_id
        started_at = self._clock()
        began = time.perf_counter()
        reply, error = await self._deliver(row, secrets)
        duration_ms = round((time.perf_counter() - began) * 1000)
        delivered = reply is not None and is_acknowledged(reply.status, reply.body)
        attempts_made = row.attempts + 1
        now = self._clock()
        next_at = None if delivered else self._policy.next_attempt_at(attempts_made, now)
        if delivered:
            status = NotificationStatus.DELIVERED
        elif next_at is None:
            status = NotificationStatus.FAILED
        else:
            status = NotificationStatus.PENDING
        if reply is not None and not delivered and error is None:
            error = "not acknowledged" if 200 <= reply.status < 300 else f"HTTP {reply.status}"
        record = AttemptRecord(
            started_at=started_at,
            duration_ms=duration_ms,
            http_status=reply.status if reply else None,
            response_head=_head(reply.body) if reply else None,
            error=error,
        )
        stored = await self._db.write(
            lambda: repo.record_attempt(
                notification_id, token, row.attempts, record, status, next_at, now
            )
        )
        if not stored:
            log.warning("notification %s: claim superseded; outcome dropped", notification_id)
            return
        NOTIFICATION_DELIVERIES.labels(status.value).inc()
        log.info(
            "notification %s attempt %d/%d: %s%s",
            notification_id,
            attempts_made,
            self._policy.max_attempts,
            status.value,
            f" ({error})" if error else "",
        )

    async def _deliver(
        self, row: NotificationRecord, secrets: Secrets
    ) -> tuple[Reply | None, str | None]:
        """POST the form once. Returns the reply (or ``None``) and an error text (or ``None``)."""
        kind, name = repo.signer_of(row)
        if (kind, name) in secrets:
            stored = secrets[kind, name]
        else:
            stored = await self._db.read(lambda: repo.signing_secret(row))
        if stored is None:
            return None, f"{kind} {name} no longer exists"
        form = build_form(row.payload, self._sealer.open(*stored))
        timeout = self._settings.notify_timeout_seconds
        try:
            async with asyncio.timeout(timeout):  # one deadline: resolution to last byte read
                destination = await self._guard.vet(row.url)
                return await self._post(destination, form), None
        except UrlRefused as exc:
            return None, f"refused: {exc}"
        except (TimeoutError, httpx.TimeoutException):
            return None, f"timeout after {timeout:g} s"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        except Exception as exc:  # still an attempt: recorded and counted, never retried forever
            log.exception("notification %s: unexpected delivery error", row.notification_id)
            return None, f"internal error: {type(exc).__name__}"

    async def _post(self, destination: Destination, form: dict[str, str]) -> Reply:
        https = destination.url.scheme == "https"
        headers = [
            ("Host", destination.host_header),
            ("Accept", "*/*"),
            ("Accept-Encoding", "gzip, deflate"),  # what both clients decode
            # the httpx pool keys connections by (scheme, IP, port): never let a TLS connection
            # verified for one host name carry another name's notification
            ("Connection", "close" if https else "keep-alive"),
            ("User-Agent", USER_AGENT),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ]
        content = urlencode(form).encode("ascii")
        timeout = self._settings.notify_timeout_seconds
        if self._pool is not None:
            status, body = await self._pool.post(
                destination.pinned_url,
                content,
                headers,
                server_hostname=destination.server_hostname,
                seconds=timeout,
                max_bytes=MAX_ANSWER_BYTES,
                keep_alive=not https,
            )
            return Reply(status, body)
        return await _post_httpx(self._injected, destination, content, headers, timeout)


async def _post_httpx(
    client: httpx.AsyncClient | None,
    destination: Destination,
    content: bytes,
    headers: list[tuple[str, str]],
    seconds: float,
) -> Reply:
    """The same POST through an injected ``httpx.AsyncClient`` (tests)."""
    assert client is not None  # set whenever the dispatcher has no pool of its own
    request = client.build_request(
        "POST",
        destination.pinned_url,
        content=content,
        headers=headers,
        extensions=destination.extensions,
        timeout=seconds,
    )
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= MAX_ANSWER_BYTES:
                break
        return Reply(response.status_code, bytes(body[:MAX_ANSWER_BYTES]))
    finally:
        await response.aclose()


def _head(body: bytes) -> str:
    return body[:RECORDED_HEAD_BYTES].decode("utf-8", errors="replace")
