"""Outbound HTTP through several small connection pools used in turn.

httpcore does work proportional to its pool's size on every request (a ``poll()`` per idle
connection in ``has_expired``, and an idle count that walks the pool): one 256-connection pool
cost ~2.8 ms of CPU per request at 64 in flight, sixteen pools of sixteen ~0.5 ms (profiled with
py-spy, docs/benchmarks.md). The WeChat channel and the notification dispatcher both use this.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

__all__ = ["PooledClient"]


class PooledClient:
    """``pools`` httpx clients of ``per_pool`` connections each, handed out round robin."""

    def __init__(self, *, pools: int = 16, per_pool: int = 16, **client_options: Any) -> None:
        # Idle connections are dropped before the 5 s after which common servers (uvicorn, nginx's
        # default is longer) close them: reusing one as the server closes it fails the request.
        limits = httpx.Limits(
            max_connections=per_pool, max_keepalive_connections=per_pool, keepalive_expiry=4.0
        )
        # One TLS context for all the pools: each client would otherwise load the CA bundle
        # itself, ~50 ms of CPU each (64 clients: seconds to start a channel).
        client_options.setdefault("verify", httpx.create_ssl_context())
        self._clients = [
            httpx.AsyncClient(limits=limits, **client_options) for _ in range(max(1, pools))
        ]
        self._turn = itertools.cycle(self._clients)

    def next(self) -> httpx.AsyncClient:
        return next(self._turn)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
