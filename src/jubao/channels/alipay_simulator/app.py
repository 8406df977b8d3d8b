"""The simulator as an ASGI app: Alipay's ``gateway.do``, the bill download, the buyer's
``/payer/...`` actions and the sandbox's ``/control/...`` API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jubao.channels.alipay_simulator import buyer, cashier_page, controls
from jubao.channels.alipay_simulator.errors import GatewayError
from jubao.channels.alipay_simulator.gateway import handle
from jubao.channels.alipay_simulator.operations import download_bill
from jubao.channels.alipay_simulator.params import read_params
from jubao.channels.alipay_simulator.simulator import AlipaySimulator
from jubao.channels.alipay_simulator.wire import compact, render_answer

__all__ = ["create_alipay_simulator_app"]


def _json(payload: Any, status: int = 200) -> Response:
    return Response(compact(payload).encode(), status, media_type="application/json")


def _base_url(request: Request) -> str:
    root = request.scope.get("root_path", "")
    return f"{request.url.scheme}://{request.url.netloc}{root}"


async def _gateway(request: Request) -> Response:
    sim: AlipaySimulator = request.app.state.simulator
    if sim.latency_ms > 0:
        await asyncio.sleep(sim.latency_ms / 1000)
    try:
        params = await read_params(request)
    except GatewayError as error:
        body = render_answer("error_response", error.payload(), None)
        return Response(body, 200, media_type="text/html;charset=utf-8")
    answer = handle(sim, params, _base_url(request))
    if params.get("method") == cashier_page.WAP_METHOD and answer.status == 200:
        # a page request: the buyer's browser gets Alipay's cashier page, not JSON
        return cashier_page.render(answer.body, answer.charset, params.get("return_url", ""))
    return Response(
        answer.body,
        answer.status,
        headers={"trace_id": answer.trace_id},
        media_type=f"text/html;charset={answer.charset}",
    )


async def _bill(request: Request) -> Response:
    sim: AlipaySimulator = request.app.state.simulator
    found = download_bill(sim, request.query_params.get("token", ""))
    if found is None:
        return Response("链接已过期", 404, media_type="text/plain;charset=utf-8")
    name, data = found
    return Response(
        data,
        200,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


Handler = Callable[[AlipaySimulator, Request, dict[str, Any]], Any]


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sim: AlipaySimulator = request.app.state.simulator
        try:
            raw = await request.body()
            data = json.loads(raw) if raw.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            return _json(handler(sim, request, data))
        except buyer.BuyerError as error:
            return _json({"resultCode": error.result_code, "memo": error.memo}, 400)
        except KeyError as error:
            return _json({"code": "NOT_FOUND", "message": str(error.args[0])}, 404)
        except (ValueError, TypeError) as error:
            return _json({"code": "INVALID_REQUEST", "message": str(error)}, 400)

    return endpoint


def _optional(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _required(data: dict[str, Any], name: str) -> str:
    value = _optional(data, name)
    if not value:
        raise ValueError(f"{name} is required")
    return value


def _routes() -> list[Route]:
    def seller(request: Request) -> str | None:
        return request.query_params.get("seller_id")

    def trade(request: Request) -> str:
        return str(request.path_params["out_trade_no"])

    return [
        Route("/gateway.do", _gateway, methods=["GET", "POST"]),
        Route("/bill/download", _bill, methods=["GET"]),
        Route(
            "/payer/scan",
            _endpoint(
                lambda s, r, d: buyer.scan(
                    s, _required(d, "qr_code"), _optional(d, "buyer"), d.get("pay", True) is True
                )
            ),
            methods=["POST"],
        ),
        Route(
            "/payer/trade-pay",
            _endpoint(
                lambda s, r, d: buyer.trade_pay(s, _required(d, "trade_no"), _optional(d, "buyer"))
            ),
            methods=["POST"],
        ),
        Route(
            "/payer/wap-pay",
            _endpoint(
                lambda s, r, d: buyer.wap_pay(
                    s,
                    _required(d, "seller_id"),
                    _required(d, "out_trade_no"),
                    _optional(d, "buyer"),
                )
            ),
            methods=["POST"],
        ),
        Route("/payer/wap-page-pay", cashier_page.pay_from_page, methods=["POST"]),
        Route(
            "/control/behaviour", _endpoint(lambda s, r, d: controls.behaviour(s)), methods=["GET"]
        ),
        Route(
            "/control/behaviour",
            _endpoint(lambda s, r, d: controls.set_behaviour(s, d)),
            methods=["POST"],
        ),
        Route(
            "/control/faults",
            _endpoint(lambda s, r, d: controls.inject_fault(s, d)),
            methods=["POST"],
        ),
        Route(
            "/control/faults",
            _endpoint(lambda s, r, d: controls.clear_faults(s)),
            methods=["DELETE"],
        ),
        Route(
            "/control/trades/{out_trade_no}",
            _endpoint(lambda s, r, d: controls.trade_state(s, trade(r), seller(r))),
            methods=["GET"],
        ),
        Route(
            "/control/trades/{out_trade_no}/expire",
            _endpoint(lambda s, r, d: controls.expire_trade(s, trade(r), seller(r))),
            methods=["POST"],
        ),
        Route(
            "/control/trades/{out_trade_no}/finish",
            _endpoint(lambda s, r, d: controls.finish_trade(s, trade(r), seller(r))),
            methods=["POST"],
        ),
        Route(
            "/control/notifications",
            _endpoint(
                lambda s, r, d: controls.notifications(s, r.query_params.get("out_trade_no"))
            ),
            methods=["GET"],
        ),
        Route(
            "/control/notifications/{notification_id}/deliver",
            _endpoint(
                lambda s, r, d: {"state": s.deliver_now(r.path_params["notification_id"]).state}
            ),
            methods=["POST"],
        ),
        Route("/control/keys", _endpoint(lambda s, r, d: controls.keys(s)), methods=["GET"]),
        Route(
            "/control/merchants", _endpoint(lambda s, r, d: controls.merchants(s)), methods=["GET"]
        ),
        Route(
            "/control/merchants",
            _endpoint(lambda s, r, d: controls.register_merchant(s, d)),
            methods=["POST"],
        ),
    ]


def create_alipay_simulator_app(sim: AlipaySimulator) -> Starlette:
    """The ASGI app. Mounted inside another app its lifespan does not run, so the host calls
    ``sim.start()``/``sim.stop()``; standalone, the app's own lifespan does."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await sim.start()
        try:
            yield
        finally:
            await sim.stop()

    app = Starlette(routes=_routes(), lifespan=lifespan)
    app.state.simulator = sim
    return app
