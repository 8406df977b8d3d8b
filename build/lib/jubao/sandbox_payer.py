"""Sandbox only: play the payer of an order, whatever its channel and scene, through the
channel's simulator (``jubao pay`` and the console's payer page both come here).

For a wallet package this is what ``wx.requestPayment`` does: the simulator's
``request-payment`` endpoint takes the stored sign params and the payer's openid.
"""

from __future__ import annotations

import httpx

from jubao.channels.base import WalletPackage
from jubao.kinds import ChannelName
from jubao.payments import instructions
from jubao.payments.records import OrderRecord
from jubao.payments.states import OrderState

__all__ = ["PayerRefusal", "pay_order", "payable"]


class PayerRefusal(Exception):
    """The order cannot be paid by the sandbox payer (the message says why, in English)."""


def payable(order: OrderRecord) -> bool:
    """Whether the sandbox payer can pay this order now."""
    return (
        order.state == OrderState.USERPAYING
        and order.channel == ChannelName.WECHATPAY
        and order.instruction is not None
    )


async def pay_order(
    client: httpx.AsyncClient,
    payer_url: str,
    order: OrderRecord,
    payer_id: str | None = None,
) -> httpx.Response:
    """Ask the simulator (its request-payment URL) to pay ``order`` as its payer (or
    ``payer_id``); returns the simulator's answer."""
    if not payable(order) or order.instruction is None:
        raise PayerRefusal(f"order {order.order_sn} is not waiting for a wallet payment")
    instruction = instructions.decode(order.instruction, order.prepay_id)
    if not isinstance(instruction, WalletPackage):
        raise PayerRefusal(f"order {order.order_sn}: the sandbox payer cannot pay this scene yet")
    payload = {"sign_params": dict(instruction.params), "openid": payer_id or order.payer_id}
    return await client.post(payer_url, json=payload)
