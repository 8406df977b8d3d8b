"""Measures time spent waiting on the upstream channel, per request, so the gateway can report
its own overhead apart from the channel's latency (``X-Gateway-Time`` / ``X-Upstream-Time``);
counts failed channel calls (``jubao_channel_errors``) and logs each call at DEBUG (with the
request id, like every record made while serving a request)."""

from __future__ import annotations

import logging
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
from jubao.errors import ChannelError, JubaoError
from jubao.kinds import ChannelName, Scene
from jubao.observe.metrics import CHANNEL_ERRORS

__all__ = ["TimedChannel", "upstream_seconds"]

log = logging.getLogger("jubao.channel.calls")

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
    """``with _timed(channel, operation): await upstream(...)`` adds the time inside to the
    request's total, and counts a failure by the channel's code."""

    def __init__(self, channel: ChannelName, operation: str) -> None:
        self._channel = channel
        self._operation = operation

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, kind: type[BaseException] | None, error: object, _tb: object) -> None:
        spent = time.perf_counter() - self._started
        total = _upstream.get()
        if total is not None:
            total[0] += spent
        code = ""
        if isinstance(error, ChannelError):
            code = error.sub_code
        elif isinstance(error, JubaoError):
            code = "UNAVAILABLE" if error.sub_code == "CHANNEL_UNAVAILABLE" else error.sub_code
        elif isinstance(error, Exception):
            code = "UNEXPECTED"
        if code:
            CHANNEL_ERRORS.labels(self._channel.value, code).inc()
        log.debug(
            "channel %s %s %.1fms%s",
            self._channel.value,
            self._operation,
            spent * 1000,
            f" failed: {code}" if code else "",
        )


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
        with _timed(self.name, "create_payment"):
            return await self.inner.create_payment(request)

    async def query(self, binding: ChannelBinding, out_trade_no: str) -> ChannelTransaction:
        with _timed(self.name, "query"):
            return await self.inner.query(binding, out_trade_no)

    async def close(self, binding: ChannelBinding, out_trade_no: str) -> None:
        with _timed(self.name, "close"):
            await self.inner.close(binding, out_trade_no)

    async def cancel(self, binding: ChannelBinding, out_trade_no: str) -> None:
        with _timed(self.name, "cancel"):
            await self.inner.cancel(binding, out_trade_no)

    async def refund(self, request: RefundRequest) -> ChannelRefund:
        with _timed(self.name, "refund"):
            return await self.inner.refund(request)

    async def query_refund(
        self, binding: ChannelBinding, out_trade_no: str, out_refund_no: str
    ) -> ChannelRefund:
        with _timed(self.name, "query_refund"):
            return await self.inner.query_refund(binding, out_trade_no, out_refund_no)

    async def fetch_statement(
        self, day: date, binding: ChannelBinding | None = None
    ) -> list[StatementLine]:
        with _timed(self.name, "fetch_statement"):
            return await self.inner.fetch_statement(day, binding)

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> TransactionEvent | RefundEvent:
        return self.inner.parse_notification(headers, body)

    def notification_answer(self, accepted: bool, reason: str = "") -> NotificationAnswer:
        return self.inner.notification_answer(accepted, reason)

    async def aclose(self) -> None:
        await self.inner.aclose()
