"""Every HTTP answer carries an ``X-Request-Id``: the caller's, when it is short and printable,
else a fresh one. The id is set in ``jubao.observe.logs``' context variable for the whole
request, so every log line made while serving it (the gateway's request line, channel calls,
errors) names it. Pure ASGI: the answer's body is never touched, so Fubei envelopes keep their
exact shape. The gateway's front (``web/fastpath.py``) does the same for ``/gateway``, which
never reaches this middleware."""

from __future__ import annotations

import itertools
import os
import re
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jubao.observe.logs import install_request_ids, request_id_var

__all__ = ["HEADER", "REQUEST_ID_KEY", "RequestIdMiddleware", "accepted_request_id"]

HEADER = "X-Request-Id"
REQUEST_ID_KEY = b"x-request-id"  # as ASGI names it
MAX_LENGTH = 128
# Visible ASCII without quotes, backslash or spaces: safe in a header, a log line and JSON.
_PRINTABLE = re.compile(rf"[!#-\[\]-~]{{1,{MAX_LENGTH}}}")


class _Fresh:
    """New ids: a random prefix per process and a counter (32 hex characters), unique without a
    ``urandom`` read per request. An id names a request in logs; it is not a secret (a caller
    may choose its own)."""

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self._prefix = secrets.token_hex(10)
        self._counter = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


_fresh = _Fresh()
os.register_at_fork(after_in_child=_fresh.reseed)  # a forked worker must not repeat its parent's


def accepted_request_id(offered: bytes | None) -> str:
    """The caller's id if acceptable, otherwise a new one (32 hex characters)."""
    if offered:
        try:
            text = offered.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if _PRINTABLE.fullmatch(text):
            return text
    return _fresh()


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        install_request_ids()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = next((value for key, value in scope["headers"] if key == REQUEST_ID_KEY), None)
        request_id = accepted_request_id(offered)
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        raw_id = request_id.encode("ascii")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != REQUEST_ID_KEY]
                headers.append((REQUEST_ID_KEY, raw_id))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
