"""The payer: what the WeChat client does for ``wx.requestPayment(sign_params)`` — checks the
sign_params against the order and the provider's paySign, pays, and has WeChat notify.

``POST /request-payment`` is not WeChat's API; the sandbox's payer page and tests call it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from jubao.channels.simulator import ids
from jubao.channels.simulator.errors import ApiError
from jubao.channels.simulator.models import transaction_json
from jubao.channels.simulator.rules import parse_json_object
from jubao.channels.simulator.signing import lines, verify
from jubao.channels.simulator.state import PAID_STATES

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = ["request_payment", "request_payment_endpoint"]

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
    if sim.controls.take_payment_failure(order.out_trade_no):
        raise _refused(402, "PAYMENT_FAILED", "支付失败（模拟器按设定拒绝本次支付）")
    now = sim.now()
    order.trade_state = "SUCCESS"
    order.transaction_id = ids.new_transaction_id(now)
    order.success_time = now
    order.bank_type = "OTHERS"
    order.payer_total = order.total
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
    return {"err_msg": "requestPayment:ok", "transaction_id": order.transaction_id}


def _json(status: int, payload: dict[str, Any]) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status, media_type="application/json")


async def request_payment_endpoint(request: Request) -> Response:
    sim: Simulator = request.app.state.simulator
    try:
        data = parse_json_object(await request.body())
        result = request_payment(sim, data.get("sign_params"), data.get("openid"))
    except ApiError as error:
        failure = {
            "code": error.code,
            "message": error.message,
            "err_msg": f"requestPayment:fail {error.message}",
        }
        return _json(error.status, failure)
    return _json(200, result)
