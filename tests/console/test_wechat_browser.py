"""Inside the simulated WeChat browser (Debian's chromium plus the simulator's WeixinJSBridge,
injected before any page script as WeChat injects its own): the hosted ``/paypage`` pays an
``h5pay`` order and returns to the merchant, and the ``auth.auth`` OAuth round trip comes back
with ``open_id`` and ``sub_open_id``."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext

from tests.support.sandbox import RunningSandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


async def wechat_browser(browser: Browser, sandbox: RunningSandbox) -> BrowserContext:
    async with httpx.AsyncClient() as http:
        bridge = await http.get(f"{sandbox.info['simulator_url']}/weixin-jsbridge.js")
    assert bridge.status_code == 200
    context = await browser.new_context(locale="zh-CN")
    await context.add_init_script(script=bridge.text)
    return context


async def h5pay(sandbox: RunningSandbox, sn: str) -> dict[str, str]:
    answer = await sandbox.call(
        "openapi.payment.order.h5pay",
        {"merchant_order_sn": sn, "sub_open_id": sandbox.info["sub_open_id"],
         "total_fee": "0.09", "store_id": sandbox.info["store_id"]},
    )  # fmt: skip
    assert answer["result_code"] == 200, answer
    data: dict[str, str] = answer["data"]
    return data


async def trade_state(sandbox: RunningSandbox, sn: str) -> str:
    answer = await sandbox.call("openapi.payment.order.query", {"merchant_order_sn": sn})
    state: str = answer["data"]["trade_state"]
    return state


def paypage_url(sandbox: RunningSandbox, prepay_id: str) -> str:
    query = urlencode(
        {
            "prepay_id": prepay_id,
            "callback_url": f"{sandbox.url}/healthz?paid=1",
            "cancel_url": f"{sandbox.url}/healthz?cancelled=1",
        }
    )
    return f"{sandbox.url}/paypage?{query}"


async def test_the_paypage_pays_inside_wechat_and_returns_to_the_merchant(
    browser: Browser, sandbox: RunningSandbox
) -> None:
    order = await h5pay(sandbox, "paypage-1")
    context = await wechat_browser(browser, sandbox)
    page = await context.new_page()
    await page.goto(paypage_url(sandbox, order["prepay_id"]))
    await page.wait_for_url("**/healthz?paid=1", timeout=15_000)
    paid = await wait_for(lambda: trade_state(sandbox, "paypage-1"), lambda s: s == "SUCCESS")
    assert paid == "SUCCESS"
    # paid now: the page refuses to start it again
    again = await page.goto(paypage_url(sandbox, order["prepay_id"]))
    assert again is not None and again.status == 409
    await context.close()


async def test_the_paypage_returns_to_cancel_url_when_wechat_fails(
    browser: Browser, sandbox: RunningSandbox
) -> None:
    order = await h5pay(sandbox, "paypage-2")
    sandbox.simulator.set_behaviour(out_trade_no=order["order_sn"], payment="fail")
    context = await wechat_browser(browser, sandbox)
    page = await context.new_page()
    await page.goto(paypage_url(sandbox, order["prepay_id"]))
    await page.wait_for_url("**/healthz?cancelled=1", timeout=15_000)
    assert await trade_state(sandbox, "paypage-2") == "USERPAYING"
    await context.close()


async def test_the_paypage_outside_wechat_asks_to_open_it_in_wechat(
    browser: Browser, sandbox: RunningSandbox
) -> None:
    order = await h5pay(sandbox, "paypage-3")
    context = await browser.new_context(locale="zh-CN")  # no bridge: an ordinary browser
    page = await context.new_page()
    await page.goto(paypage_url(sandbox, order["prepay_id"]))
    assert await page.text_content("#status") == "请在微信中打开此页面"
    bad = await page.goto(f"{sandbox.url}/paypage?prepay_id=x&callback_url=javascript:1")
    assert bad is not None and bad.status == 400
    await context.close()


async def test_the_oauth_round_trip_in_the_browser(
    browser: Browser, sandbox: RunningSandbox
) -> None:
    answer = await sandbox.call(
        "openapi.payment.auth.auth",
        {"url": f"{sandbox.url}/healthz?from=auth", "store_id": sandbox.info["store_id"]},
    )
    assert answer["result_code"] == 200, answer
    context = await wechat_browser(browser, sandbox)
    page = await context.new_page()
    await page.goto(answer["data"]["authUrl"])
    await page.wait_for_url("**/healthz?from=auth&*", timeout=15_000)
    params = parse_qs(urlsplit(page.url).query)
    assert params["open_id"] == [sandbox.info["open_id"]]
    assert params["sub_open_id"] == [sandbox.info["sub_open_id"]]
    await context.close()
