"""The sandbox's simulator control and payer endpoints (``/control/...``, ``/request-payment``,
the Alipay simulator's ``/payer/...``)
can pay any order and change the simulator's behaviour. On a loopback address only the local
machine reaches them; on any other address they need the admin token (``Authorization: Bearer``),
with failed attempts throttled like the console's. The WeChat Pay v3 endpoints are untouched:
they check WeChat-style signatures themselves."""

from __future__ import annotations

import hmac
import ipaddress
import json
import math

from starlette.types import ASGIApp, Receive, Scope, Send

from jubao.security.admin_token import GuessThrottle, client_address

__all__ = ["guard_simulator", "is_loopback"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: may resolve to anything


def _protected(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    relative = path[len(root) :] if root and path.startswith(root) else path
    # WeChat's payer is /request-payment, Alipay's /payer/...; both simulators' controls /control
    return relative == "/request-payment" or relative.startswith(("/control", "/payer/"))


class _TokenGuard:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._token = token.encode("utf-8")
        self._throttle = GuessThrottle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _protected(scope):
            await self._app(scope, receive, send)
            return
        if not self._token:
            await _refuse(send, 403, "FORBIDDEN", "set JUBAO_ADMIN_TOKEN to use this endpoint")
            return
        client = client_address(scope["client"][0] if scope.get("client") else None)
        wait = self._throttle.retry_after(client)
        if wait > 0:
            await _refuse(send, 429, "TOO_MANY_ATTEMPTS", "too many wrong tokens", math.ceil(wait))
            return
        headers = dict(scope.get("headers") or [])
        scheme, _, presented = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(presented.strip(), self._token):
            self._throttle.failed(client, "simulator control")
            await _refuse(send, 401, "UNAUTHORIZED", "the admin token is required (Bearer)")
            return
        await self._app(scope, receive, send)


async def _refuse(send: Send, status: int, code: str, message: str, retry: int = 0) -> None:
    body = json.dumps({"code": code, "message": message}).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if retry:
        headers.append((b"retry-after", str(retry).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def guard_simulator(app: ASGIApp, *, host: str, admin_token: str) -> ASGIApp:
    """``app`` as it is on a loopback address; behind the admin token on any other."""
    return app if is_loopback(host) else _TokenGuard(app, admin_token)
