"""``AsyncJubaoV2Client``: the asyncio Open API 2.0 shell around ``AgentCore`` and
``httpx.AsyncClient``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx

from jubao.client import operations as ops_v1
from jubao.client.core import DEFAULT_RETRIES, DEFAULT_TIMEOUT, RetryPolicy
from jubao.client.shells import AsyncShell
from jubao.client.v2 import operations as ops
from jubao.client.v2.credentials import AgentCore, Credentials
from jubao.client.v2.request_models import (
    CallbackConfigRequest,
    CloseRequest,
    CreateOrderRequest,
    FixedQrcodeRequest,
    OrderQueryRequest,
    PayRequest,
    QrcodeOrderRequest,
    RefundQueryRequest,
    RefundRequest,
    WapOrderRequest,
)
from jubao.client.v2.response_models import (
    CallbackConfig,
    ClosedOrder,
    CreatedOrder,
    FixedQrcode,
    Order,
    QrcodeOrder,
    Refund,
    WapOrder,
)

__all__ = ["AsyncJubaoV2Client"]

T = TypeVar("T")


class AsyncJubaoV2Client(AsyncShell):
    """An asyncio Open API 2.0 client (``/gateway/agent``). Use it with ``async with``, or await
    ``aclose()``.

    ``credentials``: ``AppCredentials`` (merchant level) or ``VendorCredentials`` (service
    provider; every call names its ``merchant_id``). ``base_url``: the gateway's origin
    (``http://127.0.0.1:8600``) or the full ``.../gateway/agent`` URL. ``retries``, ``backoff``,
    ``timeout`` and ``transport`` as for ``AsyncJubaoClient``.
    """

    def __init__(
        self,
        credentials: Credentials,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._core = AgentCore(credentials, base_url, RetryPolicy(retries, backoff))
        super().__init__(self._core, timeout, transport)

    def __repr__(self) -> str:
        return f"AsyncJubaoV2Client({self._core.credentials!r}, url={self._core.url!r})"

    async def pay(self, request: PayRequest) -> Order:
        """The payment code's order: ``SUCCESS``, or ``USERPAYING`` while the payer confirms
        (poll ``query``). A declined code raises ``ApiError``."""
        return await self._execute(ops.pay(request))

    async def create(self, request: CreateOrderRequest) -> CreatedOrder:
        return await self._execute(ops.create(request))

    async def query(self, request: OrderQueryRequest) -> Order:
        return await self._execute(ops.query(request))

    async def close_order(self, request: CloseRequest) -> ClosedOrder:
        return await self._execute(ops.close_order(request))

    async def refund(self, request: RefundRequest) -> Refund:
        return await self._execute(ops.refund(request))

    async def refund_query(self, request: RefundQueryRequest) -> Refund:
        return await self._execute(ops.refund_query(request))

    async def qrcode(self, request: QrcodeOrderRequest) -> QrcodeOrder:
        return await self._execute(ops.qrcode(request))

    async def fixed_qrcode(self, request: FixedQrcodeRequest) -> FixedQrcode:
        return await self._execute(ops.fixed_qrcode(request))

    async def wap_create(self, request: WapOrderRequest) -> WapOrder:
        return await self._execute(ops.wap_create(request))

    async def callback_config(self, request: CallbackConfigRequest) -> CallbackConfig:
        return await self._execute(ops.callback_config(request))

    async def call(
        self, method: str, biz: Mapping[str, Any], *, safe_to_retry: bool = False
    ) -> dict[str, Any]:
        """Any 2.0 method by name (vendor level: ``merchant_id`` added as for the typed calls);
        returns the answer's ``data`` object."""
        return await self._execute(ops_v1.raw_call(method, biz, safe_to_retry=safe_to_retry))
