"""The aggregated QR cashier's 2.0 methods through the sandbox, on both databases:
``fbpay.fixed.qrcode.create`` and ``fbpay.order.qrcode`` answer the page's absolute address,
replay and conflict like orders (2.0's result codes), refuse bad input with 9996 and other
merchants with 1004; the page itself answers each wallet by its User-Agent (no browser here: the
browser flows are in tests/console/test_cashier_browser.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.test_open_api_v2 import HOSTILE_VALUES
from tests.support.sandbox import RunningSandbox, running_sandbox

FIXED = "fbpay.fixed.qrcode.create"
ORDER_QRCODE = "fbpay.order.qrcode"
WECHAT_UA = "Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0.47.2560(0x28002F35) WeChat"
ALIPAY_UA = "Mozilla/5.0 (Linux; Android 14) AliApp(AP/10.5.36.8100) AlipayClient/10.5.36.8100"


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(tmp_path / "data", database_url=database_url) as running:
        yield running


def biz(sandbox: RunningSandbox, sn: str, **extra: Any) -> dict[str, Any]:
    return {
        "merchant_order_sn": sn,
        "total_amount": "8.80",
        "store_id": sandbox.info["store_id"],
        "body": "早餐",
        **extra,
    }


async def page(sandbox: RunningSandbox, url: str, user_agent: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(url, headers={"User-Agent": user_agent})


async def test_a_fixed_code_answers_its_page_and_replays(sandbox: RunningSandbox) -> None:
    made = await sandbox.agent(FIXED, biz(sandbox, "fx-1", expired_time=300))
    assert made["result_code"] == 200, made
    url = made["data"]["qrcode_url"]
    assert url.startswith(f"{sandbox.settings.resolved_public_url}/qr/")
    assert made["data"] == {"qrcode_url": url, "merchant_order_sn": "fx-1"}
    again = await sandbox.agent(FIXED, biz(sandbox, "fx-1", expired_time=300))
    assert again["data"] == made["data"]  # the same code
    conflict = await sandbox.agent(FIXED, biz(sandbox, "fx-1", total_amount="8.81"))
    assert conflict["result_code"] == 2 and conflict["sub_code"] == "ORDER_SN_CONFLICT"
    shown = await page(sandbox, url, "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
    assert shown.status_code == 200
    assert "请使用微信或支付宝扫码付款" in shown.text and "scan this code with WeChat" in shown.text
    assert "演示商户" in shown.text and "演示门店" in shown.text and "8.80" in shown.text
    assert "default-src 'none'" in shown.headers["content-security-policy"]
    # before a wallet opens it there is no order to query
    missing = await sandbox.agent("fbpay.order.query", {"merchant_order_sn": "fx-1"})
    assert missing["result_code"] == 400 and missing["sub_code"] == "ORDER_NOT_FOUND"


async def test_the_order_qrcode_reserves_its_order_and_may_name_a_wallet(
    sandbox: RunningSandbox,
) -> None:
    made = await sandbox.agent(ORDER_QRCODE, biz(sandbox, "oq-1", pay_type="alipay"))
    assert made["result_code"] == 200, made
    data = made["data"]
    assert data["order_sn"] == data["trade_no"] and len(data["order_sn"]) == 20
    assert data["qr_code"] == data["qrcode_url"]
    assert data["store_id"] == sandbox.info["store_id"] and data["cashier_id"] == 0
    # pay_type alipay: WeChat is sent to Alipay, before any OAuth
    inside_wechat = await page(sandbox, data["qrcode_url"], WECHAT_UA)
    assert inside_wechat.status_code == 409
    assert "请使用支付宝扫码付款" in inside_wechat.text
    # inside Alipay: off to Alipay's user authorisation (the simulator's page)
    inside_alipay = await page(sandbox, data["qrcode_url"], ALIPAY_UA)
    assert inside_alipay.status_code == 302
    assert "/sim/alipay/oauth2/publicAppAuthorize.htm?" in inside_alipay.headers["location"]
    assert "scope=auth_base" in inside_alipay.headers["location"]


async def test_bad_requests_are_refused_in_2_0_terms(sandbox: RunningSandbox) -> None:
    for bad, word in (
        ({"expired_time": 30}, "expired_time"),
        ({"expired_time": "soon"}, "expired_time"),
        ({"total_amount": "0"}, "total_amount"),
        ({"notify_url": "ftp://x"}, "notify_url"),
    ):
        answer = await sandbox.agent(FIXED, biz(sandbox, "bad-1", **bad))
        assert answer["result_code"] == 9996, (bad, answer)
        assert word in answer["result_message"]
    wrong_type = await sandbox.agent(ORDER_QRCODE, biz(sandbox, "bad-2", pay_type="cash"))
    assert wrong_type["result_code"] == 9996 and "pay_type" in wrong_type["result_message"]
    no_store = await sandbox.agent(FIXED, biz(sandbox, "bad-3", store_id=999_999))
    assert no_store["result_code"] == 400 and no_store["sub_code"] == "STORE_NOT_FOUND"
    other = await sandbox.agent(FIXED, {**biz(sandbox, "bad-4"), "merchant_id": 999_999})
    assert other["result_code"] == 1004
    swiped = await sandbox.agent(
        "fbpay.order.pay", biz(sandbox, "used-1", auth_code="134567890123450000")
    )
    assert swiped["result_code"] == 200, swiped
    taken = await sandbox.agent(FIXED, biz(sandbox, "used-1"))
    assert taken["result_code"] == 2 and taken["sub_code"] == "ORDER_SN_CONFLICT"


async def test_the_page_refuses_unknown_codes_and_stale_alipay_returns(
    sandbox: RunningSandbox,
) -> None:
    made = await sandbox.agent(FIXED, biz(sandbox, "fx-2"))
    url = made["data"]["qrcode_url"]
    unknown = await page(sandbox, f"{sandbox.url}/qr/nope", WECHAT_UA)
    assert unknown.status_code == 404 and "二维码不存在" in unknown.text
    forged = await page(sandbox, f"{url}/alipay?auth_code=x&state=1.abc", ALIPAY_UA)
    assert forged.status_code == 400 and "支付宝授权无效" in forged.text
    # a forged wx identity is not trusted: back to the OAuth round trip
    wechat = await page(sandbox, f"{url}?wx=eyJpIjoieCJ9.forged", WECHAT_UA)
    assert wechat.status_code == 302 and "/oauth/wechat?t=" in wechat.headers["location"]


async def test_the_wechat_round_trip_returns_a_sealed_identity_to_the_page(
    sandbox: RunningSandbox,
) -> None:
    """Following WeChat's redirects by hand: the page sends the browser through jubao's OAuth hop
    and the simulator's authorise page (both official accounts), and gets the openids back sealed
    in ``wx``; the sealed identity opens the page's order and is no round-trip token."""
    made = await sandbox.agent(FIXED, biz(sandbox, "fx-3"))
    url = made["data"]["qrcode_url"]
    hops = [url]
    async with httpx.AsyncClient(headers={"User-Agent": WECHAT_UA}) as http:
        answer = await http.get(url)
        while answer.status_code == 302:
            hops.append(answer.headers["location"])
            answer = await http.get(hops[-1])
        assert answer.status_code == 200, answer.text
        assert sum("/connect/oauth2/authorize" in hop for hop in hops) == 2  # sp, then sub
        back = hops[-1]
        assert back.startswith(f"{url}?wx=")
        assert sandbox.info["sub_open_id"] not in back  # sealed, not in the clear
        assert "正在打开微信支付" in answer.text and "getBrandWCPayRequest" in answer.text
        order = await sandbox.agent("fbpay.order.query", {"merchant_order_sn": "fx-3"})
        assert order["data"]["user_id"] == sandbox.info["sub_open_id"], order
        assert order["data"]["order_status"] == "USERPAYING"
        sealed = back.split("?wx=", 1)[1]
        misused = await http.get(f"{sandbox.url}/oauth/wechat", params={"t": sealed})
        assert misused.status_code == 400


async def test_alipays_return_opens_the_order_once_and_a_reload_goes_to_the_page(
    sandbox: RunningSandbox,
) -> None:
    made = await sandbox.agent(FIXED, biz(sandbox, "fx-4"))
    url = made["data"]["qrcode_url"]
    hops = [url]
    async with httpx.AsyncClient(headers={"User-Agent": ALIPAY_UA}) as http:
        answer = await http.get(url)
        while answer.status_code == 302:
            hops.append(answer.headers["location"])
            answer = await http.get(hops[-1])
        assert answer.status_code == 200, answer.text
        back = next(hop for hop in hops if f"{url}/alipay?" in hop)
        assert "auth_code=" in back and hops[-1] == url
        assert "正在打开支付宝" in answer.text and "tradePay" in answer.text
        order = await sandbox.agent("fbpay.order.query", {"merchant_order_sn": "fx-4"})
        assert order["data"]["user_id"] == sandbox.alipay_info["buyer_id"], order
        assert order["data"]["pay_type"] == "alipay"
        # the return reloaded (its auth_code spent): straight to the page, no second exchange
        again = await http.get(back)
        assert again.status_code == 302 and again.headers["location"] == url


async def test_hostile_addresses_never_break_the_page(sandbox: RunningSandbox) -> None:
    made = await sandbox.agent(FIXED, biz(sandbox, "fx-5"))
    url = made["data"]["qrcode_url"]
    hostile = [
        f"{sandbox.url}/qr/{'x' * 500}",
        f"{sandbox.url}/qr/%E2%98%83",
        f"{sandbox.url}/qr/%00",
        f"{url}?wx=%E2%98%83.%E2%98%83",
        f"{url}?wx={'a' * 5000}.b",
        f"{url}/alipay?state=%E2%98%83.%E2%98%83&auth_code=x",
        f"{url}/alipay?state=1.{'a' * 32}&auth_code={'c' * 5000}",
        f"{url}/alipay",
        f"{sandbox.url}/oauth/wechat?t=%E2%98%83.%E2%98%83",
        f"{sandbox.url}/oauth/wechat/back?t=%E2%98%83.x&hop=sp&code=c",
    ]
    for user_agent in (WECHAT_UA, ALIPAY_UA):
        for address in hostile:
            answer = await page(sandbox, address, user_agent)
            assert answer.status_code < 500, (address, answer.status_code, answer.text[:200])


@pytest.mark.slow
async def test_hostile_business_fields_never_fail_the_cashier_methods(
    sandbox: RunningSandbox,
) -> None:
    """Both methods with each of their fields replaced by every hostile value of the 2.0 suite:
    a well-formed failure with a documented result_code, or a code; never SYSTEM_ERROR or 500."""
    fields = [
        "merchant_order_sn", "total_amount", "store_id", "cashier_id", "pay_type", "notify_url",
        "body", "attach", "expired_time", "merchant_id",
    ]  # fmt: skip
    for method in (FIXED, ORDER_QRCODE):
        for number, name in enumerate(fields):
            for value in HOSTILE_VALUES:
                request = {
                    "merchant_id": sandbox.info["merchant_id"],
                    **biz(sandbox, f"hostile-{number}"),
                    name: value,
                }
                text = json.dumps(request).replace("Infinity", "1e400")
                answer = await sandbox.agent(method, text)
                if answer["result_code"] == 200:
                    continue  # some values are fine for some fields (an empty body, ...)
                assert answer["result_code"] in {9996, 1004, 2, 400}, (method, name, value, answer)
                assert answer["sub_code"] not in ("SYSTEM_ERROR", ""), (method, name, value)
