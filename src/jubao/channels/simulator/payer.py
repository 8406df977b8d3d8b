"""The payer: what the WeChat client does for ``wx.requestPayment(sign_params)`` (and
``getBrandWCPayRequest`` in an official account) — checks the sign_params against the order and
the provider's paySign, pays, and has WeChat notify; what it does when it scans a Native QR code
(``scan_and_pay``); and entering the password a payment code asked for (``enter_password``).

``POST /request-payment``, ``/scan-and-pay`` and ``/enter-password`` are not WeChat's API; the
sandbox's payer (``jubao pay``, the console's payer page) and tests call them."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from jubao.channels.simulator.errors import ApiError
from jubao.channels.simulator.models import Order, mark_paid, transaction_json
from jubao.channels.simulator.rules import parse_json_object
from jubao.channels.simulator.signing import lines, verify
from jubao.channels.simulator.state import PAID_STATES
from jubao.channels.simulator.v3.openids import openid_for

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = [
    "enter_password",
    "enter_password_endpoint",
    "request_payment",
    "request_payment_endpoint",
    "scan_and_pay",
    "scan_and_pay_endpoint",
]

SIGN_PARAMS = ("appId", "timeStamp", "nonceStr", "package", "signType", "paySign")


def _refused(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message, internal=0)


def request_payment(sim: Simulator, sign_params: Any, openid: Any) -> dict[str, Any]:
    """Pays the order ``sign_params`` names as ``openid``, or raises ``ApiError`` (nothing paid).
    No await in here: concurrent payments of one order pay it once."""
    if not isinstance(sign_params, Mapping):
        raise _refused(400, "INVALID_REQUEST", "sign_params 必须是JSON对象")
    for name in SIGN_PARAMS:
        if not isinstance(sign_params.get(name), str) or not sign_params[name]:
            raise _refused(400, "INVALID_REQUEST", f"sign_params.{name} 缺失或不是字符串")
    if not isinstance(openid, str) or not openid:
        raise _refused(400, "INVALID_REQUEST", "openid 缺失")
    app_id, timestamp, nonce, package, sign_type, pay_sign = (sign_params[n] for n in SIGN_PARAMS)
    if sign_type != "RSA":
        raise _refused(400, "SIGN_TYPE_INVALID", f"signType 须为 RSA，收到 {sign_type}")
    if not re.fullmatch(r"\d{10}", timestamp):
        raise _refused(400, "TIMESTAMP_INVALID", "timeStamp 须为10位秒级时间戳字符串")
    if len(nonce) > 32:
        raise _refused(400, "NONCE_INVALID", "nonceStr 不能超过32个字符")
    prefix, _, prepay_id = package.partition("=")
    if prefix != "prepay_id" or not prepay_id:
        raise _refused(400, "PACKAGE_INVALID", "package 须为 prepay_id=<prepay_id>")
    order = sim.state.order_by_prepay(prepay_id)
    if order is None:
        raise _refused(400, "PREPAY_ID_INVALID", f"prepay_id {prepay_id} 不存在")
    sim.state.refresh(order)
    if sim.now() >= order.prepays[prepay_id]:
        raise _refused(400, "PREPAY_ID_EXPIRED", "prepay_id 已过期（有效期2小时），请重新下单")
    if app_id != order.app_id:
        raise _refused(
            400, "APPID_MISMATCH", f"appId {app_id} 与下单时的 appid {order.app_id} 不一致"
        )
    provider = sim.state.merchant(order.sp_mchid)
    assert provider is not None  # orders are opened by known providers only
    if not verify(provider[1], lines(app_id, timestamp, nonce, package), pay_sign):
        raise _refused(400, "PAYSIGN_INVALID", "支付验证签名失败（paySign 与服务商API公钥不符）")
    if openid != order.openid:
        raise _refused(403, "OPENID_MISMATCH", "付款用户 openid 与下单时的 payer 不一致")
    if order.trade_state in PAID_STATES:
        raise _refused(409, "ORDER_PAID", "该订单已支付")
    if order.trade_state == "CLOSED":
        raise _refused(409, "ORDER_CLOSED", "该订单已关闭或已过期")
    _pay_and_notify(sim, order)
    return {"err_msg": "requestPayment:ok", "transaction_id": order.transaction_id}


def scan_and_pay(sim: Simulator, code_url: Any, openid: Any = None) -> dict[str, Any]:
    """The payer scans a Native order's QR code with WeChat and pays it (as the test payer, or
    ``openid``); raises ``ApiError`` when the code cannot be paid (nothing paid)."""
    if not isinstance(code_url, str) or not code_url:
        raise _refused(400, "INVALID_REQUEST", "code_url 缺失")
    if openid is not None and (not isinstance(openid, str) or not openid):
        raise _refused(400, "INVALID_REQUEST", "openid 须为非空字符串")
    order = sim.state.order_by_code_url(code_url)
    if order is None:
        raise _refused(400, "CODE_URL_INVALID", "二维码无效（不是本微信支付的收款码）")
    sim.state.refresh(order)
    if order.trade_state in PAID_STATES:
        raise _refused(409, "ORDER_PAID", "该订单已支付")
    if order.trade_state == "CLOSED":
        raise _refused(409, "ORDER_CLOSED", "该订单已关闭或已过期")
    if sim.now() >= order.code_urls[code_url]:
        raise _refused(400, "CODE_URL_EXPIRED", "二维码已过期（有效期2小时），请商户重新下单")
    payer = openid or openid_for(sim, order.app_id)
    if order.sub_appid is not None:
        order.sub_openid = payer
    else:
        order.sp_openid = payer
    _pay_and_notify(sim, order)
    return {"result": "paid", "transaction_id": order.transaction_id}


def enter_password(sim: Simulator, out_trade_no: Any, sp_mchid: Any = None) -> dict[str, Any]:
    """The payer of a code payment waiting for a password (``USERPAYING``) enters it now."""
    if not isinstance(out_trade_no, str) or not out_trade_no:
        raise _refused(400, "INVALID_REQUEST", "out_trade_no 缺失")
    try:
        order = sim.state.find_order(out_trade_no, sp_mchid if isinstance(sp_mchid, str) else None)
    except KeyError:
        raise _refused(404, "ORDER_NOT_EXIST", "订单不存在") from None
    sim.state.refresh(order)
    if order.trade_type != "MICROPAY" or order.trade_state != "USERPAYING":
        raise _refused(409, "NOT_WAITING", f"该订单不在等待输入密码（{order.trade_state}）")
    mark_paid(order, sim.now())
    sim.state.index_transaction(order)
    sim.state.save_order(order)
    return {"result": "paid", "transaction_id": order.transaction_id}


def _pay_and_notify(sim: Simulator, order: Order) -> None:
    if sim.controls.take_payment_failure(order.out_trade_no):
        raise _refused(402, "PAYMENT_FAILED", "支付失败（模拟器按设定拒绝本次支付）")
    mark_paid(order, sim.now())
    sim.state.index_transaction(order)
    sim.state.save_order(order)
    sim.outbox.send(
        sp_mchid=order.sp_mchid,
        out_trade_no=order.out_trade_no,
        event_type="TRANSACTION.SUCCESS",
        summary="支付成功",
        original_type="transaction",
        plaintext=transaction_json(order),
        url=order.notify_url,
    )


def _json(status: int, payload: dict[str, Any]) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status, media_type="application/json")


def _payer_endpoint(
    act: Callable[[Simulator, dict[str, Any]], dict[str, Any]], failure_prefix: str
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sim: Simulator = request.app.state.simulator
        try:
            result = act(sim, parse_json_object(await request.body()))
        except ApiError as error:
            failure = {
                "code": error.code,
                "message": error.message,
                "err_msg": f"{failure_prefix}:fail {error.message}",
            }
            return _json(error.status, failure)
        return _json(200, result)

    return endpoint


request_payment_endpoint = _payer_endpoint(
    lambda sim, data: request_payment(sim, data.get("sign_params"), data.get("openid")),
    "requestPayment",
)
scan_and_pay_endpoint = _payer_endpoint(
    lambda sim, data: scan_and_pay(sim, data.get("code_url"), data.get("openid")), "scanAndPay"
)
enter_password_endpoint = _payer_endpoint(
    lambda sim, data: enter_password(sim, data.get("out_trade_no"), data.get("sp_mchid")),
    "enterPassword",
)
