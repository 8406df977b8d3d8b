"""Sandbox only: play the payer of an order, whatever its channel and scene, through the
channel's simulator (``jubao pay`` and the console's payer page both come here).
``simulators_url`` is where the sandbox mounts its simulators (``…/sim``).

WeChat (``…/sim/wechatpay``), by what the order handed the payer:

- a wallet package (mini-program, official account): what ``wx.requestPayment`` /
  ``getBrandWCPayRequest`` does; the simulator's ``request-payment`` takes the stored sign params
  and the payer's openid;
- a QR code (``scan``): the customer scans it with WeChat and pays (``scan-and-pay``);
- a payment code waiting for its password (``swipe``, a code ending in 1111 or 4444): the
  customer enters the password now (``enter-password``).

Alipay (``…/sim/alipay``): a QR code is scanned and paid (``/payer/scan``), a JSAPI trade
(``Alipay.H5``) is paid as ``my.tradePay`` would (``/payer/trade-pay``).
"""

from __future__ import annotations

from typing import Any

import httpx

from jubao.channels.base import ChannelTradeNo, QrContent, RedirectUrl, WalletPackage
from jubao.kinds import ChannelName, Scene
from jubao.payments import instructions
from jubao.payments.records import OrderRecord
from jubao.payments.states import OrderState

__all__ = ["PayerRefusal", "pay_order", "payable"]

_PAYABLE_CHANNELS = (ChannelName.WECHATPAY, ChannelName.ALIPAY)


class PayerRefusal(Exception):
    """The order cannot be paid by the sandbox payer (the message says why, in English)."""


def payable(order: OrderRecord) -> bool:
    """Whether the sandbox payer can pay this order now."""
    return (
        order.state == OrderState.USERPAYING
        and order.channel in _PAYABLE_CHANNELS
        and order.instruction is not None
    )


async def pay_order(
    client: httpx.AsyncClient,
    simulators_url: str,
    order: OrderRecord,
    payer_id: str | None = None,
) -> httpx.Response:
    """Ask the order's simulator (under ``simulators_url``) to pay ``order`` as its payer (or
    ``payer_id``); returns the simulator's answer."""
    if not payable(order) or order.instruction is None:
        raise PayerRefusal(f"order {order.order_sn} is not waiting for its payer")
    if order.channel == ChannelName.ALIPAY:
        return await _pay_alipay(client, f"{simulators_url}/alipay", order, payer_id)
    wechat = f"{simulators_url}/wechatpay"
    if order.scene == Scene.BARCODE:
        payload: dict[str, Any] = {"out_trade_no": order.order_sn}
        return await client.post(f"{wechat}/enter-password", json=payload)
    instruction = instructions.decode(order.instruction, order.prepay_id)
    if isinstance(instruction, QrContent):
        payload = {"code_url": instruction.code}
        if payer_id:
            payload["openid"] = payer_id
        return await client.post(f"{wechat}/scan-and-pay", json=payload)
    if not isinstance(instruction, WalletPackage):
        raise PayerRefusal(f"order {order.order_sn}: the sandbox payer cannot pay this scene yet")
    payload = {"sign_params": dict(instruction.params), "openid": payer_id or order.payer_id}
    return await client.post(f"{wechat}/request-payment", json=payload)


async def _pay_alipay(
    client: httpx.AsyncClient, simulator_url: str, order: OrderRecord, payer_id: str | None
) -> httpx.Response:
    assert order.instruction is not None
    instruction = instructions.decode_stored(order.instruction, order.prepay_id)
    buyer = payer_id or order.payer_id
    who = {"buyer": buyer} if buyer else {}
    if isinstance(instruction, QrContent):
        scan = {"qr_code": instruction.code, **who}
        return await client.post(f"{simulator_url}/payer/scan", json=scan)
    if isinstance(instruction, ChannelTradeNo):
        trade = {"trade_no": instruction.trade_no, **who}
        return await client.post(f"{simulator_url}/payer/trade-pay", json=trade)
    if isinstance(instruction, RedirectUrl):  # H5: the browser opens the cashier page, pays
        page = await client.get(instruction.url)
        if page.status_code != 200:
            return page
        wap = {"seller_id": order.channel_merchant_id, "out_trade_no": order.order_sn, **who}
        return await client.post(f"{simulator_url}/payer/wap-pay", json=wap)
    # an Alipay payment code confirms by itself (1111) or never (4444): nothing to enter
    raise PayerRefusal(f"order {order.order_sn}: the sandbox payer cannot pay this scene yet")
