"""``/healthz``, ``/readyz`` and ``/metrics``: what load balancers and Prometheus ask.

- ``GET /healthz``: the process answers (liveness); never touches the database.
- ``GET /readyz``: 200 when this gateway can serve: the database answers within two seconds, its
  schema is the one this version ships, and a payment channel is loaded with its keys; otherwise
  503 with the reasons. A missing worker (notifications due and no dispatcher heartbeat) is
  reported in ``warnings`` without failing: every gateway would fail at once, and the gateways
  themselves still serve payments. The alert rules watch it (deploy/prometheus/alerts.yml).
- ``GET /metrics``: Prometheus text, behind the admin token (``Authorization: Bearer``), like the
  admin API; no token configured: 403.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jubao.channels.registry import ChannelRegistry
from jubao.config import Settings
from jubao.observe import metrics
from jubao.observe.heartbeat import NotificationHealth, notification_health, worker_missing
from jubao.security.admin_token import shared_throttle
from jubao.storage.database import Database
from jubao.storage.migrations import load_migrations
from jubao.storage.sql import Tx, fetch_one
from jubao.web.admin import _authorized
from jubao.web.answer import json_response

__all__ = ["health_routes"]

log = logging.getLogger("jubao.health")

DATABASE_TIMEOUT_SECONDS = 2.0


class HealthContext(Protocol):
    settings: Settings
    db: Database
    channels: ChannelRegistry


def _schema_version() -> Tx[int]:
    result = yield fetch_one("SELECT MAX(version) AS version FROM schema_migrations")
    return int((result.first or {}).get("version") or 0)


async def _healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


def health_routes(runtime: HealthContext) -> list[BaseRoute]:
    shipped = max(migration.version for migration in load_migrations())

    async def readyz(request: Request) -> Response:
        problems: list[str] = []
        warnings: list[str] = []
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
                version = await runtime.db.read(_schema_version)
                health = await notification_health(runtime.db)
        except Exception as exc:  # any failure to reach it is the answer
            log.warning("readyz: database unreachable: %s", type(exc).__name__)
            problems.append(f"database unreachable ({type(exc).__name__})")
        else:
            if version != shipped:
                problems.append(f"database schema at version {version}, expected {shipped}")
            if worker_missing(health):
                warnings.append(
                    f"worker missing: {health.due} notifications due and no heartbeat "
                    "(start `jubao worker`)"
                )
        if len(runtime.channels) == 0:
            problems.append("no payment channel loaded")
        body: dict[str, Any] = {"status": "unavailable" if problems else "ready"}
        if problems:
            body["problems"] = problems
        if warnings:
            body["warnings"] = warnings
        return json_response(body, 503 if problems else 200)

    async def scrape(request: Request) -> Response:
        health: NotificationHealth | None
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
                health = await notification_health(runtime.db)
        except Exception as exc:  # the process's own metrics are still worth answering
            log.warning("metrics: database unreachable: %s", type(exc).__name__)
            health = None
        return Response(
            metrics.exposition(health), media_type=metrics.CONTENT_TYPE_LATEST.split(";")[0]
        )

    return [
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        # the admin API's guard and guess throttle (shared with the console of this process)
        Route(
            "/metrics",
            _authorized(runtime.settings, shared_throttle(runtime.db), scrape),
            methods=["GET"],
        ),
    ]
