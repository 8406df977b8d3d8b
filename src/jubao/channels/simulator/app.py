"""The simulator as an ASGI app: WeChat's v3 surface (``v3/routes.py``, signed both ways), the
payer's ``/request-payment`` and the sandbox ``/control/...`` API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jubao.channels.simulator.bridge import bridge_routes
from jubao.channels.simulator.control_api import control_error, control_routes
from jubao.channels.simulator.ids import new_request_id
from jubao.channels.simulator.oauth import oauth_routes
from jubao.channels.simulator.payer import (
    enter_password_endpoint,
    request_payment_endpoint,
    scan_and_pay_endpoint,
)
from jubao.channels.simulator.simulator import Simulator
from jubao.channels.simulator.v3.endpoint import signed_url
from jubao.channels.simulator.v3.routes import v3_routes

__all__ = ["create_simulator_app", "signed_url"]


async def _not_found(request: Request, error: Exception) -> Response:
    status = error.status_code if isinstance(error, HTTPException) else 404
    code = "NOT_FOUND" if status == 404 else "INVALID_REQUEST"
    message = f"{request.method} {request.url.path} 不存在" if status == 404 else str(error)
    answer = control_error(status, code, message)
    answer.headers["Request-ID"] = new_request_id(0)
    return answer


def create_simulator_app(sim: Simulator) -> Starlette:
    """The ASGI app. Mounted inside another app its lifespan does not run, so the host calls
    ``sim.start()``/``sim.stop()``; standalone, the app's own lifespan does."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await sim.start()
        try:
            yield
        finally:
            await sim.stop()

    routes: list[BaseRoute] = [
        *v3_routes(),
        Route("/request-payment", request_payment_endpoint, methods=["POST"]),
        Route("/scan-and-pay", scan_and_pay_endpoint, methods=["POST"]),
        Route("/enter-password", enter_password_endpoint, methods=["POST"]),
        *oauth_routes(),
        *bridge_routes(),
        *control_routes(),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _not_found}
    )
    app.state.simulator = sim
    return app
