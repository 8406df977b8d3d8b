"""``console_routes(runtime)``: the web console under ``/console``. Handlers live in
``login``, ``orders``, ``merchants``, ``vendors`` and ``payer``; this module only wires them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from jubao.clock import Clock, system_clock
from jubao.security.admin_token import shared_throttle
from jubao.web.console.auth import ConsoleAuth
from jubao.web.console.common import PREFIX, Guard, Renderer
from jubao.web.console.login import LoginPages
from jubao.web.console.merchants import MerchantPages
from jubao.web.console.orders import OrderPages
from jubao.web.console.payer import PayerPages
from jubao.web.console.vendors import VendorPages

if TYPE_CHECKING:
    from jubao.runtime import Runtime

__all__ = ["console_routes"]

STATIC = Path(__file__).resolve().parent.parent / "static"


def console_routes(
    runtime: Runtime, *, payer_url: str | None = None, clock: Clock = system_clock
) -> list[BaseRoute]:
    """``payer_url``: where the sandbox mounts its simulators; given only in the sandbox, where it
    enables the payer page (``/console/pay/{order_sn}``)."""
    auth = ConsoleAuth(runtime.settings.admin_token, runtime.db)
    renderer = Renderer(sandbox=payer_url is not None)
    max_body = runtime.settings.console_max_body_bytes
    guard = Guard(auth, renderer, max_body)
    login = LoginPages(auth, renderer, max_body, shared_throttle(runtime.db))
    orders = OrderPages(runtime, renderer, clock)
    merchants = MerchantPages(runtime.db, runtime.merchants, renderer)
    vendors = VendorPages(runtime.merchants, renderer)
    payer = PayerPages(runtime.db, renderer, payer_url, runtime.settings.admin_token)
    get, post = ["GET"], ["POST"]
    routes: list[BaseRoute] = [
        Route("/login", login.show, methods=get),
        Route("/login", login.submit, methods=post),
        Route("/logout", guard(login.logout), methods=post),
        Route("/lang/{lang}", login.language, methods=get),
        Route("/", guard(orders.dashboard), methods=get),
        Route("/orders", guard(orders.list), methods=get),
        Route("/orders/{order_sn}", guard(orders.detail), methods=get),
        Route("/orders/{order_sn}/refund", guard(orders.refund), methods=post),
        Route(
            "/orders/{order_sn}/notifications/{notification_id:int}/resend",
            guard(orders.resend),
            methods=post,
        ),
        Route("/merchants", guard(merchants.list), methods=get),
        Route("/merchants", guard(merchants.create_merchant), methods=post),
        Route("/merchants/{merchant_id:int}/apps", guard(merchants.create_app), methods=post),
        Route("/merchants/{merchant_id:int}/alipay", guard(merchants.bind_alipay), methods=post),
        Route("/apps/{app_id}/rotate", guard(merchants.rotate_secret), methods=post),
        Route("/vendors", guard(vendors.list), methods=get),
        Route("/vendors", guard(vendors.create), methods=post),
        Route("/vendors/{vendor_sn}/rotate", guard(vendors.rotate_secret), methods=post),
        Route("/stores", guard(merchants.create_store), methods=post),
        Route("/cashiers", guard(merchants.create_cashier), methods=post),
        Route("/pay/{order_sn}", guard(payer.show), methods=get),
        Route("/pay/{order_sn}", guard(payer.pay), methods=post),
        Mount("/static", app=StaticFiles(directory=STATIC), name="console-static"),
    ]
    # Our own slash redirect: Starlette's is absolute, built from the Host header (which a client
    # chooses); a relative Location always stays on the site the browser is on.
    return [Route(PREFIX, _to_console_root, methods=get), Mount(PREFIX, routes=routes)]


async def _to_console_root(request: Request) -> Response:
    return RedirectResponse(PREFIX + "/", status_code=307)
