"""Partner Native ordering: ``POST /v3/pay/partner/transactions/native`` (reference part 2, §4).
The JSAPI order without a payer; answers a ``code_url`` (``weixin://wxpay/bizpayurl?pr=…``,
valid 2 h) for a QR code that whoever scans it pays (``payer.scan_and_pay``)."""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING

from jubao.channels.simulator.errors import ApiError, InternalCode
from jubao.channels.simulator.models import Order
from jubao.channels.simulator.rules import PrepayRequest, parse_native
from jubao.channels.simulator.v3.call import Answer, Call
from jubao.channels.simulator.v3.checks import check_mchid, refuse_paid_or_closed, sub_appids
from jubao.channels.simulator.v3.jsapi import (
    DEFAULT_ORDER_TTL_SECONDS,
    MIN_EXPIRE_AHEAD_SECONDS,
    PREPAY_TTL_SECONDS,
)

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = ["CODE_URL_PREFIX", "handle_native", "native"]

CODE_URL_PREFIX = "weixin://wxpay/bizpayurl?pr="
_ALNUM = string.ascii_letters + string.digits


def handle_native(sim: Simulator, call: Call) -> Answer:
    return 200, {"code_url": native(sim, call.mchid, parse_native(call.json()))}


def _new_code_url() -> str:
    return CODE_URL_PREFIX + "".join(secrets.choice(_ALNUM) for _ in range(10))


def native(sim: Simulator, mchid: str, request: PrepayRequest) -> str:
    check_mchid(mchid, request.sp_mchid)
    found = sim.state.merchant(mchid)
    assert found is not None  # the signer is a known provider
    if request.sp_appid not in found[0].sp_appids:
        raise ApiError(400, "APPID_MCHID_NOT_MATCH", "sp_appid 与 sp_mchid 不匹配")
    appids = sub_appids(sim, mchid, request.sub_mchid, status=400)
    if request.sub_appid is not None and request.sub_appid not in appids:
        raise ApiError(400, "APPID_MCHID_NOT_MATCH", "sub_appid 与 sub_mchid 不匹配")
    now = sim.now()
    order = sim.state.order(mchid, request.out_trade_no)
    if order is None:
        expire_at = request.time_expire or now + DEFAULT_ORDER_TTL_SECONDS
        order = Order(
            sp_mchid=mchid,
            sp_appid=request.sp_appid,
            sub_mchid=request.sub_mchid,
            sub_appid=request.sub_appid,
            out_trade_no=request.out_trade_no,
            description=request.description,
            attach=request.attach,
            notify_url=request.notify_url,
            total=request.total,
            currency=request.currency,
            sp_openid=None,
            sub_openid=None,
            created_at=now,
            expire_at=max(expire_at, now + MIN_EXPIRE_AHEAD_SECONDS),
            fingerprint=request.fingerprint,
            trade_type="NATIVE",
        )
        sim.state.add_order(order)
    else:
        sim.state.refresh(order)
        refuse_paid_or_closed(sim, order)
        if order.fingerprint != request.fingerprint:
            raise ApiError(
                403,
                "OUT_TRADE_NO_USED",
                "商户订单号重复（请求重入时，参数与首次请求时不一致）",
                internal=InternalCode.PARAMS_CHANGED,
            )
        live = [(expiry, url) for url, expiry in order.code_urls.items() if expiry > now]
        if live:
            return max(live)[1]  # an identical retry gets the code_url still alive
    code_url = _new_code_url()
    sim.state.add_code_url(order, code_url, min(now + PREPAY_TTL_SECONDS, order.expire_at))
    return code_url
