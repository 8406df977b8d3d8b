"""Refund part of a paid order, follow the refund to its end, and show what is left.

.venv/bin/python examples/refund.py                      # pays a 0.03 order first
.venv/bin/python examples/refund.py MERCHANT_ORDER_SN    # refunds your own paid order
"""

from __future__ import annotations

import sys
import time

from sandbox_config import Sandbox, load_sandbox, new_merchant_order_sn, pay_in_sandbox

from jubao.client import (
    JubaoClient,
    MinaRequest,
    OrderQueryRequest,
    Refund,
    RefundQueryRequest,
    RefundRequest,
    RefundStatisticsRequest,
)


def main(argv: list[str]) -> None:
    sandbox = load_sandbox()
    with JubaoClient(sandbox.app_id, sandbox.app_secret, sandbox.gateway_url) as client:
        merchant_order_sn = argv[0] if argv else paid_order(client, sandbox)

        # A merchant_refund_sn of your own makes the refund idempotent (safe to retry).
        refund = client.refund(
            RefundRequest(
                merchant_order_sn=merchant_order_sn,
                merchant_refund_sn=f"R{new_merchant_order_sn()}",
                refund_fen=1,  # 0.01 yuan; leave the amount out to refund the whole remainder
            )
        )
        print(f"refund   {refund.refund_sn} {refund.refund_money} yuan {refund.refund_status}")

        refund = wait_until_settled(client, merchant_order_sn, refund.refund_sn)
        print(f"settled  {refund.refund_status} at {refund.refunded_at}")

        stats = client.refund_statistics(
            RefundStatisticsRequest(merchant_order_sn=merchant_order_sn)
        )
        print(f"order    {stats.total_fee} yuan, {stats.refund_num} refund(s)")
        print(f"left     {stats.can_refund} yuan can still be refunded")


def paid_order(client: JubaoClient, sandbox: Sandbox) -> str:
    created = client.mina(
        MinaRequest(
            merchant_order_sn=new_merchant_order_sn(),
            sub_openid=sandbox.demo_openid,
            store_id=sandbox.store_id,
            total_fen=3,
        )
    )
    pay_in_sandbox(sandbox, created.sign_params.as_dict())
    deadline = time.monotonic() + 20
    while client.query(OrderQueryRequest(order_sn=created.order_sn)).trade_state != "SUCCESS":
        if time.monotonic() > deadline:
            raise SystemExit(f"order {created.order_sn} was not paid")
        time.sleep(0.2)
    print(f"paid     {created.merchant_order_sn} (0.03 yuan)")
    return created.merchant_order_sn


def wait_until_settled(
    client: JubaoClient, merchant_order_sn: str, refund_sn: str, timeout: float = 60
) -> Refund:
    deadline = time.monotonic() + timeout
    request = RefundQueryRequest(merchant_order_sn=merchant_order_sn, refund_sn=refund_sn)
    while True:
        refund = client.refund_query(request)
        if refund.refund_status != "REFUND_PROCESSING" or time.monotonic() > deadline:
            return refund
        time.sleep(0.5)


if __name__ == "__main__":
    main(sys.argv[1:])
