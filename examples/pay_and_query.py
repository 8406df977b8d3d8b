"""Create an order, pay it in the sandbox, and query it until it is paid (asyncio client).

.venv/bin/python examples/pay_and_query.py
"""

from __future__ import annotations

import asyncio

import httpx
from sandbox_config import load_sandbox, new_merchant_order_sn

from jubao.client import AsyncJubaoClient, MinaRequest, Order, OrderQueryRequest


async def main() -> None:
    sandbox = load_sandbox()
    async with AsyncJubaoClient(sandbox.app_id, sandbox.app_secret, sandbox.gateway_url) as client:
        created = await client.mina(
            MinaRequest(
                merchant_order_sn=new_merchant_order_sn(),
                sub_openid=sandbox.demo_openid,
                store_id=sandbox.store_id,
                total_fen=3,  # 0.03 yuan
            )
        )
        print(f"created  {created.order_sn}")

        # The mini-program calls wx.requestPayment(sign_params); in the sandbox the simulator's
        # request-payment endpoint plays that payer.
        async with httpx.AsyncClient(timeout=15) as http:
            answer = await http.post(
                f"{sandbox.simulator_url}/request-payment",
                json={"sign_params": created.sign_params.as_dict(), "openid": sandbox.demo_openid},
            )
        answer.raise_for_status()
        print("paid     (simulated wx.requestPayment)")

        order = await wait_until_paid(client, created.order_sn)
        print(f"state    {order.trade_state}")
        print(f"amount   {order.total_fee} yuan ({order.total_fee_fen} fen)")
        print(f"wechat   {order.platform_order_no}")
        print(f"paid at  {order.paid_at}")


async def wait_until_paid(client: AsyncJubaoClient, order_sn: str) -> Order:
    """The gateway learns of the payment from WeChat's notification, a moment after it."""
    async with asyncio.timeout(20):
        order = await client.query(OrderQueryRequest(order_sn=order_sn))
        while order.trade_state == "USERPAYING":
            await asyncio.sleep(0.2)
            order = await client.query(OrderQueryRequest(order_sn=order_sn))
    if not order.is_paid:
        raise SystemExit(f"order {order_sn} is {order.trade_state}, not paid")
    return order


if __name__ == "__main__":
    asyncio.run(main())
