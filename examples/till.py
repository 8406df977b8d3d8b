"""At the till: scan the customer's payment code, wait while they confirm, reverse if they walk
away.

.venv/bin/python examples/till.py                  # two sandbox codes: 1111 pays, 4444 walks away
.venv/bin/python examples/till.py AUTH_CODE        # one code of your own

In the sandbox the last four digits of a WeChat code (18 digits starting 10-15) decide what the
payer does: 1111 enters a password (about 5 s), 2222 has no money, 3333 is an invalid code, 4444
never confirms, anything else pays at once (README, "Sandbox payment codes").
"""

from __future__ import annotations

import sys
import time

from sandbox_config import load_sandbox, new_merchant_order_sn

from jubao.client import (
    ApiError,
    JubaoClient,
    Order,
    OrderQueryRequest,
    ReverseRequest,
    SwipeRequest,
)

WAIT_SECONDS = 30  # how long this till waits for the payer before it reverses the payment


def main(argv: list[str]) -> None:
    sandbox = load_sandbox()
    codes = argv or ["134567890123451111", "134567890123454444"]
    with JubaoClient(sandbox.app_id, sandbox.app_secret, sandbox.gateway_url) as client:
        for auth_code in codes:
            till(client, sandbox.store_id, auth_code)


def till(client: JubaoClient, store_id: int, auth_code: str) -> None:
    merchant_order_sn = new_merchant_order_sn()
    try:
        order = client.swipe(
            SwipeRequest(
                merchant_order_sn=merchant_order_sn,
                auth_code=auth_code,  # the channel is recognised from the code
                store_id=store_id,
                total_fen=250,
                body="收银台",
            )
        )
    except ApiError as declined:  # the payer's wallet said no: show it, ask for another code
        print(f"declined {auth_code} {declined.sub_code}: {declined.result_message}")
        return
    print(f"swipe    {auth_code} -> {order.order_sn} {order.trade_state}")
    order = wait_for_payer(client, order, WAIT_SECONDS if auth_code.endswith("1111") else 3)
    if order.trade_state == "SUCCESS":
        print(f"paid     {order.order_sn} {order.total_fee} yuan")
        return
    # Still waiting: end the payment so the customer cannot pay it later (the gateway would also
    # reverse it by itself after JUBAO_BARCODE_PAY_TIMEOUT_SECONDS).
    reversed_ = client.reverse(ReverseRequest(order_sn=order.order_sn))
    state = reversed_.trade_state
    deadline = time.monotonic() + 20
    while state == "REVOKING" and time.monotonic() < deadline:
        time.sleep(0.2)
        state = client.query(OrderQueryRequest(order_sn=order.order_sn)).trade_state
    print(f"reversed {order.order_sn} {state}")


def wait_for_payer(client: JubaoClient, order: Order, seconds: float) -> Order:
    deadline = time.monotonic() + seconds
    while order.trade_state == "USERPAYING" and time.monotonic() < deadline:
        time.sleep(0.5)
        order = client.query(OrderQueryRequest(order_sn=order.order_sn))
    return order


if __name__ == "__main__":
    main(sys.argv[1:])
