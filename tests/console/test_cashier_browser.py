"""The aggregated QR cashier's page (``/qr/<token>``) in Debian's chromium, as each wallet's
in-app browser: the wallet's User-Agent, and the simulator's JS bridge injected before any page
script (as the wallet injects its own). Inside WeChat the page walks the official-account OAuth
round trip and pays by JSAPI; inside Alipay it walks Alipay's user authorisation and pays with
``tradePay``; any other browser is asked, in Chinese and English, to scan with a wallet. A
reload shows the same order; a paid or expired code is refused."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from jubao.clock import system_clock
from jubao.money import Fen
from jubao.payments.cashier_codes import CashierCodeRecord, CashierCodeRequest, cashier_codes_for
from jubao.storage.sql import Tx, execute, fetch_one
from tests.console.support import ADMIN_TOKEN, merchant_receiver
from tests.support.sandbox import RunningSandbox
from tests.support.waiting import wait_for

WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A; wv) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 "
    "MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/WIFI "
    "Language/zh_CN ABI/arm64"
)
ALIPAY_UA = (
    "Mozilla/5.0 (Linux; U; Android 14; zh-CN; Pixel 8 Build/UQ1A) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.2.59 Mobile Safari/537.36 "
    "AlipayChannelId/5136 NebulaSDK/1.8.100112 Nebula AlipayDefined(nt:WIFI,ws:411|0|2.625) "
    "AliApp(AP/10.5.36.8100) AlipayClient/10.5.36.8100 Language/zh-Hans Region/CN"
)
PLAIN_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)

pytestmark = pytest.mark.slow
# Waited for with a locator (Playwright's own isolated script): a string predicate is evaluated
# in the page, which the cashier page's CSP (no 'unsafe-eval') refuses once it has loaded.
PAID_SHOWN = re.compile(r"^支付完成")


async def paid_shown(page: Page) -> None:
    await expect(page.locator("#status")).to_have_text(PAID_SHOWN, timeout=15_000)


async def new_code(
    sandbox: RunningSandbox, sn: str, notify_url: str | None = None
) -> CashierCodeRecord:
    app = await sandbox.runtime.merchants.app(sandbox.info["app_id"])
    assert app is not None
    request = CashierCodeRequest(
        sn, Fen(1288), int(sandbox.info["store_id"]), body="拿铁", notify_url=notify_url
    )
    return await cashier_codes_for(sandbox.runtime.payments).create(app, request)


def code_url(sandbox: RunningSandbox, code: CashierCodeRecord) -> str:
    return f"{sandbox.url}/qr/{code.token}"


async def wallet(
    browser: Browser, user_agent: str, bridge_url: str | None = None
) -> BrowserContext:
    context = await browser.new_context(locale="zh-CN", user_agent=user_agent)
    if bridge_url is not None:
        async with httpx.AsyncClient() as http:
            bridge = await http.get(bridge_url)
        assert bridge.status_code == 200
        await context.add_init_script(script=bridge.text)
    return context


def wechat_bridge(sandbox: RunningSandbox) -> str:
    return f"{sandbox.info['simulator_url']}/weixin-jsbridge.js"


def alipay_bridge(sandbox: RunningSandbox) -> str:
    return f"{sandbox.alipay_info['simulator_url']}/alipay-jsbridge.js"


async def query(sandbox: RunningSandbox, sn: str) -> dict[str, Any]:
    answer = await sandbox.call("openapi.payment.order.query", {"merchant_order_sn": sn})
    assert answer["result_code"] == 200, answer
    data: dict[str, Any] = answer["data"]
    return data


async def status_text(page: Page) -> str:
    return (await page.text_content("#status")) or ""


async def orders_named(sandbox: RunningSandbox, sn: str) -> int:
    def count() -> Tx[int]:
        row = (
            yield fetch_one("SELECT COUNT(*) AS n FROM orders WHERE merchant_order_sn = ?", sn)
        ).first
        assert row is not None
        return int(row["n"])

    return await sandbox.runtime.db.read(count)


async def test_wechat_pays_through_the_oauth_round_trip_and_the_merchant_is_told(
    browser: Browser, sandbox: RunningSandbox
) -> None:
    async with merchant_receiver() as receiver:
        # the vendor makes the code for its merchant (Open API 2.0, service-provider level)
        made = await sandbox.agent(
            "fbpay.fixed.qrcode.create",
            {"merchant_order_sn": "qr-wx-1", "total_amount": "12.88", "body": "拿铁",
             "store_id": sandbox.info["store_id"], "notify_url": receiver.url},
        )  # fmt: skip
        assert made["result_code"] == 200, made
        url = made["data"]["qrcode_url"]
        assert url.startswith(f"{sandbox.settings.resolved_public_url}/qr/")
        assert made["data"]["merchant_order_sn"] == "qr-wx-1"
        code = await code_of(sandbox, url)
        context = await wallet(browser, WECHAT_UA, wechat_bridge(sandbox))
        page = await context.new_page()
        visited: list[str] = []
        page.on("request", lambda request: visited.append(request.url))
        await page.goto(url)
        await paid_shown(page)
        # the round trip: jubao's OAuth hop, the simulator's authorize page, back with wx=...
        assert any("/oauth/wechat?t=" in url for url in visited)
        assert any("/connect/oauth2/authorize" in url for url in visited)
        assert any(f"/qr/{code.token}?wx=" in url for url in visited)
        assert await page.text_content("#merchant") == "演示商户"
        assert await page.text_content("#store") == "演示门店"
        assert await page.text_content("#amount") == "12.88"
        assert await page.text_content("#order-sn") == code.order_sn
        order = await wait_for(
            lambda: query(sandbox, "qr-wx-1"), lambda d: d["trade_state"] == "SUCCESS"
        )
        assert order["trade_state"] == "SUCCESS"
        assert order["order_sn"] == code.order_sn
        assert order["user_id"] == sandbox.info["sub_open_id"]
        assert order["type"] == 1
        queried = await sandbox.agent("fbpay.order.query", {"merchant_order_sn": "qr-wx-1"})
        assert queried["data"]["order_status"] == "SUCCESS", queried
        assert queried["data"]["pay_type"] == "wxpay"
        # the merchant is told in 2.0's layout, signed with the vendor's secret (its creator)
        await wait_for(lambda: _received(receiver.received), bool)
        notice = receiver.received[0]
        assert json.loads(notice["data"])["order_sn"] == code.order_sn
        assert json.loads(notice["data"])["order_status"] == "SUCCESS"
        assert signed_by(notice, sandbox.info["vendor_secret"])
        # paid: the code refuses to start again, in any browser
        again = await page.goto(url)
        assert again is not None and again.status == 409
        assert (await status_text(page)).startswith("该二维码已支付")
        assert "This code has been paid" in await status_text(page)
        await context.close()


def signed_by(form: dict[str, str], secret: str) -> bool:
    """Fubei's notification signature (reference 8.3), computed here independently."""
    base = "&".join(f"{k}={form[k]}" for k in sorted(form) if k != "sign") + secret
    return hashlib.md5(base.encode()).hexdigest().upper() == form["sign"]


async def code_of(sandbox: RunningSandbox, url: str) -> CashierCodeRecord:
    found = await cashier_codes_for(sandbox.runtime.payments).find(url.rsplit("/", 1)[1])
    assert found is not None
    return found


async def _received(received: list[dict[str, str]]) -> list[dict[str, str]]:
    return received


async def test_alipay_pays_through_user_authorisation(
    browser: Browser, sandbox: RunningSandbox
) -> None:
    # the merchant's own app makes a 定额码 (Open API 2.0, merchant level)
    made = await sandbox.agent_as(
        sandbox.info["app_id"], sandbox.info["app_secret"], "fbpay.order.qrcode",
        {"merchant_order_sn": "qr-ali-1", "total_amount": "12.88",
         "store_id": sandbox.info["store_id"], "cashier_id": sandbox.info["cashier_id"]},
    )  # fmt: skip
    assert made["result_code"] == 200, made
    data = made["data"]
    assert data["qr_code"] == data["qrcode_url"]
    assert data["trade_no"] == data["order_sn"]
    assert (data["store_id"], data["cashier_id"]) == (
        sandbox.info["store_id"], sandbox.info["cashier_id"],
    )  # fmt: skip
    code = await code_of(sandbox, data["qrcode_url"])
    assert code.order_sn == data["order_sn"]
    context = await wallet(browser, ALIPAY_UA, alipay_bridge(sandbox))
    page = await context.new_page()
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    await page.goto(code_url(sandbox, code))
    await paid_shown(page)
    assert any("/sim/alipay/oauth2/publicAppAuthorize.htm" in url for url in visited)
    assert any(f"/qr/{code.token}/alipay?" in url and "auth_code=" in url for url in visited)
    assert page.url == code_url(sandbox, code)  # the single-use auth_code is not kept
    order = await wait_for(
        lambda: query(sandbox, "qr-ali-1"), lambda d: d["trade_state"] == "SUCCESS"
    )
    assert order["trade_state"] == "SUCCESS"
    assert order["order_sn"] == data["order_sn"] and order["cashier_id"] == code.cashier_id
    assert order["type"] == 2
    assert order["user_id"] == sandbox.alipay_info["buyer_id"]
    # now WeChat scans the same code: paid, refused
    other = await wallet(browser, WECHAT_UA)
    refused = await (await other.new_page()).goto(code_url(sandbox, code))
    assert refused is not None and refused.status == 409
    await other.close()
    await context.close()


async def test_another_browser_is_asked_to_scan_with_a_wallet_in_both_languages(
    browser: Browser, sandbox: RunningSandbox
) -> None:
    code = await new_code(sandbox, "qr-plain-1")
    context = await wallet(browser, PLAIN_UA)
    page = await context.new_page()
    answer = await page.goto(code_url(sandbox, code))
    assert answer is not None and answer.status == 200
    text = await status_text(page)
    assert "请使用微信或支付宝扫码付款" in text
    assert "Please scan this code with WeChat or Alipay to pay" in text
    assert await page.text_content("#merchant") == "演示商户"
    assert await page.text_content("#store") == "演示门店"
    assert await page.text_content("#amount") == "12.88"
    assert await orders_named(sandbox, "qr-plain-1") == 0  # no wallet, no order
    missing = await page.goto(f"{sandbox.url}/qr/no-such-code")
    assert missing is not None and missing.status == 404
    await context.close()


async def test_a_reload_shows_the_same_order_and_the_other_wallet_is_told(
    browser: Browser, sandbox: RunningSandbox
) -> None:
    code = await new_code(sandbox, "qr-reload-1")
    # WeChat's browser whose bridge never becomes ready: the page waits with its order
    context = await wallet(browser, WECHAT_UA)
    page = await context.new_page()
    await page.goto(code_url(sandbox, code))
    await page.wait_for_selector("#order-sn")
    first = await page.text_content("#order-sn")
    assert first == code.order_sn
    assert (await status_text(page)).startswith("正在打开微信支付")
    await page.reload()
    assert await page.text_content("#order-sn") == first
    await page.goto(code_url(sandbox, code))  # scanned again: no round trip needed now
    assert await page.text_content("#order-sn") == first
    assert await orders_named(sandbox, "qr-reload-1") == 1
    # Alipay scans the code WeChat opened: told to use WeChat, no second order
    other = await wallet(browser, ALIPAY_UA, alipay_bridge(sandbox))
    other_page = await other.new_page()
    answer = await other_page.goto(code_url(sandbox, code))
    assert answer is not None and answer.status == 409
    text = await status_text(other_page)
    assert "该二维码已在微信中打开" in text and "opened in WeChat" in text
    assert await orders_named(sandbox, "qr-reload-1") == 1
    assert (await query(sandbox, "qr-reload-1"))["trade_state"] == "USERPAYING"
    await other.close()
    await context.close()


async def test_an_expired_code_is_refused(browser: Browser, sandbox: RunningSandbox) -> None:
    code = await new_code(sandbox, "qr-expired-1")

    def expire() -> Tx[None]:
        yield execute(
            "UPDATE cashier_codes SET expire_at = ? WHERE code_id = ?",
            system_clock() - 1,
            code.code_id,
        )

    await sandbox.runtime.db.write(expire)
    for user_agent in (WECHAT_UA, ALIPAY_UA, PLAIN_UA):
        context = await wallet(browser, user_agent)
        page = await context.new_page()
        answer = await page.goto(code_url(sandbox, code))
        assert answer is not None and answer.status == 410, user_agent
        text = await status_text(page)
        assert "二维码已过期" in text and "This code has expired" in text
        assert await page.text_content("#amount") == "12.88"
        await context.close()
    assert await orders_named(sandbox, "qr-expired-1") == 0


async def test_the_consoles_sandbox_payer_opens_a_code_as_each_wallet(
    browser: Browser, sandbox: RunningSandbox
) -> None:
    wechat_code = await new_code(sandbox, "qr-console-wx")
    alipay_code = await new_code(sandbox, "qr-console-ali")
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{sandbox.url}/console/orders")
    await page.fill("input[name=token]", ADMIN_TOKEN)
    await page.click("button[type=submit]")
    await page.click("#open-code")
    for code, button, kind in (
        (wechat_code, "#open-wechat", 1),
        (alipay_code, "#open-alipay", 2),
    ):
        await page.goto(f"{sandbox.url}/console/pay-code")
        await page.fill("#code-url", code_url(sandbox, code))
        await page.click(button)
        await page.wait_for_url(f"**/console/pay/{code.order_sn}?outcome=*", timeout=15_000)
        assert await page.text_content("#pay-result") == "✓ 支付成功"
        order = await query(sandbox, code.merchant_order_sn)
        assert order["trade_state"] == "SUCCESS" and order["type"] == kind
    # a paid code: the page refuses, and the console says why
    await page.goto(f"{sandbox.url}/console/pay-code")
    await page.fill("#code-url", code_url(sandbox, wechat_code))
    await page.click("#open-alipay")
    assert "该二维码已支付" in (await page.text_content("#pay-result") or "")
    await page.fill("#code-url", f"{sandbox.url}/qr/unknown")
    await page.click("#open-wechat")
    assert await page.text_content("#pay-result") == "不是本网关的聚合码地址"
    await context.close()
