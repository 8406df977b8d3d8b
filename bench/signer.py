"""Pre-signed Open API request bodies for the load generator.

Written from the protocol reference, not importing jubao's signing code (like the tests' signer),
so the benchmark cannot share a mistake with the server. Each mina body has its own
``merchant_order_sn`` and signature; the load generator replays them from files, one per wrk
thread, so no two threads send the same order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["Merchant", "mina_bodies", "query_bodies", "sign", "signed_body", "write_split"]

MINA = "openapi.payment.order.mina"
QUERY = "openapi.payment.order.query"


class Merchant:
    """The sandbox's demo merchant, as written to ``DATA_DIR/sandbox.json``."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.app_id: str = info["app_id"]
        self.app_secret: str = info["app_secret"]
        self.store_id: int = int(info["store_id"])
        self.openid: str = info["demo_openid"]


def sign(params: dict[str, str], secret: str) -> str:
    base = "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "sign")
    return hashlib.md5((base + secret).encode("utf-8")).hexdigest().upper()


def signed_body(merchant: Merchant, method: str, biz: dict[str, Any], nonce: str) -> str:
    params = {
        "app_id": merchant.app_id,
        "method": method,
        "format": "json",
        "sign_method": "md5",
        "nonce": nonce,
        "version": "1.0",
        "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
    }
    params["sign"] = sign(params, merchant.app_secret)
    return json.dumps(params, ensure_ascii=False, separators=(",", ":"))


def mina_biz(merchant: Merchant, order_sn: str) -> dict[str, Any]:
    return {
        "merchant_order_sn": order_sn,
        "sub_openid": merchant.openid,
        "total_fee": 0.01,
        "store_id": merchant.store_id,
        "body": "bench",
    }


def mina_bodies(merchant: Merchant, prefix: str, count: int) -> Iterator[str]:
    for index in range(count):
        order_sn = f"{prefix}-{index:07d}"
        yield signed_body(merchant, MINA, mina_biz(merchant, order_sn), f"{prefix}{index}")


def query_bodies(merchant: Merchant, order_sns: list[str], count: int) -> Iterator[str]:
    for index in range(count):
        biz = {"merchant_order_sn": order_sns[index % len(order_sns)]}
        yield signed_body(merchant, QUERY, biz, f"q{index}")


def write_split(bodies: Iterable[str], prefix: Path, parts: int) -> list[Path]:
    """Write ``PREFIX.0 .. PREFIX.<parts-1>``: body ``i`` goes to part ``i % parts``, one a line."""
    paths = [prefix.with_name(f"{prefix.name}.{part}") for part in range(parts)]
    handles = [path.open("w", encoding="utf-8") for path in paths]
    try:
        for index, body in enumerate(bodies):
            handles[index % parts].write(body + "\n")
    finally:
        for handle in handles:
            handle.close()
    return paths
