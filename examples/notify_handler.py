"""The merchant's callback endpoint: verify jubao's notification, act on it once, answer success.

    .venv/bin/python examples/notify_handler.py           # demo: serves, pays an order, exits
    .venv/bin/python examples/notify_handler.py --serve   # just serve on 127.0.0.1:8700/notify

The demo starts the handler on a free local port, creates an order whose ``call_back_url`` points
at it, pays the order in the sandbox and prints the verified notification when it arrives.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Callable

import uvicorn
from sandbox_config import Sandbox, load_sandbox, new_merchant_order_sn, pay_in_sandbox
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from jubao.client import (
    NOTIFICATION_ACK,
    AsyncJubaoClient,
    MinaRequest,
    Notification,
    NotificationError,
    PaymentNotification,
    parse_notification,
)

Handler = Callable[[Notification], None]


def notification_app(app_secret: str, handle: Handler) -> Starlette:
    async def notify(request: Request) -> PlainTextResponse:
        try:
            notification = parse_notification(await request.body(), app_secret)
        except NotificationError as exc:
            print(f"refused a notification: {exc}")
            return PlainTextResponse("fail", status_code=400)  # do nothing, let it be retried
        handle(notification)  # must be idempotent: a notification can arrive more than once
        return PlainTextResponse(NOTIFICATION_ACK)  # exactly "success"

    return Starlette(routes=[Route("/notify", notify, methods=["POST"])])


def record(notification: Notification) -> None:
    if isinstance(notification, PaymentNotification):
        print(f"paid     {notification.merchant_order_sn} {notification.total_fee} yuan")
    else:
        print(f"refund   {notification.refund_sn} {notification.refund_status}")


async def demo(sandbox: Sandbox) -> None:
    received: asyncio.Queue[Notification] = asyncio.Queue()

    def handle(notification: Notification) -> None:
        record(notification)
        received.put_nowait(notification)

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(notification_app(sandbox.app_secret, handle), log_level="warning")
    )
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with AsyncJubaoClient(
            sandbox.app_id, sandbox.app_secret, sandbox.gateway_url
        ) as client:
            created = await client.mina(
                MinaRequest(
                    merchant_order_sn=new_merchant_order_sn(),
                    sub_openid=sandbox.demo_openid,
                    store_id=sandbox.store_id,
                    total_fen=1,
                    call_back_url=f"http://127.0.0.1:{port}/notify",
                )
            )
        print(f"created  {created.merchant_order_sn}, notifications to port {port}")
        await asyncio.to_thread(pay_in_sandbox, sandbox, created.sign_params.as_dict())
        notification = await asyncio.wait_for(received.get(), timeout=30)
        assert isinstance(notification, PaymentNotification)
        assert notification.merchant_order_sn == created.merchant_order_sn
        print(f"verified {notification.order_sn} is {notification.trade_state}")
    finally:
        server.should_exit = True
        await serving


def main(argv: list[str]) -> None:
    sandbox = load_sandbox()
    if "--serve" in argv:
        app = notification_app(sandbox.app_secret, record)
        uvicorn.run(app, host="127.0.0.1", port=8700, log_level="warning")
    else:
        asyncio.run(demo(sandbox))


if __name__ == "__main__":
    main(sys.argv[1:])
