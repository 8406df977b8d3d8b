"""The simulator as an ASGI app: WeChat's v3 surface (signed both ways), the payer's
``/request-payment`` and the sandbox ``/control/...`` API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jubao.channels.simulator.auth import authenticate
from jubao.channels.simulator.errors import ApiError
from jubao.channels.simulator.ids import new_request_id
from jubao.channels.simulator.rules import (
    parse_close,
    parse_json_object,
    parse_prepay,
    parse_refund,
    require_query,
)
from jubao.channels.simulator.signing import wechatpay_headers
from jubao.channels.simulator.simulator import Simulator

__all__ = ["create_simulator_app", "signed_url"]

V3Handler = Callable[[Simulator, Request, str, bytes], tuple[int, dict[str, Any] | None]]
ControlHandler = Callable[[Simulator, Request, dict[str, Any]], Awaitable[Any]]


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signed_url(scope: dict[str, Any] | Any) -> str:
    """The URL the client signed: the path as it arrived (mount prefix included) plus ``?query``.

    ``raw_path`` is the undecoded path; without it, rebuild from root_path and the decoded path."""
    raw_path = scope.get("raw_path")
    if raw_path:
        path = bytes(raw_path).decode("latin-1").split("?", 1)[0]
    else:
        root, path = scope.get("root_path", ""), scope["path"]
        path = quote(path if path.startswith(root) else root + path, safe="/:@!$&'()*+,;=-._~%")
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    return f"{path}?{query}" if query else path


def _wechat_response(
    sim: Simulator, status: int, payload: dict[str, Any] | None, internal: int = 0
) -> Response:
    """Every answer is signed like WeChat's (clients verify 2xx; signing errors costs nothing)."""
    body = b"" if payload is None else _json(payload)
    headers = wechatpay_headers(sim.platform_private_key, sim.public_key_id, int(sim.now()), body)
    headers["Request-ID"] = new_request_id(internal)
    headers["Content-Type"] = "application/json"
    return Response(body, status_code=status, headers=headers)


def _v3(handler: V3Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sim: Simulator = request.app.state.simulator
        try:
            if sim.latency_ms > 0:
                await asyncio.sleep(sim.latency_ms / 1000)
            fault = sim.take_fault()
            if fault is not None:
                raise fault
            body = await request.body()
            merchant = authenticate(
                header=request.headers.get("authorization"),
                method=request.method,
                url=signed_url(request.scope),
                body=body,
                now=sim.now(),
                lookup=sim.merchant,
            )
            status, payload = handler(sim, request, merchant.sp_mchid, body)
        except ApiError as error:
            return _wechat_response(sim, error.status, error.body(), error.internal)
        # Only the RSA signature leaves the loop (it releases the GIL); state changed above.
        return await asyncio.to_thread(_wechat_response, sim, status, payload)

    return endpoint


# ---- WeChat v3 ---------------------------------------------------------------------------


def _prepay(sim: Simulator, request: Request, mchid: str, body: bytes) -> tuple[int, Any]:
    prepay_request = parse_prepay(parse_json_object(body))
    return 200, {"prepay_id": sim.prepay(mchid, prepay_request)}


def _query_by_out_trade_no(sim: Simulator, request: Request, mchid: str, body: bytes) -> Any:
    sp_mchid, sub_mchid = require_query(request.query_params, "sp_mchid", "sub_mchid")
    out_trade_no = request.path_params["out_trade_no"]
    return 200, sim.query_by_out_trade_no(mchid, sp_mchid, sub_mchid, out_trade_no)


def _query_by_transaction_id(sim: Simulator, request: Request, mchid: str, body: bytes) -> Any:
    sp_mchid, sub_mchid = require_query(request.query_params, "sp_mchid", "sub_mchid")
    transaction_id = request.path_params["transaction_id"]
    return 200, sim.query_by_transaction_id(mchid, sp_mchid, sub_mchid, transaction_id)


def _close(sim: Simulator, request: Request, mchid: str, body: bytes) -> tuple[int, Any]:
    sim.close(mchid, request.path_params["out_trade_no"], parse_close(parse_json_object(body)))
    return 204, None


def _refund(sim: Simulator, request: Request, mchid: str, body: bytes) -> tuple[int, Any]:
    return 200, sim.create_refund(mchid, parse_refund(parse_json_object(body)))


def _query_refund(sim: Simulator, request: Request, mchid: str, body: bytes) -> tuple[int, Any]:
    (sub_mchid,) = require_query(request.query_params, "sub_mchid")
    return 200, sim.query_refund(mchid, sub_mchid, request.path_params["out_refund_no"])


# ---- the payer ---------------------------------------------------------------------------


async def _request_payment(request: Request) -> Response:
    sim: Simulator = request.app.state.simulator
    try:
        data = parse_json_object(await request.body())
        result = sim.request_payment(data.get("sign_params"), data.get("openid"))
    except ApiError as error:
        failure = {
            "code": error.code,
            "message": error.message,
            "err_msg": f"requestPayment:fail {error.message}",
        }
        return Response(_json(failure), error.status, media_type="application/json")
    return Response(_json(result), 200, media_type="application/json")


# ---- controls ----------------------------------------------------------------------------


def _control(handler: ControlHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sim: Simulator = request.app.state.simulator
        try:
            raw = await request.body()
            data = parse_json_object(raw) if raw.strip() else {}
            result = await handler(sim, request, data)
        except ApiError as error:
            return _control_error(400, "INVALID_REQUEST", error.message)
        except KeyError as error:
            return _control_error(404, "NOT_FOUND", str(error.args[0] if error.args else error))
        except (ValueError, TypeError) as error:
            return _control_error(400, "INVALID_REQUEST", str(error))
        return Response(_json(result), 200, media_type="application/json")

    return endpoint


def _control_error(status: int, code: str, message: str) -> Response:
    return Response(
        _json({"code": code, "message": message}), status, media_type="application/json"
    )


def _text(data: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _count(data: dict[str, Any], name: str, default: int) -> int:
    value = data.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer")
    return value


async def _get_behaviour(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    return sim.behaviour(request.query_params.get("out_trade_no"))


async def _set_behaviour(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    if "latency_ms" in data:
        sim.set_latency(_count(data, "latency_ms", 0))
    return sim.set_behaviour(
        out_trade_no=_text(data, "out_trade_no"),
        payment=_text(data, "payment"),
        notifications=_text(data, "notifications"),
        refunds=_text(data, "refunds"),
    )


async def _reset(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    sim.reset_behaviour()
    return sim.behaviour()


async def _latency(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    sim.set_latency(_count(data, "latency_ms", 0))
    return sim.behaviour()


async def _faults(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    if request.method == "DELETE":
        sim.clear_faults()
    else:
        sim.inject_faults(
            _count(data, "count", 1),
            _count(data, "status", 500),
            _text(data, "code") or "SYSTEM_ERROR",
            _text(data, "message"),
        )
    return sim.behaviour()


async def _expire_prepay(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    sim.expire_prepay(request.path_params["prepay_id"])
    return {"prepay_id": request.path_params["prepay_id"], "expired": True}


async def _expire_order(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    return sim.expire_order(
        request.path_params["out_trade_no"], request.query_params.get("sp_mchid")
    )


async def _transaction(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    return sim.transaction_state(
        request.path_params["out_trade_no"], request.query_params.get("sp_mchid")
    )


async def _notifications(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    return {"notifications": sim.notifications(request.query_params.get("out_trade_no"))}


async def _resend(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    return sim.resend_notification(request.path_params["notification_id"])


async def _sub_merchants(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    if request.method == "POST":
        sp_mchid = _text(data, "sp_mchid", required=True)
        sub_mchid = _text(data, "sub_mchid", required=True)
        assert sp_mchid is not None and sub_mchid is not None
        sim.register_sub_merchant(sp_mchid, sub_mchid, _text(data, "sub_appid"))
    return {"sub_merchants": sim.sub_merchants()}


async def _signtest(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    url = _text(data, "url", required=True)
    assert url is not None
    return await sim.send_signtest(url, _text(data, "sp_mchid"))


async def _keys(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    return {
        "public_key_id": sim.public_key_id,
        "platform_public_key_pem": sim.platform_public_key_pem.decode("ascii"),
    }


async def _not_found(request: Request, error: Exception) -> Response:
    status = error.status_code if isinstance(error, HTTPException) else 404
    code = "NOT_FOUND" if status == 404 else "INVALID_REQUEST"
    message = f"{request.method} {request.url.path} 不存在" if status == 404 else str(error)
    answer = _control_error(status, code, message)
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

    v3 = "/v3/pay/partner/transactions"
    routes = [
        Route(f"{v3}/jsapi", _v3(_prepay), methods=["POST"]),
        Route(f"{v3}/out-trade-no/{{out_trade_no}}", _v3(_query_by_out_trade_no), methods=["GET"]),
        Route(f"{v3}/id/{{transaction_id}}", _v3(_query_by_transaction_id), methods=["GET"]),
        Route(f"{v3}/out-trade-no/{{out_trade_no}}/close", _v3(_close), methods=["POST"]),
        Route("/v3/refund/domestic/refunds", _v3(_refund), methods=["POST"]),
        Route("/v3/refund/domestic/refunds/{out_refund_no}", _v3(_query_refund), methods=["GET"]),
        Route("/request-payment", _request_payment, methods=["POST"]),
        Route("/control/behaviour", _control(_get_behaviour), methods=["GET"]),
        Route("/control/behaviour", _control(_set_behaviour), methods=["POST"]),
        Route("/control/reset", _control(_reset), methods=["POST"]),
        Route("/control/latency", _control(_latency), methods=["POST"]),
        Route("/control/faults", _control(_faults), methods=["POST", "DELETE"]),
        Route("/control/prepays/{prepay_id}/expire", _control(_expire_prepay), methods=["POST"]),
        Route(
            "/control/transactions/{out_trade_no}/expire", _control(_expire_order), methods=["POST"]
        ),
        Route("/control/transactions/{out_trade_no}", _control(_transaction), methods=["GET"]),
        Route("/control/notifications", _control(_notifications), methods=["GET"]),
        Route(
            "/control/notifications/{notification_id}/resend", _control(_resend), methods=["POST"]
        ),
        Route("/control/sub-merchants", _control(_sub_merchants), methods=["GET", "POST"]),
        Route("/control/signtest", _control(_signtest), methods=["POST"]),
        Route("/control/keys", _control(_keys), methods=["GET"]),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _not_found}
    )
    app.state.simulator = sim
    return app
