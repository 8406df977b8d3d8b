"""Measures time spent waiting on the upstream channel, per request, so the gateway can report
its own overhead apart from WeChat's latency (``X-Gateway-Time`` / ``X-Upstream-Time``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import ContextVar

from jubao.channels.base import (
    Channel,
    ChannelBinding,
    ChannelRefund,
    ChannelTransaction,
    PrepayRequest,
    RefundEvent,
    RefundRequest,
    SignParams,
    TransactionEvent,
)

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


def _add(seconds: float) -> None:
    total = _upstream.get()
    if total is not None:
        total[0] += seconds


class TimedChannel:
    """A ``Channel`` that delegates and records how long each upstream call took."""

    def __init__(self, inner: Channel) -> None:
        self.inner = inner

    async def prepay(self, request: PrepayRequest) -> str:
        started = time.perf_counter()
        try:
            return await self.inner.prepay(request)
        finally:
            _add(time.perf_counter() - started)

    def sign_params(self, app_id: str, prepay_id: str) -> SignParams:
        return self.inner.sign_params(app_id, prepay_id)

    async def query(self, binding: ChannelBinding, out_trade_no: str) -> ChannelTransaction:
        started = time.perf_counter()
        try:
            return await self.inner.query(binding, out_trade_no)
        finally:
            _add(time.perf_counter() - started)

    async def close(self, binding: ChannelBinding, out_trade_no: str) -> None:
        started = time.perf_counter()
        try:
            await self.inner.close(binding, out_trade_no)
        finally:
            _add(time.perf_counter() - started)

    async def refund(self, request: RefundRequest) -> ChannelRefund:
        started = time.perf_counter()
        try:
            return await self.inner.refund(request)
        finally:
            _add(time.perf_counter() - started)

    async def query_refund(self, binding: ChannelBinding, out_refund_no: str) -> ChannelRefund:
        started = time.perf_counter()
        try:
            return await self.inner.query_refund(binding, out_refund_no)
        finally:
            _add(time.perf_counter() - started)

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> TransactionEvent | RefundEvent:
        return self.inner.parse_notification(headers, body)

    async def aclose(self) -> None:
        await self.inner.aclose()
