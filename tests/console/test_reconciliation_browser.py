"""The reconciliation page in a real browser (Debian's chromium), over the real sandbox: an Alipay
payment whose notification was dropped is found by a run started from the page, repaired, and
shown; the order is paid. Screenshots go to ``test-artifacts/console/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from jubao.clock import system_clock
from jubao.payments import repository as payment_repo
from jubao.payments.states import OrderState
from jubao.reconciliation import days
from jubao.sandbox_payer import pay_order
from tests.console.support import ADMIN_TOKEN, running_console_sandbox
from tests.support.sandbox import RunningSandbox

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"

pytestmark = pytest.mark.slow


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[RunningSandbox]:
    async with running_console_sandbox(
        tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        reconcile_after_seconds=3600.0,  # nobody asks Alipay about the lost payment
        pending_reconcile_seconds=3600.0,
    ) as running:
        yield running


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_a_lost_payment_is_repaired_from_the_page(
    browser: Browser, sandbox: RunningSandbox
) -> None:
    dropped = await sandbox.http.post(
        "/sim/alipay/control/behaviour", json={"notifications": "drop"}
    )
    assert dropped.status_code == 200, dropped.text
    biz = {"merchant_order_sn": "b-lost", "total_fee": "0.88", "store_id": sandbox.info["store_id"]}
    created = await sandbox.call("openapi.payment.order.scan", {**biz, "type": 2})
    order_sn = created["data"]["order_sn"]
    order = await sandbox.runtime.db.read(lambda: payment_repo.find_order_by_sn(order_sn))
    assert order is not None
    paid = await pay_order(sandbox.http, sandbox.info["simulators_url"], order, None)
    assert paid.status_code == 200, paid.text

    console = f"{sandbox.url}/console"
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    await page.goto(f"{console}/reconciliation")
    await page.fill("input[name=token]", ADMIN_TOKEN)
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("对账")
    await expect(page.locator("#no-differences")).to_be_visible()

    today = days.today(system_clock()).isoformat()
    await page.fill("#recon-run input[name=date]", today)
    await page.select_option("#recon-run select[name=channel]", "alipay")
    await page.click("#recon-run button[type=submit]")
    await expect(page.locator("#recon-notice")).to_have_text("对账完成")
    run = page.locator("table.runs tbody tr").first
    await expect(run.locator(".count-channel_only")).to_have_text("1")
    await expect(run.locator(".repaired")).to_have_text("1")
    await shot(page, "10-reconciliation-run")

    # repaired, so resolved: shown with the resolved ones, in English too
    await page.check("input[name=all]")
    await page.click("form.filters[method=get] button[type=submit]")
    row = page.locator(f'tr[data-kind="CHANNEL_ONLY"][data-order-sn="{order_sn}"]')
    await expect(row).to_contain_text("仅通道已支付")
    await expect(row.locator(".status")).to_contain_text("已补单")
    await page.click("a.lang")
    await expect(row).to_contain_text("Paid at the channel only")
    await shot(page, "11-reconciliation-differences")

    current = await sandbox.runtime.db.read(lambda: payment_repo.find_order_by_sn(order_sn))
    assert current is not None and current.state == OrderState.SUCCESS
    await page.goto(f"{console}/")
    await expect(page.locator("#differences")).to_have_text("0")
    await context.close()
