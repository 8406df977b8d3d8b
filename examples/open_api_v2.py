"""Open API 2.0 (``fbpay.*`` on ``/gateway/agent``) as a service provider, then as the merchant.

    .venv/bin/python examples/open_api_v2.py

As the demo service provider (``vendor_sn`` + vendor secret, acting for the demo merchant): take a
0.05 payment by payment code with a ``notify_url`` pointing at a local handler, verify the 2.0
notification with the vendor secret, refund 0.02 and follow it until it settles. Then, as the
merchant itself (``app_id`` + app secret), query the same order: one order, whoever asks.
"""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from sandbox_config import Sandbox, load_sandbox, new_merchant_order_sn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from jubao.client.errors import NotificationError
from jubao.client.v2 import (
    NOTIFICATION_ACK,
    AppCredentials,
    AsyncJubaoV2Client,
    Notification,
    OrderQueryRequest,
    PaymentNotification,
    PayRequest,
    RefundQueryRequest,
    RefundRequest,
    VendorCredentials,
    parse_notification,
)

PAYMENT_CODE = "134567890123450001"  # a sandbox WeChat payment code that pays at once


def notification_app(secret: str, received: asyncio.Queue[Notification]) -> Starlette:
    async def notify(request: Request) -> PlainTextResponse:
        try:  # the vendor secret: the vendor created the order
            notification = parse_notification(await request.body(), secret)
        except NotificationError:
            return PlainTextResponse("fail", status_code=400)
        received.put_nowait(notification)  # act on it idempotently: it may come again
        return PlainTextResponse(NOTIFICATION_ACK)

    return Starlette(routes=[Route("/notify", notify, methods=["POST"])])


async def main(sandbox: Sandbox) -> None:
    received: asyncio.Queue[Notification] = asyncio.Queue()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = notification_app(sandbox.vendor_secret, received)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        await as_vendor_then_merchant(sandbox, f"http://127.0.0.1:{port}/notify", received)
    finally:
        server.should_exit = True
        await serving


async def as_vendor_then_merchant(
    sandbox: Sandbox, notify_url: str, received: asyncio.Queue[Notification]
) -> None:
    vendor = VendorCredentials(
        sandbox.vendor_sn, sandbox.vendor_secret, merchant_id=sandbox.merchant_id
    )
    async with AsyncJubaoV2Client(vendor, sandbox.gateway_url) as client:
        order = await client.pay(
            PayRequest(
                merchant_order_sn=new_merchant_order_sn(),
                auth_code=PAYMENT_CODE,  # WeChat, Alipay or UnionPay: read from the code
                total_fen=5,
                store_id=sandbox.store_id,
                notify_url=notify_url,
            )
        )
        print(f"paid     {order.order_sn} {order.order_status} {order.total_amount} yuan "
              f"{order.pay_type}")  # fmt: skip
        notification = await asyncio.wait_for(received.get(), timeout=30)
        assert isinstance(notification, PaymentNotification)
        print(f"notified {notification.order_sn} {notification.order_status} (vendor secret)")

        refund = await client.refund(
            RefundRequest(
                order_sn=order.order_sn,
                merchant_refund_sn=f"R{order.order_sn}",  # makes the refund safe to retry
                refund_amount="0.02",
            )
        )
        while not refund.is_settled:
            await asyncio.sleep(0.2)
            refund = await client.refund_query(RefundQueryRequest(refund_sn=refund.refund_sn))
        print(f"refund   {refund.refund_sn} {refund.refund_status} {refund.refund_amount} yuan")

    merchant = AppCredentials(sandbox.app_id, sandbox.app_secret)
    async with AsyncJubaoV2Client(merchant, sandbox.gateway_url) as client:
        same = await client.query(OrderQueryRequest(ins_order_sn=order.ins_order_sn))
        print(f"merchant {same.order_sn} {same.order_status} finished {same.finish_time}")


if __name__ == "__main__":
    asyncio.run(main(load_sandbox()))
