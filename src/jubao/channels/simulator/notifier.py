"""Delivery of v3 notifications to a merchant's notify_url, with WeChat's retry schedule.

Success is any 2xx answer. After a failure the next attempt waits ``schedule[n] * time_scale``
seconds; a round makes at most ``len(schedule) + 1`` attempts. Every attempt is recorded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.channels.simulator.models import Notification
from jubao.channels.simulator.signing import random_alnum, wechatpay_headers

__all__ = ["Notifier"]

log = logging.getLogger(__name__)


class Notifier:
    def __init__(
        self,
        *,
        signer: Callable[[], tuple[rsa.RSAPrivateKey, str]],
        schedule: Sequence[float],
        time_scale: float,
        timeout: float,
        now: Callable[[], float],
        persist: Callable[[Notification], None],
        client: Callable[[], Awaitable[httpx.AsyncClient]],
    ) -> None:
        self._signer = signer
        self._schedule = tuple(schedule)
        self._time_scale = time_scale
        self._timeout = timeout
        self._now = now
        self._persist = persist
        self._client = client

    @property
    def max_attempts(self) -> int:
        return len(self._schedule) + 1

    async def deliver(self, notification: Notification) -> None:
        """Runs one delivery round to its end (delivered, failed or dropped)."""
        if notification.mode == "drop":
            self._record(notification, None, "dropped by the simulator (notifications=drop)")
            notification.state = "dropped"
            notification.next_attempt_at = None
            self._persist(notification)
            return
        while notification.state == "pending":
            due = notification.next_attempt_at
            if due is not None:
                await asyncio.sleep(max(0.0, due - self._now()))
            copies = 2 if notification.mode == "duplicate" else 1
            delivered = False
            for copy in range(copies):
                status, error = await self._send(notification.url, notification.body.encode())
                self._record(notification, status, error, duplicate=copy > 0)
                delivered = delivered or (status is not None and 200 <= status < 300)
            made = self._attempts_this_round(notification)
            if delivered:
                notification.state = "delivered"
                notification.next_attempt_at = None
            elif made >= self.max_attempts:
                notification.state = "failed"
                notification.next_attempt_at = None
            else:
                delay = self._schedule[made - 1] * self._time_scale
                notification.next_attempt_at = self._now() + delay
            self._persist(notification)

    async def probe(self, url: str, body: bytes) -> tuple[int | None, str | None]:
        """A ``WECHATPAY/SIGNTEST/`` probe: same headers, a signature nobody can verify."""
        headers = self._headers(body)
        headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + random_alnum(64)
        return await self._post(url, body, headers)

    def _headers(self, body: bytes) -> dict[str, str]:
        key, serial = self._signer()  # the mode's key: the public key or a certificate's
        headers = wechatpay_headers(key, serial, int(self._now()), body)
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = "Mozilla/4.0 (jubao WeChat Pay simulator)"
        return headers

    async def _send(self, url: str, body: bytes) -> tuple[int | None, str | None]:
        return await self._post(url, body, self._headers(body))

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        client = await self._client()
        try:
            answer = await client.post(url, content=body, headers=headers, timeout=self._timeout)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return None, f"{type(error).__name__}: {error}"
        if 200 <= answer.status_code < 300:
            return answer.status_code, None
        return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:200]}"

    def _record(
        self,
        notification: Notification,
        status: int | None,
        error: str | None,
        *,
        duplicate: bool = False,
    ) -> None:
        attempt: dict[str, Any] = {
            "number": len(notification.attempts) + 1,
            "at": self._now(),
            "status_code": status,
            "error": error,
            "duplicate": duplicate,
        }
        notification.attempts.append(attempt)
        if error is not None:
            log.info("notification %s attempt %d: %s", notification.id, attempt["number"], error)

    @staticmethod
    def _attempts_this_round(notification: Notification) -> int:
        return sum(
            1 for item in notification.attempts[notification.round_start :] if not item["duplicate"]
        )
