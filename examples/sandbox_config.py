"""Where the examples find the sandbox: ``.jubao/sandbox.json`` (written by ``make run``), or the
file named by the ``JUBAO_SANDBOX_JSON`` environment variable.

In production these values come from your own configuration: the gateway URL, and the app_id /
app_secret that ``jubao merchant create`` printed once (for Open API 2.0 as a service provider:
the vendor_sn / vendor_secret that ``jubao vendor create`` printed once, and your merchants' ids).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Sandbox", "load_sandbox", "new_merchant_order_sn", "pay_in_sandbox"]

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sandbox:
    gateway_url: str
    app_id: str
    app_secret: str
    store_id: int
    demo_openid: str
    simulator_url: str
    merchant_id: int = 0  # Open API 2.0: the demo merchant a service provider acts for
    vendor_sn: str = ""  # ... and the demo service provider's credentials
    vendor_secret: str = ""


def _sandbox_json() -> Path:
    named = os.environ.get("JUBAO_SANDBOX_JSON")
    if named:
        return Path(named)
    local = Path(".jubao/sandbox.json")
    return local if local.exists() else REPO_ROOT / ".jubao" / "sandbox.json"


def load_sandbox() -> Sandbox:
    path = _sandbox_json()
    if not path.exists():
        raise SystemExit(f"{path} not found: start the sandbox first with `make run`")
    info: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return Sandbox(
        gateway_url=info["gateway_url"],
        app_id=info["app_id"],
        app_secret=info["app_secret"],
        store_id=int(info["store_id"]),
        demo_openid=info["demo_openid"],
        simulator_url=info["simulator_url"],
        merchant_id=int(info.get("merchant_id", 0)),
        vendor_sn=info.get("vendor_sn", ""),
        vendor_secret=info.get("vendor_secret", ""),
    )


def new_merchant_order_sn() -> str:
    """Your own order number: unique per merchant, at most 32 characters."""
    return datetime.now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(4)


def pay_in_sandbox(sandbox: Sandbox, sign_params: dict[str, str]) -> None:
    """Play the payer: what WeChat does when the mini-program calls wx.requestPayment."""
    answer = httpx.post(
        f"{sandbox.simulator_url}/request-payment",
        json={"sign_params": sign_params, "openid": sandbox.demo_openid},
        timeout=15,
    )
    if answer.status_code != 200:
        raise SystemExit(f"the simulated payment failed: {answer.status_code} {answer.text}")
