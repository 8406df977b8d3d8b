"""One async face for both 2.0 clients (as ``adapters.py`` for 1.0): ``AsyncJubaoV2Client`` is
that face; ``SyncV2Face`` runs ``JubaoV2Client`` calls in a worker thread."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

import httpx

from jubao.client.v2 import (
    AsyncJubaoV2Client,
    CallbackConfig,
    CallbackConfigRequest,
    ClosedOrder,
    CloseRequest,
    CreatedOrder,
    CreateOrderRequest,
    Credentials,
    FixedQrcode,
    FixedQrcodeRequest,
    JubaoV2Client,
    Order,
    OrderQueryRequest,
    PayRequest,
    QrcodeOrder,
    QrcodeOrderRequest,
    Refund,
    RefundQueryRequest,
    RefundRequest,
    WapOrder,
    WapOrderRequest,
)
from tests.client.adapters import KINDS, Kind

__all__ = ["KINDS", "Kind", "V2Api", "open_v2_client"]


class V2Api(Protocol):
    async def pay(self, request: PayRequest) -> Order: ...
    async def create(self, request: CreateOrderRequest) -> CreatedOrder: ...
    async def query(self, request: OrderQueryRequest) -> Order: ...
    async def close_order(self, request: CloseRequest) -> ClosedOrder: ...
    async def refund(self, request: RefundRequest) -> Refund: ...
    async def refund_query(self, request: RefundQueryRequest) -> Refund: ...
    async def qrcode(self, request: QrcodeOrderRequest) -> QrcodeOrder: ...
    async def fixed_qrcode(self, request: FixedQrcodeRequest) -> FixedQrcode: ...
    async def wap_create(self, request: WapOrderRequest) -> WapOrder: ...
    async def callback_config(self, request: CallbackConfigRequest) -> CallbackConfig: ...
    async def call(
        self, method: str, biz: Mapping[str, Any], *, safe_to_retry: bool = False
    ) -> dict[str, Any]: ...


class SyncV2Face:
    def __init__(self, client: JubaoV2Client) -> None:
        self._client = client

    async def pay(self, request: PayRequest) -> Order:
        return await asyncio.to_thread(self._client.pay, request)

    async def create(self, request: CreateOrderRequest) -> CreatedOrder:
        return await asyncio.to_thread(self._client.create, request)

    async def query(self, request: OrderQueryRequest) -> Order:
        return await asyncio.to_thread(self._client.query, request)

    async def close_order(self, request: CloseRequest) -> ClosedOrder:
        return await asyncio.to_thread(self._client.close_order, request)

    async def refund(self, request: RefundRequest) -> Refund:
        return await asyncio.to_thread(self._client.refund, request)

    async def refund_query(self, request: RefundQueryRequest) -> Refund:
        return await asyncio.to_thread(self._client.refund_query, request)

    async def qrcode(self, request: QrcodeOrderRequest) -> QrcodeOrder:
        return await asyncio.to_thread(self._client.qrcode, request)

    async def fixed_qrcode(self, request: FixedQrcodeRequest) -> FixedQrcode:
        return await asyncio.to_thread(self._client.fixed_qrcode, request)

    async def wap_create(self, request: WapOrderRequest) -> WapOrder:
        return await asyncio.to_thread(self._client.wap_create, request)

    async def callback_config(self, request: CallbackConfigRequest) -> CallbackConfig:
        return await asyncio.to_thread(self._client.callback_config, request)

    async def call(
        self, method: str, biz: Mapping[str, Any], *, safe_to_retry: bool = False
    ) -> dict[str, Any]:
        return await asyncio.to_thread(
            lambda: self._client.call(method, biz, safe_to_retry=safe_to_retry)
        )


@contextlib.asynccontextmanager
async def open_v2_client(
    kind: Kind,
    credentials: Credentials,
    base_url: str,
    *,
    transport: httpx.MockTransport | None = None,
    retries: int = 2,
    backoff: float = 0.0,
) -> AsyncIterator[V2Api]:
    options: dict[str, Any] = {"retries": retries, "backoff": backoff}
    if kind == "sync":
        with JubaoV2Client(credentials, base_url, transport=transport, **options) as sync:
            yield SyncV2Face(sync)
    else:
        async with AsyncJubaoV2Client(
            credentials, base_url, transport=transport, **options
        ) as client:
            yield client
