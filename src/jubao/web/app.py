"""The HTTP face of a ``Runtime`` (built in ``jubao.runtime``): the ASGI app and its routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from jubao.payments.cashier_codes import cashier_codes_for
from jubao.runtime import Runtime
from jubao.web.admin import admin_routes
from jubao.web.cashier_page import CashierPage
from jubao.web.channel_callback import ChannelCallback
from jubao.web.console import PREFIX as CONSOLE
from jubao.web.fastpath import Endpoint, GatewayFront
from jubao.web.gateway import Gateway
from jubao.web.gateway_agent import AgentGateway
from jubao.web.health import health_routes
from jubao.web.official_account import official_account_for
from jubao.web.ondemand import OnDemand
from jubao.web.paypage import paypage_routes
from jubao.web.requestid import RequestIdMiddleware

__all__ = ["create_app"]


class _Fronted(Starlette):
    """Starlette behind the gateway's front: ``/gateway`` never enters Starlette or its
    middleware (``web/fastpath.py``); everything else is served as Starlette serves it. POSTs to
    the endpoints' exact paths may come over jubao's lighter request cycle (``web/lane.py``)."""

    def __init__(self, endpoints: dict[str, Endpoint], **options: Any) -> None:
        super().__init__(**options)
        self._front = GatewayFront(super().__call__, endpoints)
        self.lane_paths = frozenset(path.encode("ascii") for path in endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._front(scope, receive, send)


def create_app(
    runtime: Runtime, extra_routes: Sequence[BaseRoute] = (), *, payer_url: str | None = None
) -> Starlette:
    """``payer_url``: where the sandbox mounts its simulators (``…/sim``), which enables the
    console's payer page (sandbox only)."""
    gateway = Gateway(runtime.payments, runtime.merchants, runtime.settings, runtime.db)
    agent = AgentGateway(runtime.payments, runtime.merchants, runtime.settings, runtime.db)
    callbacks = [
        Route(
            f"/channel/{channel.name.value}/notify",
            ChannelCallback(
                channel, runtime.payments, runtime.settings.callback_max_body_bytes
            ).handle,
            methods=["POST"],
        )
        for channel in runtime.channels
    ]
    # Everything under /gateway is served by the front (_Fronted), never by these routes.
    routes: list[BaseRoute] = [
        *callbacks,
        *health_routes(runtime),
        *official_account_for(runtime.payments).routes(),
        *paypage_routes(runtime.db),
        *CashierPage(cashier_codes_for(runtime.payments), runtime.channels).routes(),
        *admin_routes(runtime, on_resend=runtime.poke_dispatcher),
        OnDemand(CONSOLE, lambda: _console(runtime, payer_url)),
        *extra_routes,
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = _Fronted(
        {"/gateway": gateway.handle, "/gateway/agent": agent.handle},
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(RequestIdMiddleware)],  # every answer carries the id
    )
    app.state.runtime = runtime
    return app


def _console(runtime: Runtime, payer_url: str | None) -> list[BaseRoute]:
    from jubao.web.console.routes import console_routes  # on the first request (web/ondemand.py)

    return console_routes(runtime, payer_url=payer_url)
