"""The admin HTTP API for merchant notifications (bearer token from ``settings.admin_token``).

    GET  /admin/api/notifications?status=&order_sn=&limit=&offset=   newest first, with attempts
    GET  /admin/api/notifications/{id}
    POST /admin/api/notifications/{id}/resend                        a fresh schedule, due now

An empty configured token disables the API: every request is refused (403). Every answer is JSON,
``{"error": CODE, "message": ...}`` when refused: 401 without the token (on any path under
``/admin``, so nothing is revealed), then 404 for an unknown path or id, 405 for another method.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jubao.clock import Clock, system_clock
from jubao.config import Settings
from jubao.notify import repository as repo
from jubao.notify.resend import resend_notification
from jubao.notify.views import notification_view
from jubao.security.admin_token import GuessThrottle, client_address, shared_throttle
from jubao.storage.database import Database
from jubao.web.answer import json_response

__all__ = ["AdminContext", "admin_routes"]

Handler = Callable[[Request], Awaitable[Response]]
_MAX_LIMIT = 500
_MAX_ID = 2**63 - 1
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class _AnyText(Convertor[str]):
    """Any rest of a path, line breaks too (Starlette's ``path`` stops at a decoded ``%0A``)."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anytext", _AnyText())


class AdminContext(Protocol):
    """What the admin API needs of a ``Runtime``."""

    settings: Settings
    db: Database


def _error(status: int, code: str, message: str, **headers: str) -> Response:
    return json_response({"error": code, "message": message}, status, headers or None)


def _authorized(settings: Settings, throttle: GuessThrottle, handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        expected = settings.admin_token
        if not expected:
            return _error(403, "ADMIN_DISABLED", "admin API disabled: no admin token configured")
        client = client_address(request.client.host if request.client else None)
        wait = throttle.retry_after(client)
        if wait > 0:
            return _error(
                429,
                "TOO_MANY_ATTEMPTS",
                f"too many wrong tokens: retry in {math.ceil(wait)} s",
                **{"Retry-After": str(math.ceil(wait))},
            )
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), expected.encode()
        ):
            throttle.failed(client, "admin API")
            return _error(
                401, "UNAUTHORIZED", "bearer token required", **{"WWW-Authenticate": "Bearer"}
            )
        return await handler(request)

    return guarded


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}")
    return int(raw)


def _notification_id(request: Request) -> int | None:
    value: int = request.path_params["notification_id"]
    return value if value <= _MAX_ID else None


def admin_routes(
    runtime: AdminContext,
    *,
    clock: Clock = system_clock,
    on_resend: Callable[[], None] | None = None,
) -> list[BaseRoute]:
    """``on_resend`` is called after a resend commits (e.g. ``dispatcher.poke``)."""
    db = runtime.db

    async def list_notifications(request: Request) -> Response:
        status = request.query_params.get("status", "").upper() or None
        if status is not None and status not in repo.NotificationStatus.__members__:
            return _error(400, "INVALID_PARAMETER", "status must be PENDING, DELIVERED or FAILED")
        try:
            limit = _int_param(request, "limit", 50, 1, _MAX_LIMIT)
            offset = _int_param(request, "offset", 0, 0, 10**9)
        except ValueError as exc:
            return _error(400, "INVALID_PARAMETER", str(exc))
        order_sn = request.query_params.get("order_sn") or None
        rows = await db.read(lambda: repo.list_notifications(status, order_sn, limit, offset))
        body: dict[str, Any] = {
            "notifications": [notification_view(row) for row in rows],
            "limit": limit,
            "offset": offset,
        }
        return json_response(body)

    async def show(request: Request) -> Response:
        notification_id = _notification_id(request)
        row = None
        if notification_id is not None:
            row = await db.read(lambda: repo.find_notification(notification_id))
        if row is None:
            return _error(404, "NOT_FOUND", "no such notification")
        return json_response(notification_view(row))

    async def resend(request: Request) -> Response:
        notification_id = _notification_id(request)
        now = clock()
        row = None
        if notification_id is not None:
            row = await resend_notification(db, notification_id, now, on_resend)
        if row is None:
            return _error(404, "NOT_FOUND", "no such notification")
        return json_response(notification_view(row))

    settings = runtime.settings
    throttle = shared_throttle(db)
    base = "/admin/api/notifications"

    def route(path: str, method: str, handler: Handler) -> Route:
        # Any method reaches the handler, so that a wrong one is a JSON 405 after the token
        # check (Starlette's own answer is plain text, and given before the token is checked).
        allowed = {method, "HEAD"} if method == "GET" else {method}

        async def endpoint(request: Request) -> Response:
            if request.method not in allowed:
                return _error(405, "METHOD_NOT_ALLOWED", f"use {method}", Allow=method)
            return await handler(request)

        return Route(path, _authorized(settings, throttle, endpoint), methods=_ANY_METHOD)

    async def unknown(request: Request) -> Response:
        return _error(404, "NOT_FOUND", "no such admin API path")

    return [
        route(base, "GET", list_notifications),
        route(f"{base}/{{notification_id:int}}", "GET", show),
        route(f"{base}/{{notification_id:int}}/resend", "POST", resend),
        # everything else under /admin: a JSON 404 once the token is checked (no redirect of a
        # trailing slash, no plain-text answer, nothing revealed to a caller without a token)
        *(
            Route(path, _authorized(settings, throttle, unknown), methods=_ANY_METHOD)
            for path in ("/admin", "/admin/{rest:anytext}")
        ),
    ]
