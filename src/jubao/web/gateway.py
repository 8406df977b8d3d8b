"""``POST /gateway``: the Open API 1.0 endpoint. Thin: parse, verify, call one service method,
render. Every answer is HTTP 200 with a JSON envelope, whatever went wrong."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from jubao.channels.timed import upstream_seconds
from jubao.errors import (
    AppNotFound,
    InvalidParameter,
    JubaoError,
    MethodNotSupported,
    SignatureError,
)
from jubao.merchants.directory import MerchantDirectory
from jubao.merchants.models import App
from jubao.payments.service import PaymentService
from jubao.protocol import envelope as env
from jubao.protocol import jsonwire, methods, signing

__all__ = ["Gateway", "json_response"]

log = logging.getLogger("jubao.gateway")

Handler = Callable[[PaymentService, App, dict[str, Any]], Awaitable[dict[str, Any]]]


async def _mina(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return await service.create_mina(app, methods.parse_mina(biz))


async def _query(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return await service.query(app, methods.parse_order_ref(biz))


async def _close(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return await service.close(app, methods.parse_order_ref(biz))


async def _refund(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return await service.refund(app, methods.parse_refund(biz))


async def _refund_query(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return await service.refund_query(app, methods.parse_refund_query(biz))


async def _refund_stats(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return await service.refund_statistics(app, methods.parse_order_ref(biz))


async def _get_time(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return service.server_time()


HANDLERS: dict[str, Handler] = {
    methods.MINA: _mina,
    methods.QUERY: _query,
    methods.CLOSE: _close,
    methods.REFUND: _refund,
    methods.REFUND_QUERY: _refund_query,
    methods.REFUND_STATISTICS: _refund_stats,
    methods.GET_TIME: _get_time,
}


def json_response(
    payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        jsonwire.dumps(payload).encode("utf-8"),
        status_code=status,
        media_type="application/json;charset=UTF-8",
        headers=headers,
    )


class Gateway:
    def __init__(
        self, service: PaymentService, merchants: MerchantDirectory, max_body_bytes: int
    ) -> None:
        self._service = service
        self._merchants = merchants
        self._max_body = max_body_bytes

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        with upstream_seconds() as upstream:
            try:
                payload = env.success(await self._handle(request))
            except JubaoError as exc:
                payload = env.failure(exc.message, exc.sub_code)
            except Exception:  # last line of defence: a clean envelope, details only in our log
                log.exception("unexpected error in gateway")
                payload = env.failure("系统繁忙，请稍后重试", "SYSTEM_ERROR")
        total = time.perf_counter() - started
        timing = {
            # time spent in jubao itself, without waiting on WeChat
            "X-Gateway-Time": f"{(total - upstream[0]) * 1000:.2f}ms",
            "X-Upstream-Time": f"{upstream[0] * 1000:.2f}ms",
        }
        return json_response(payload, headers=timing)

    async def _handle(self, request: Request) -> dict[str, Any]:
        body = await self._read_body(request)
        envelope = env.parse_envelope(body)
        app = await self._merchants.app(envelope.app_id)
        if app is None:
            raise AppNotFound(f"app_id {envelope.app_id[:32]} 不存在")
        if not signing.verify(envelope.signed_params, app.app_secret, envelope.sign):
            raise SignatureError("签名验证失败，请检查 app_secret 与签名算法")
        handler = HANDLERS.get(envelope.method)
        if handler is None:
            raise MethodNotSupported(f"不支持的接口方法 method={envelope.method[:64]}")
        biz = env.parse_biz(envelope)
        return await handler(self._service, app, biz)

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_body:
            raise InvalidParameter(
                f"请求体超过 {self._max_body // 1024} KiB 上限", sub_code="BODY_TOO_LARGE"
            )
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > self._max_body:
                    raise InvalidParameter(
                        f"请求体超过 {self._max_body // 1024} KiB 上限", sub_code="BODY_TOO_LARGE"
                    )
                chunks.append(chunk)
        except ClientDisconnect as exc:
            raise InvalidParameter("请求体不完整", sub_code="INVALID_JSON") from exc
        if not chunks:
            raise InvalidParameter("请求体为空", sub_code="INVALID_JSON")
        return b"".join(chunks)
