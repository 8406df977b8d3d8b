"""The front of the whole app: everything under ``/gateway`` is served here, in raw ASGI, before
Starlette and its middleware; every other path goes on to Starlette as before.

On the hottest path Starlette's layers only cost time (a sixth of the CPU of an ``order.query``
under load: the app, its error middleware, the request-id middleware's header rewrite, the
``Request`` and ``Response`` objects; py-spy, docs/benchmarks.md), so the front does itself what
they did for the gateway:

- the ``X-Request-Id`` (``web/requestid.py``): the caller's if acceptable, set for every log line;
- the answer: HTTP 200, a JSON envelope, two ``send`` calls (``web/answer.py``);
- the last line of defence: an exception that escapes an endpoint is logged and answered with the
  failure envelope, never a 500 or a trace.

Owning the whole prefix also keeps the protocol's promise that every answer there is a Fubei
envelope: an unknown path (``/gateway/``, ``/gateway/foo``) or a method other than POST gets the
failure envelope, never Starlette's plain-text 404/405 or its trailing-slash redirect. Another
endpoint (``/gateway/agent``) is one more entry in ``endpoints``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from jubao.errors import JubaoError
from jubao.observe.logs import install_request_ids, request_id_var
from jubao.protocol import envelope as env
from jubao.protocol.jsonwire import preview
from jubao.web.answer import Reply
from jubao.web.requestid import REQUEST_ID_KEY, accepted_request_id

__all__ = ["Endpoint", "GatewayFront"]

log = logging.getLogger("jubao.gateway")

# An endpoint answers every request through the ``Reply`` (exactly once, whatever went wrong).
Endpoint = Callable[[Scope, Receive, Reply], Awaitable[None]]


class GatewayFront:
    def __init__(
        self, app: ASGIApp, endpoints: Mapping[str, Endpoint], prefix: str = "/gateway"
    ) -> None:
        """``app``: what serves every other path; ``endpoints``: exact path -> handler of its
        POST requests, all under ``prefix``."""
        self.app = app
        self._endpoints = dict(endpoints)
        self._prefix = prefix
        self._below = prefix + "/"
        install_request_ids()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path != self._prefix and not path.startswith(self._below):
            await self.app(scope, receive, send)
            return
        offered = None
        for key, value in scope["headers"]:
            if key == REQUEST_ID_KEY:
                offered = value
                break
        request_id = accepted_request_id(offered)
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        reply = Reply(send, request_id)
        try:
            handle = self._endpoints.get(path)
            if handle is None:
                await reply.json(_not_found(path, self._endpoints))
            elif scope["method"] != "POST":
                await reply.json(_method_not_allowed(scope["method"], path), [(b"allow", b"POST")])
            else:
                await handle(scope, receive, reply)
        except Exception:  # an endpoint answers every outcome itself; this is the last resort
            log.exception("unexpected error in gateway")
            if not reply.sent:
                error = JubaoError()
                await reply.json(env.failure(error.message, error.sub_code))
        finally:
            request_id_var.reset(token)


# HTTP 200 like every other gateway answer: the SDKs throw away the body of any other status, and
# the Chinese message is what tells a developer what went wrong.
def _not_found(path: str, endpoints: Mapping[str, Endpoint]) -> dict[str, Any]:
    served = "、".join(f"POST {known}" for known in sorted(endpoints))
    message = f"接口地址 {preview(path, 64)} 不存在，请使用 {served}"
    return env.failure(message, "INVALID_PATH")


def _method_not_allowed(method: str, path: str) -> dict[str, Any]:
    message = f"{path} 不支持 HTTP {preview(method, 16)} 请求，请使用 POST"
    return env.failure(message, "INVALID_HTTP_METHOD")
