"""Everything under ``/gateway`` straight to the gateway, past Starlette's routing and exception
layers.

The gateway handler answers every outcome itself (a JSON envelope, never an exception), so the
router, the route wrapper and the exception middleware only cost time on the hottest path: about
a tenth of the CPU of an ``order.query`` under load (py-spy, docs/benchmarks.md).

Owning the whole prefix also keeps the protocol's promise that every answer there is a Fubei
envelope: an unknown path (``/gateway/``, ``/gateway/foo``) or a method other than POST gets the
failure envelope, never Starlette's plain-text 404/405 or its trailing-slash redirect. Another
endpoint (``/gateway/agent``) is one more entry in ``endpoints``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from jubao.protocol import envelope as env
from jubao.protocol.jsonwire import preview
from jubao.web.gateway import json_response

__all__ = ["GatewayFastPath"]

Endpoint = Callable[[Request], Awaitable[Response]]


class GatewayFastPath:
    def __init__(
        self, app: ASGIApp, endpoints: Mapping[str, Endpoint], prefix: str = "/gateway"
    ) -> None:
        """``endpoints``: exact path -> handler of its POST requests; all under ``prefix``."""
        self.app = app
        self._endpoints = dict(endpoints)
        self._prefix = prefix
        self._below = prefix + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path != self._prefix and not path.startswith(self._below):
            await self.app(scope, receive, send)
            return
        handle = self._endpoints.get(path)
        if handle is None:
            response = _not_found(path, self._endpoints)
        elif scope["method"] != "POST":
            response = _method_not_allowed(scope["method"], path)
        else:
            response = await handle(Request(scope, receive))
        await response(scope, receive, send)


# HTTP 200 like every other gateway answer: the SDKs throw away the body of any other status, and
# the Chinese message is what tells a developer what went wrong.
def _not_found(path: str, endpoints: Mapping[str, Endpoint]) -> Response:
    served = "、".join(f"POST {known}" for known in sorted(endpoints))
    message = f"接口地址 {preview(path, 64)} 不存在，请使用 {served}"
    return json_response(env.failure(message, "INVALID_PATH"))


def _method_not_allowed(method: str, path: str) -> Response:
    message = f"{path} 不支持 HTTP {preview(method, 16)} 请求，请使用 POST"
    return json_response(env.failure(message, "INVALID_HTTP_METHOD"), headers={"Allow": "POST"})
