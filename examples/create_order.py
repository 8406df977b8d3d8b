"""Create a mini-program order (openapi.payment.order.mina) with the blocking client.

    .venv/bin/python examples/create_order.py

Prints the order and the ``sign_params`` your mini-program passes to ``wx.requestPayment``.
"""

from __future__ import annotations

import json
from decimal import Decimal

from sandbox_config import load_sandbox, new_merchant_order_sn

from jubao.client import JubaoClient, MinaRequest


def main() -> None:
    sandbox = load_sandbox()
    with JubaoClient(sandbox.app_id, sandbox.app_secret, sandbox.gateway_url) as client:
        order = client.mina(
            MinaRequest(
                merchant_order_sn=new_merchant_order_sn(),
                sub_openid=sandbox.demo_openid,  # from your mini-program's login
                store_id=sandbox.store_id,
                total_fee=Decimal("0.01"),  # yuan, exact; or total_fen=1
                body="jubao 示例商品",
            )
        )
    print(f"merchant_order_sn {order.merchant_order_sn}")
    print(f"order_sn          {order.order_sn}")
    print(f"prepay_id         {order.prepay_id}")
    print("sign_params for wx.requestPayment:")
    print(json.dumps(order.sign_params.as_dict(), indent=2, ensure_ascii=False))
    print(f"pay it in the sandbox: .venv/bin/jubao pay {order.order_sn}")


if __name__ == "__main__":
    main()
