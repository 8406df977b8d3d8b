"""A NUL byte (``%00``) in an id a browser sends, on both databases: PostgreSQL refuses a NUL in
a text parameter, so every browser-facing route checks the shape of what it reads from the path
or the query string before any query, and answers a clear page (400 or 404), never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.console.support import hidden, log_in
from tests.support.sandbox import RunningSandbox, running_sandbox

NUL = "\x00"
BACK = "https://merchant.test/back"
WECHAT = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0.47.2560"}


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(tmp_path / "data", database_url=database_url) as running:
        yield running


async def test_the_public_pages_refuse_a_nul(sandbox: RunningSandbox) -> None:
    made = await sandbox.agent(
        "fbpay.fixed.qrcode.create",
        {"merchant_order_sn": "nul-1", "total_amount": "1", "store_id": sandbox.info["store_id"]},
    )
    token = made["data"]["qrcode_url"].rsplit("/", 1)[1]
    # (path, query, headers, status, what the page says)
    probes: list[tuple[str, dict[str, str], dict[str, str], int, str]] = [
        ("/paypage", {"prepay_id": NUL, "callback_url": BACK, "cancel_url": BACK}, {}, 400,
         "prepay_id 格式不正确"),
        ("/paypage", {"prepay_id": f"wx{NUL}1", "callback_url": BACK, "cancel_url": BACK}, {},
         400, "prepay_id 格式不正确"),
        ("/oauth/wechat", {"t": NUL}, {}, 400, ""),
        ("/oauth/wechat/back", {"t": NUL, "hop": "sp", "code": NUL}, {}, 400, ""),
        ("/qr/%00", {}, {}, 404, "二维码不存在"),
        ("/qr/a%00b", {}, WECHAT, 404, "二维码不存在"),
        ("/qr/%00/alipay", {"state": NUL, "auth_code": NUL}, {}, 400, "支付宝授权无效"),
        (f"/qr/{token}/alipay", {"state": NUL, "auth_code": NUL}, {}, 400, "支付宝授权无效"),
    ]  # fmt: skip
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=30) as browser:
        for path, params, headers, status, says in probes:
            answer = await browser.get(path, params=params, headers=headers)
            assert (path, answer.status_code) == (path, status), answer.text
            assert says in answer.text
        # a forged wx (the OAuth round trip's sealed answer) only restarts the round trip
        answer = await browser.get(f"/qr/{token}", params={"wx": NUL}, headers=WECHAT)
        assert answer.status_code == 302
        assert answer.headers["location"].startswith(f"{sandbox.url}/oauth/wechat?t=")


async def test_the_console_refuses_a_nul_in_an_id(sandbox: RunningSandbox) -> None:
    paid = await sandbox.call(
        "openapi.payment.order.swipe",
        {"merchant_order_sn": "nul-paid", "auth_code": "134567890123450001", "total_fee": "0.01",
         "store_id": sandbox.info["store_id"]},
    )  # fmt: skip
    assert paid["result_code"] == 200, paid
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=30) as admin:
        assert (await log_in(admin, sandbox.info["admin_token"])).status_code == 303
        for path in ("/console/orders/%00", "/console/orders/1%00", "/console/pay/%00"):
            answer = await admin.get(path)
            assert (path, answer.status_code) == (path, 404)
            assert "找不到该页面" in answer.text
        listing = await admin.get("/console/orders")
        assert listing.text.count("data-order-sn=") == 1
        for search in (NUL, f"nul-paid{NUL}", f"{paid['data']['order_sn']}{NUL}"):
            found = await admin.get("/console/orders", params={"q": search})
            assert found.status_code == 200
            assert found.text.count("data-order-sn=") == 0  # no identifier holds a NUL
        fine = await admin.get("/console/orders", params={"q": "nul-paid"})
        assert fine.text.count("data-order-sn=") == 1
        odd = await admin.get(
            "/console/orders",
            params={key: NUL for key in ("state", "channel", "scene", "store", "date", "page")},
        )
        assert odd.status_code == 200 and odd.text.count("data-order-sn=") == 1  # ignored
        for path in (
            "/console/reconciliation?date=%00&channel=%00&notice=%00",
            "/console/reconciliation.csv?date=%00&channel=%00",
            "/console/pay-code?url=%00",
        ):
            assert (await admin.get(path)).status_code < 500, path
        csrf = hidden(listing.text, "csrf")
        for path in (
            "/console/orders/%00/refund",
            "/console/pay/%00",
            "/console/apps/%00/rotate",
            "/console/vendors/%00/rotate",
        ):
            answer = await admin.post(path, data={"csrf": csrf, "amount": "0.01"})
            assert (path, answer.status_code) == (path, 404)
            assert "找不到该页面" in answer.text
