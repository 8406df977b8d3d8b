"""Delivery of ``trade_status_sync`` notifications: a form POST to the trade's ``notify_url``,
repeated on Alipay's schedule until the receiver answers exactly ``success`` (8 deliveries in
about 25 hours, scaled by ``time_scale``). Every attempt is recorded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlencode

import httpx

from jubao.channels.alipay_simulator.models import Notification

__all__ = ["Notifier"]

log = logging.getLogger(__name__)


class Notifier:
    def __init__(
        self,
        *,
        schedule: Sequence[float],
        time_scale: float,
        timeout: float,
        now: Callable[[], float],
        persist: Callable[[Notification], None],
        client: Callable[[], Awaitable[httpx.AsyncClient]],
    ) -> None:
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
        """Runs the deliveries to their end: delivered, failed (schedule exhausted) or dropped."""
        if notification.mode == "drop":
            notification.state = "dropped"
            notification.next_attempt_at = None
            self._persist(notification)
            return
        while notification.state == "pending":
            due = notification.next_attempt_at
            if due is not None:
                await asyncio.sleep(max(0.0, due - self._now()))
            copies = 2 if notification.mode == "duplicate" else 1
            accepted = False
            for copy in range(copies):
                status, answer = await self._post(notification)
                accepted = accepted or answer == "success"
                notification.attempts.append(
                    {
                        "number": len(notification.attempts) + 1,
                        "at": self._now(),
                        "status_code": status,
                        "answer": answer[:200],
                        "duplicate": copy > 0,
                    }
                )
            made = sum(
                1 for a in notification.attempts[notification.round_start :] if not a["duplicate"]
            )
            if accepted:
                notification.state = "delivered"
                notification.next_attempt_at = None
            elif made >= self.max_attempts:
                notification.state = "failed"
                notification.next_attempt_at = None
            else:
                notification.next_attempt_at = (
                    self._now() + self._schedule[made - 1] * self._time_scale
                )
            self._persist(notification)

    async def _post(self, notification: Notification) -> tuple[int | None, str]:
        client = await self._client()
        body = urlencode(notification.fields).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        try:
            answer = await client.post(
                notification.url, content=body, headers=headers, timeout=self._timeout
            )
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            log.info("notification %s: %s", notification.id, type(error).__name__)
            return None, f"{type(error).__name__}: {error}"
        # Alipay stops only on the exact text "success".
        return answer.status_code, answer.text
