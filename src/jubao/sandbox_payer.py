"""Sandbox only: play the payer of an order, whatever its channel and scene, through the
channel's simulator (``jubao pay`` and the console's payer page both come here).

WeChat, by what the order handed the payer:

- a wallet package (mini-program, official account): what ``wx.requestPayment`` /
  ``getBrandWCPayRequest`` does; the simulator's ``request-payment`` takes the stored sign params
  and the payer's openid;
- a QR code (``scan``): the customer scans it with WeChat and pays (``scan-and-pay``);
- a payment code waiting for its password (``swipe``, a code ending in 1111 or 4444): the
  customer enters the password now (``enter-password``).

Every URL is a sibling of the simulator's ``request-payment`` URL, the one the sandbox gives.
"""

from __future__ import annotations

from typing import Any

import httpx

from jubao.channels.base import QrContent, WalletPackage
from jubao.kinds import ChannelName, Scene
from jubao.payments import instructions
from jubao.payments.records import OrderRecord
from jubao.payments.states import OrderState

__all__ = ["PayerRefusal", "pay_order", "payable"]

REQUEST_PAYMENT = "/request-payment"


class PayerRefusal(Exception):
    """The order cannot be paid by the sandbox payer (the message says why, in English)."""


def payable(order: OrderRecord) -> bool:
    """Whether the sandbox payer can pay this order now."""
    return (
        order.state == OrderState.USERPAYING
        and order.channel == ChannelName.WECHATPAY
        and order.instruction is not None
    )


def _sibling(payer_url: str, name: str) -> str:
    base = payer_url.removesuffix(REQUEST_PAYMENT)
    return f"{base}/{name}"


async def pay_order(
    client: httpx.AsyncClient,
    payer_url: str,
    order: OrderRecord,
    payer_id: str | None = None,
) -> httpx.Response:
    """Ask the simulator (``payer_url``: its request-payment URL) to pay ``order`` as its payer
    (or ``payer_id``); returns the simulator's answer."""
    if not payable(order) or order.instruction is None:
        raise PayerRefusal(f"order {order.order_sn} is not waiting for its payer")
    if order.scene == Scene.BARCODE:
        payload: dict[str, Any] = {"out_trade_no": order.order_sn}
        return await client.post(_sibling(payer_url, "enter-password"), json=payload)
    instruction = instructions.decode(order.instruction, order.prepay_id)
    if isinstance(instruction, QrContent):
        payload = {"code_url": instruction.code}
        if payer_id:
            payload["openid"] = payer_id
        return await client.post(_sibling(payer_url, "scan-and-pay"), json=payload)
    if not isinstance(instruction, WalletPackage):
        raise PayerRefusal(f"order {order.order_sn}: the sandbox payer cannot pay this scene yet")
    payload = {"sign_params": dict(instruction.params), "openid": payer_id or order.payer_id}
    return await client.post(payer_url, json=payload)
