"""The console end to end in a real browser (Debian's chromium): log in, create an order through
the API, pay it on the payer page, see it paid and notified, resend the notification, refund it,
create a merchant. Screenshots of each page go to ``test-artifacts/console/``."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.console.support import (
    ADMIN_TOKEN,
    Receiver,
    merchant_receiver,
)
from tests.support.sandbox import RunningSandbox
from tests.support.waiting import eventually

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"

pytestmark = pytest.mark.slow


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with merchant_receiver() as running:
        yield running


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_pay_notify_resend_refund_in_the_browser(
    browser: Browser, sandbox: RunningSandbox, receiver: Receiver
) -> None:
    console = f"{sandbox.url}/console"
    created = await sandbox.mina("console-1", "0.01", body="拿铁咖啡", call_back_url=receiver.url)
    assert created["result_code"] == 200, created
    order_sn = created["data"]["order_sn"]

    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()

    # log in (a page behind the login first sends us there), in Chinese, then switch to English
    await page.goto(f"{console}/orders")
    await expect(page.locator("h1")).to_have_text("登录")
    await shot(page, "01-login")
    await page.fill("input[name=token]", "wrong")
    await page.click("button[type=submit]")
    await expect(page.locator(".alert.error")).to_have_text("令牌不正确")
    await page.fill("input[name=token]", ADMIN_TOKEN)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{console}/orders")
    await page.click("a.lang")
    await expect(page.locator("h1")).to_have_text("Orders")

    # the new order is listed, unpaid
    row = page.locator(f'tr[data-order-sn="{order_sn}"]')
    await expect(row).to_contain_text("console-1")
    await expect(row).to_contain_text("Awaiting payment")
    await shot(page, "02-orders-unpaid")

    # pay it on the payer page
    await row.locator("a").click()
    await page.click("text=Pay as the payer")
    await expect(page.locator("#pay-amount")).to_have_text("0.01")
    await shot(page, "03-payer")
    await page.click("#pay-button")
    await expect(page.locator("#pay-result")).to_contain_text("Payment successful")
    await shot(page, "04-payer-paid")

    # the list shows it paid
    await page.goto(f"{console}/orders?state=SUCCESS")
    await expect(page.locator(f'tr[data-order-sn="{order_sn}"]')).to_contain_text("Paid")
    await shot(page, "05-orders-paid")

    # the detail shows the delivered notification with its attempt
    await page.goto(f"{console}/orders/{order_sn}")
    attempts = page.locator("article.notification tr.attempt")

    async def attempts_shown(count: int) -> bool:
        await page.reload()
        return await attempts.count() >= count

    await eventually(lambda: attempts_shown(1), interval=0.3)
    await expect(page.locator("article.notification .status")).to_have_text("DELIVERED")
    await expect(attempts.first).to_contain_text("200")
    await expect(attempts.first).to_contain_text("success")
    await expect(page.locator(".timeline")).to_contain_text("Merchant notified")
    assert json.loads(receiver.received[0]["data"])["order_sn"] == order_sn

    # resend it: a second attempt arrives
    await page.click("article.notification button:has-text('Resend')")
    await expect(page.locator(".alert.ok")).to_contain_text("queued to be sent again")
    await eventually(lambda: attempts_shown(2), interval=0.3)
    assert len(receiver.received) >= 2
    await expect(page.locator(".timeline")).to_contain_text("Notification resent")

    # refund it; asking for more than was paid is refused with the service's message
    await page.fill("input[name=amount]", "0.02")
    await page.click("button:has-text('Refund')")
    await expect(page.locator("#refund-error")).to_contain_text("退款金额超过订单剩余可退金额")
    await page.fill("input[name=amount]", "0.01")
    await page.click("button:has-text('Refund')")
    await expect(page.locator(".alert.ok")).to_contain_text("Refund submitted")
    await expect(page.locator("table.refunds tbody tr")).to_have_count(1)
    await expect(page.locator("table.refunds")).to_contain_text("0.01")

    async def refund_settled() -> bool:
        await page.reload()
        return "SUCCESS" in (await page.locator("table.refunds").text_content() or "")

    await eventually(refund_settled, within=30, interval=0.3)
    await expect(page.locator(".timeline")).to_contain_text("Refund succeeded")
    await shot(page, "06-order-detail")
    refunds = await sandbox.call("openapi.payment.refund.statistics", {"order_sn": order_sn})
    assert refunds["data"]["refund_num"] == 1, refunds
    await expect(page.locator("form.refund")).to_have_count(0)  # nothing left to refund

    # the dashboard counts it
    await page.goto(f"{console}/")
    await expect(page.locator("#today-orders")).to_have_text("1")
    await expect(page.locator("#today-paid")).to_have_text("0.01")
    await expect(page.locator("#success-rate")).to_have_text("100.0%")
    await shot(page, "07-dashboard")

    # a merchant: create it (with its app, secret shown once), then rotate the secret
    await page.goto(f"{console}/merchants")
    form = page.locator("#create-merchant")
    await form.locator("input[name=name]").fill("Console Café")
    await form.locator("input[name=sub_mchid]").fill("1900012345")
    await form.locator("input[name=sub_appid]").fill("wx00000000000000aa")
    await form.locator("button").click()
    secret = await page.locator("#app-secret").text_content()
    app_id = await page.locator("#app-id").text_content()
    assert secret and app_id and re.fullmatch(r"[0-9a-f]{32}", secret)
    await shot(page, "08-secret")
    await page.click("text=Back to merchants")
    await expect(page.locator(f'tr[data-app-id="{app_id}"]')).to_be_visible()
    assert secret not in await page.content()
    await shot(page, "09-merchants")
    await page.locator(f'tr[data-app-id="{app_id}"] button').click()
    rotated = await page.locator("#app-secret").text_content()
    assert rotated and rotated != secret
    sandbox.runtime.merchants.forget(app_id)
    app = await sandbox.runtime.merchants.app(app_id)
    assert app is not None and app.app_secret == rotated

    await context.close()


async def test_vendors_and_api_generations_in_the_browser(
    browser: Browser, sandbox: RunningSandbox
) -> None:
    """Open API 2.0 in the console: the sandbox's demo vendor, a new vendor whose secret is shown
    once, and an order created by a vendor through /gateway/agent marked 2.0."""
    console = f"{sandbox.url}/console"
    created = await sandbox.agent(
        "fbpay.order.pay",
        {"merchant_order_sn": "console-v2", "auth_code": "134567890123410000",
         "total_amount": "0.03"},
    )  # fmt: skip
    assert created["result_code"] == 200, created
    order_sn = created["data"]["order_sn"]

    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{console}/vendors")
    await page.fill("input[name=token]", ADMIN_TOKEN)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{console}/vendors")
    demo = page.locator(f'tr[data-vendor-sn="{sandbox.info["vendor_sn"]}"]')
    await expect(demo).to_contain_text("演示服务商")
    assert sandbox.info["vendor_secret"] not in await page.content()

    form = page.locator("#create-vendor")
    await form.locator("input[name=name]").fill("浏览器服务商")
    await form.locator("button").click()
    vendor_sn = await page.locator("#vendor-sn").text_content()
    secret = await page.locator("#vendor-secret").text_content()
    assert vendor_sn and secret and re.fullmatch(r"[0-9a-f]{32}", secret)
    await shot(page, "10-vendor-secret")
    await page.click("text=返回服务商列表")
    await expect(page.locator(f'tr[data-vendor-sn="{vendor_sn}"]')).to_contain_text("浏览器服务商")
    assert secret not in await page.content()
    await shot(page, "11-vendors")

    await page.goto(f"{console}/orders")
    row = page.locator(f'tr[data-order-sn="{order_sn}"]')
    await expect(row.locator("td.api")).to_have_text("2.0")
    await row.locator("a").click()
    await expect(page.locator("#order-api")).to_have_text("2.0")
    await expect(page.locator("#order-creator")).to_have_text(
        f"vendor_sn {sandbox.info['vendor_sn']}"
    )
    await context.close()
