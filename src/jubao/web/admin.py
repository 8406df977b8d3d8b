"""The admin HTTP API for merchant notifications (bearer token from ``settings.admin_token``).

    GET  /admin/api/notifications?status=&order_sn=&limit=&offset=   newest first, with attempts
    GET  /admin/api/notifications/{id}
    POST /admin/api/notifications/{id}/resend                        a fresh schedule, due now

An empty configured token disables the API: every request is refused (403).
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

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
from jubao.web.gateway import json_response

__all__ = ["AdminContext", "admin_routes"]

Handler = Callable[[Request], Awaitable[Response]]
_MAX_LIMIT = 500
_MAX_ID = 2**63 - 1


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
    return [
        Route(base, _authorized(settings, throttle, list_notifications), methods=["GET"]),
        Route(
            f"{base}/{{notification_id:int}}",
            _authorized(settings, throttle, show),
            methods=["GET"],
        ),
        Route(
            f"{base}/{{notification_id:int}}/resend",
            _authorized(settings, throttle, resend),
            methods=["POST"],
        ),
    ]
