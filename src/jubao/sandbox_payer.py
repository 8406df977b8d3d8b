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

A cashier code (聚合码, ``/qr/<token>``) has no order until a wallet opens its page:
``open_as_wallet`` opens it as WeChat's or Alipay's in-app browser would (the wallet's
User-Agent, following the OAuth or user-authorisation redirects through the simulators), which
creates the order; ``pay_order`` then pays it.
"""

from __future__ import annotations

from typing import Any

import httpx

from jubao.channels.base import ChannelTradeNo, QrContent, RedirectUrl, WalletPackage
from jubao.kinds import ChannelName, Scene
from jubao.payments import instructions
from jubao.payments.records import OrderRecord
from jubao.payments.states import OrderState

__all__ = ["WALLET_USER_AGENTS", "PayerRefusal", "open_as_wallet", "pay_order", "payable"]

# What each wallet's in-app browser says it is (the cashier page reads MicroMessenger and
# AlipayClient).
WALLET_USER_AGENTS = {
    ChannelName.WECHATPAY: (
        "Mozilla/5.0 (Linux; Android 14; jubao sandbox) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) NetType/WIFI Language/zh_CN"
    ),
    ChannelName.ALIPAY: (
        "Mozilla/5.0 (Linux; Android 14; jubao sandbox) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Mobile Safari/537.36 AliApp(AP/10.5.36.8100) AlipayClient/10.5.36.8100 Language/zh-Hans"
    ),
}

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


async def open_as_wallet(
    client: httpx.AsyncClient, page_url: str, wallet: ChannelName
) -> httpx.Response:
    """Open a cashier page as ``wallet``'s in-app browser: its User-Agent, every redirect
    followed (jubao's OAuth hop, the simulator's authorise page, back to the page). The page's
    answer: 200 once the order is made and waits for its payer."""
    if wallet not in WALLET_USER_AGENTS:
        raise PayerRefusal(f"no sandbox wallet for {wallet.value}")
    headers = {"User-Agent": WALLET_USER_AGENTS[wallet]}
    return await client.get(page_url, headers=headers, follow_redirects=True)
