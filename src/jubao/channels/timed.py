"""Measures time spent waiting on the upstream channel, per request, so the gateway can report
its own overhead apart from the channel's latency (``X-Gateway-Time`` / ``X-Upstream-Time``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import date

from jubao.channels.base import (
    Channel,
    ChannelBinding,
    ChannelRefund,
    ChannelTransaction,
    NotificationAnswer,
    PaymentInstruction,
    PaymentRequest,
    RefundEvent,
    RefundRequest,
    StatementLine,
    TransactionEvent,
)
from jubao.kinds import ChannelName, Scene

__all__ = ["TimedChannel", "upstream_seconds"]

# A list so that tasks sharing the request's context add to one total.
_upstream: ContextVar[list[float] | None] = ContextVar("jubao_upstream", default=None)


class upstream_seconds:
    """``with upstream_seconds() as spent: ...; spent[0]`` is the upstream time inside."""

    def __enter__(self) -> list[float]:
        self._total = [0.0]
        self._token = _upstream.set(self._total)
        return self._total

    def __exit__(self, *exc: object) -> None:
        _upstream.reset(self._token)


class _timed:
    """``with _timed(): await upstream(...)`` adds the time inside to the request's total."""

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        total = _upstream.get()
        if total is not None:
            total[0] += time.perf_counter() - self._started


class TimedChannel:
    """A ``Channel`` that delegates and records how long each upstream call took."""

    def __init__(self, inner: Channel) -> None:
        self.inner = inner

    @property
    def name(self) -> ChannelName:
        return self.inner.name

    def supports(self, scene: Scene) -> bool:
        return self.inner.supports(scene)

    async def create_payment(self, request: PaymentRequest) -> PaymentInstruction:
        with _timed():
            return await self.inner.create_payment(request)

    async def query(self, binding: ChannelBinding, out_trade_no: str) -> ChannelTransaction:
        with _timed():
            return await self.inner.query(binding, out_trade_no)

    async def close(self, binding: ChannelBinding, out_trade_no: str) -> None:
        with _timed():
            await self.inner.close(binding, out_trade_no)

    async def cancel(self, binding: ChannelBinding, out_trade_no: str) -> None:
        with _timed():
            await self.inner.cancel(binding, out_trade_no)

    async def refund(self, request: RefundRequest) -> ChannelRefund:
        with _timed():
            return await self.inner.refund(request)

    async def query_refund(
        self, binding: ChannelBinding, out_trade_no: str, out_refund_no: str
    ) -> ChannelRefund:
        with _timed():
            return await self.inner.query_refund(binding, out_trade_no, out_refund_no)

    async def fetch_statement(self, day: date) -> list[StatementLine]:
        with _timed():
            return await self.inner.fetch_statement(day)

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> TransactionEvent | RefundEvent:
        return self.inner.parse_notification(headers, body)

    def notification_answer(self, accepted: bool, reason: str = "") -> NotificationAnswer:
        return self.inner.notification_answer(accepted, reason)

    async def aclose(self) -> None:
        await self.inner.aclose()
