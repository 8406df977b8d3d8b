"""The sandbox's ``/control/...`` API (JSON, no authentication; not WeChat's surface): set the
behaviour, latency and faults, expire prepay_ids and orders, inspect transactions and the
notification log, resend, probe, bind sub-merchants, read the platform key."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jubao.channels.simulator.errors import ApiError
from jubao.channels.simulator.rules import parse_json_object

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = ["control_error", "control_routes"]

ControlHandler = Callable[["Simulator", Request, dict[str, Any]], Awaitable[Any]]


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def control_error(status: int, code: str, message: str) -> Response:
    return Response(
        _json({"code": code, "message": message}), status, media_type="application/json"
    )


def _control(handler: ControlHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sim: Simulator = request.app.state.simulator
        try:
            raw = await request.body()
            data = parse_json_object(raw) if raw.strip() else {}
            result = await handler(sim, request, data)
        except ApiError as error:
            return control_error(400, "INVALID_REQUEST", error.message)
        except KeyError as error:
            return control_error(404, "NOT_FOUND", str(error.args[0] if error.args else error))
        except (ValueError, TypeError) as error:
            return control_error(400, "INVALID_REQUEST", str(error))
        return Response(_json(result), 200, media_type="application/json")

    return endpoint


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


async def _platform_certificates(sim: Simulator, request: Request, data: dict[str, Any]) -> Any:
    if request.method == "POST":
        effective_in = data.get("effective_in_seconds", 0)
        days = data.get("days")
        if not isinstance(effective_in, int | float) or isinstance(effective_in, bool):
            raise ValueError("effective_in_seconds must be a number")
        if days is not None and (not isinstance(days, int | float) or isinstance(days, bool)):
            raise ValueError("days must be a number")
        if effective_in < 0 or (days is not None and days <= 0):
            raise ValueError("effective_in_seconds must be 0 or more and days more than 0")
        return sim.rotate_platform_certificate(float(effective_in), days)
    return {"mode": sim.config.platform_mode, "certificates": sim.platform_certificates()}


def control_routes() -> list[Route]:
    transactions = "/control/transactions/{out_trade_no}"
    return [
        Route("/control/behaviour", _control(_get_behaviour), methods=["GET"]),
        Route("/control/behaviour", _control(_set_behaviour), methods=["POST"]),
        Route("/control/reset", _control(_reset), methods=["POST"]),
        Route("/control/latency", _control(_latency), methods=["POST"]),
        Route("/control/faults", _control(_faults), methods=["POST", "DELETE"]),
        Route("/control/prepays/{prepay_id}/expire", _control(_expire_prepay), methods=["POST"]),
        Route(f"{transactions}/expire", _control(_expire_order), methods=["POST"]),
        Route(transactions, _control(_transaction), methods=["GET"]),
        Route("/control/notifications", _control(_notifications), methods=["GET"]),
        Route(
            "/control/notifications/{notification_id}/resend", _control(_resend), methods=["POST"]
        ),
        Route("/control/sub-merchants", _control(_sub_merchants), methods=["GET", "POST"]),
        Route("/control/signtest", _control(_signtest), methods=["POST"]),
        Route("/control/keys", _control(_keys), methods=["GET"]),
        Route(
            "/control/platform-certificates",
            _control(_platform_certificates),
            methods=["GET", "POST"],
        ),
    ]
