"""Counts failed channel calls (``jubao_channel_errors``) and logs each call with its duration
at DEBUG (with the request id, like every record made while serving a request). The upstream
time a gateway request reports (``X-Upstream-Time``) is measured on the wire, in
``channels.outbound``."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
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

__all__ = ["TimedChannel"]

log = logging.getLogger("jubao.channel.calls")


class _timed:
    """``with _timed(channel, operation): await upstream(...)`` counts a failure by the channel's
    code and logs the call (the request's upstream time is measured on the wire, in
    ``channels.outbound``)."""

    def __init__(self, channel: ChannelName, operation: str) -> None:
        self._channel = channel
        self._operation = operation

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, kind: type[BaseException] | None, error: object, _tb: object) -> None:
        spent = time.perf_counter() - self._started
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
