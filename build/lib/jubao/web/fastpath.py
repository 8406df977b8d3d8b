"""``POST /gateway`` straight to its handler, past Starlette's routing and exception layers.

The gateway handler answers every outcome itself (a JSON envelope, never an exception), so the
router, the route wrapper and the exception middleware only cost time on the hottest path: about
a tenth of the CPU of an ``order.query`` under load (py-spy, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["GatewayFastPath"]


class GatewayFastPath:
    def __init__(
        self, app: ASGIApp, handle: Callable[[Request], Awaitable[Response]], path: str
    ) -> None:
        self.app = app
        self._handle = handle
        self._path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self._path and scope["method"] == "POST":
            response = await self._handle(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
