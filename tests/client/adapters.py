"""One async face for both clients, so a single behavioural suite runs against each.

``AsyncJubaoClient`` already is that face; ``SyncFace`` runs ``JubaoClient`` calls in a worker
thread (``asyncio.to_thread``), which also lets it talk to a server running in the test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal, Protocol

import httpx

from jubao.client import (
    AlipayH5Request,
    AlipayH5Response,
    AsyncJubaoClient,
    CloseRequest,
    CloseResponse,
    H5payRequest,
    H5payResponse,
    JubaoClient,
    MinaRequest,
    MinaResponse,
    Order,
    OrderQueryRequest,
    Refund,
    RefundQueryRequest,
    RefundRequest,
    RefundStatistics,
    RefundStatisticsRequest,
    ReverseRequest,
    ReverseResponse,
    ScanRequest,
    ScanResponse,
    ServerTime,
    SwipeRequest,
)

Kind = Literal["sync", "async"]
KINDS: tuple[Kind, ...] = ("sync", "async")


class MerchantApi(Protocol):
    async def mina(self, request: MinaRequest) -> MinaResponse: ...
    async def query(self, request: OrderQueryRequest) -> Order: ...
    async def close_order(self, request: CloseRequest) -> CloseResponse: ...
    async def refund(self, request: RefundRequest) -> Refund: ...
    async def refund_query(self, request: RefundQueryRequest) -> Refund: ...
    async def refund_statistics(self, request: RefundStatisticsRequest) -> RefundStatistics: ...
    async def get_time(self) -> ServerTime: ...
    async def swipe(self, request: SwipeRequest) -> Order: ...
    async def scan(self, request: ScanRequest) -> ScanResponse: ...
    async def h5pay(self, request: H5payRequest) -> H5payResponse: ...

    async def alipay_h5(self, request: AlipayH5Request) -> AlipayH5Response: ...
    async def reverse(self, request: ReverseRequest) -> ReverseResponse: ...
    async def call(
        self, method: str, biz: Mapping[str, Any], *, safe_to_retry: bool = False
    ) -> dict[str, Any]: ...


class SyncFace:
    def __init__(self, client: JubaoClient) -> None:
        self._client = client

    async def mina(self, request: MinaRequest) -> MinaResponse:
        return await asyncio.to_thread(self._client.mina, request)

    async def query(self, request: OrderQueryRequest) -> Order:
        return await asyncio.to_thread(self._client.query, request)

    async def close_order(self, request: CloseRequest) -> CloseResponse:
        return await asyncio.to_thread(self._client.close_order, request)

    async def refund(self, request: RefundRequest) -> Refund:
        return await asyncio.to_thread(self._client.refund, request)

    async def refund_query(self, request: RefundQueryRequest) -> Refund:
        return await asyncio.to_thread(self._client.refund_query, request)

    async def refund_statistics(self, request: RefundStatisticsRequest) -> RefundStatistics:
        return await asyncio.to_thread(self._client.refund_statistics, request)

    async def get_time(self) -> ServerTime:
        return await asyncio.to_thread(self._client.get_time)

    async def swipe(self, request: SwipeRequest) -> Order:
        return await asyncio.to_thread(self._client.swipe, request)

    async def scan(self, request: ScanRequest) -> ScanResponse:
        return await asyncio.to_thread(self._client.scan, request)

    async def h5pay(self, request: H5payRequest) -> H5payResponse:
        return await asyncio.to_thread(self._client.h5pay, request)

    async def alipay_h5(self, request: AlipayH5Request) -> AlipayH5Response:
        return await asyncio.to_thread(self._client.alipay_h5, request)

    async def reverse(self, request: ReverseRequest) -> ReverseResponse:
        return await asyncio.to_thread(self._client.reverse, request)

    async def call(
        self, method: str, biz: Mapping[str, Any], *, safe_to_retry: bool = False
    ) -> dict[str, Any]:
        return await asyncio.to_thread(
            lambda: self._client.call(method, biz, safe_to_retry=safe_to_retry)
        )


@contextlib.asynccontextmanager
async def open_client(
    kind: Kind,
    *,
    app_id: str,
    app_secret: str,
    base_url: str,
    transport: httpx.MockTransport | None = None,
    retries: int = 2,
    backoff: float = 0.0,
    request_timeout: float = 15.0,
) -> AsyncIterator[MerchantApi]:
    options: dict[str, Any] = {"retries": retries, "backoff": backoff, "timeout": request_timeout}
    if kind == "sync":
        with JubaoClient(app_id, app_secret, base_url, transport=transport, **options) as sync:
            yield SyncFace(sync)
    else:
        async with AsyncJubaoClient(
            app_id, app_secret, base_url, transport=transport, **options
        ) as client:
            yield client
