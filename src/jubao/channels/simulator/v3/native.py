"""Partner Native ordering: ``POST /v3/pay/partner/transactions/native`` (reference part 2, §4).
The JSAPI order without a payer; answers a ``code_url`` (``weixin://wxpay/bizpayurl?pr=…``,
valid 2 h) for a QR code that whoever scans it pays (``payer.scan_and_pay``)."""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING

from jubao.channels.simulator.rules import PrepayRequest, parse_native
from jubao.channels.simulator.v3.call import Answer, Call
from jubao.channels.simulator.v3.jsapi import PREPAY_TTL_SECONDS, open_order

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
    order = open_order(sim, mchid, request, trade_type="NATIVE")  # no payer: whoever scans
    now = sim.now()
    live = [(expiry, url) for url, expiry in order.code_urls.items() if expiry > now]
    if live:
        return max(live)[1]  # an identical retry gets the code_url still alive
    code_url = _new_code_url()
    sim.state.add_code_url(order, code_url, min(now + PREPAY_TTL_SECONDS, order.expire_at))
    return code_url
