"""The composition root for HTTP: builds the ASGI app from a ``Runtime``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jubao.channels.registry import ChannelRegistry
from jubao.config import Settings
from jubao.merchants.directory import MerchantDirectory
from jubao.notify.dispatcher import Dispatcher
from jubao.notify.wiring import find_dispatcher
from jubao.payments.service import PaymentService
from jubao.storage.database import Database
from jubao.web.admin import admin_routes
from jubao.web.background import Periodic
from jubao.web.channel_callback import ChannelCallback
from jubao.web.console import console_routes
from jubao.web.fastpath import GatewayFastPath
from jubao.web.gateway import Gateway, json_response

__all__ = ["Runtime", "create_app"]


@dataclass
class Runtime:
    """Everything a running jubao process holds, built once at start-up."""

    settings: Settings
    db: Database
    merchants: MerchantDirectory
    payments: PaymentService
    channels: ChannelRegistry
    background: list[Periodic] = field(default_factory=list)
    dispatcher: Dispatcher | None = None  # merchant notifications, where this process sends them
    on_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def start(self) -> None:
        for hook in self.on_start:
            await hook()
        for task in self.background:
            task.start()

    async def stop(self) -> None:
        for task in self.background:
            await task.stop()
        await self.payments.aclose()
        for hook in reversed(self.on_stop):
            await hook()
        await self.channels.aclose()
        await self.db.close()


async def _health(request: Request) -> Response:
    return json_response({"status": "ok"})


def _poker(runtime: Runtime) -> Callable[[], None]:
    dispatcher = find_dispatcher(runtime)
    return dispatcher.poke if dispatcher is not None else (lambda: None)


def create_app(
    runtime: Runtime, extra_routes: Sequence[BaseRoute] = (), *, payer_url: str | None = None
) -> Starlette:
    """``payer_url``: the simulator's request-payment URL, which enables the console's payer page
    (sandbox only)."""
    gateway = Gateway(runtime.payments, runtime.merchants, runtime.settings, runtime.db)
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
    # Everything under /gateway is served by GatewayFastPath (below), never by these routes.
    routes: list[BaseRoute] = [
        *callbacks,
        Route("/healthz", _health, methods=["GET"]),
        *admin_routes(runtime, on_resend=_poker(runtime)),
        *console_routes(runtime, payer_url=payer_url),
        *extra_routes,
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(GatewayFastPath, endpoints={"/gateway": gateway.handle})],
    )
    app.state.runtime = runtime
    return app
