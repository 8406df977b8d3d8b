"""The console's reconciliation page without a browser, on SQLite and PostgreSQL: a run from the
page repairs a payment the channel took, the dashboard flags what stays open, the CSV holds the
differences, an operator closes one."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from jubao.channels.base import ChannelTransaction, StatementLine, TradeStatus, TransactionEvent
from jubao.clock import system_clock
from jubao.kinds import ChannelName
from jubao.payments import repository as payment_repo
from jubao.payments.states import OrderState
from jubao.reconciliation import days
from jubao.web.console.reconciliation import csv_cell
from tests.console.support import ConsoleWorld, build_world, client_for, hidden, log_in
from tests.console.test_console_pages import create_order
from tests.notify.support import notifications_of

TODAY = days.today(system_clock()).isoformat()


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[ConsoleWorld]:
    built = await build_world(tmp_path / "data", database_url=database_url)
    try:
        yield built
    finally:
        await built.runtime.stop()


@pytest.fixture
async def admin(world: ConsoleWorld) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(world) as http:
        assert (await log_in(http)).status_code == 303
        yield http


async def pay(world: ConsoleWorld, order_sn: str, fen: int) -> None:
    paid = ChannelTransaction(
        order_sn, TradeStatus.PAID, fen, f"42{order_sn}", datetime.now(UTC), "oPayer"
    )
    await world.runtime.payments.handle_channel_event(
        ChannelName.WECHATPAY, TransactionEvent("evt", paid)
    )


async def run_from_the_page(admin: httpx.AsyncClient) -> httpx.Response:
    page = await admin.get("/console/reconciliation")
    assert page.status_code == 200
    return await admin.post(
        "/console/reconciliation/run",
        data={"csrf": hidden(page.text, "csrf"), "date": TODAY, "channel": "wechatpay"},
    )


async def test_a_run_from_the_page_repairs_and_flags(
    world: ConsoleWorld, admin: httpx.AsyncClient
) -> None:
    lost = await create_order(world, "recon-lost", 300)  # paid at the channel, never told
    booked = await create_order(world, "recon-booked", 500)  # paid here, missing upstream
    await pay(world, booked, 500)
    world.channel.statement = [StatementLine(lost, f"42{lost}", 300, merchant_id="1900000001")]
    dashboard = await admin.get("/console/")
    assert 'id="open-differences"' not in dashboard.text

    ran = await run_from_the_page(admin)
    assert ran.status_code == 303 and "notice=ran" in ran.headers["location"]
    order = await world.runtime.db.read(lambda: payment_repo.find_order_by_sn(lost))
    assert order is not None and order.state == OrderState.SUCCESS

    page = await admin.get("/console/reconciliation")
    assert 'data-kind="JUBAO_ONLY"' in page.text and f'data-order-sn="{booked}"' in page.text
    assert 'data-kind="CHANNEL_ONLY"' not in page.text  # repaired: resolved, shown on request
    everything = await admin.get("/console/reconciliation", params={"all": "1"})
    assert 'data-kind="CHANNEL_ONLY"' in everything.text and "仅通道已支付" in everything.text
    assert '<td class="num repaired">1</td>' in page.text

    dashboard = await admin.get("/console/")
    assert 'id="open-differences"' in dashboard.text and "1 条未处理的差异" in dashboard.text

    exported = await admin.get("/console/reconciliation.csv", params={"all": "1"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert sorted((r["kind"], r["order_sn"], r["resolved"]) for r in rows) == [
        ("CHANNEL_ONLY", lost, "1"),
        ("JUBAO_ONLY", booked, "0"),
    ]
    assert {r["order_sn"]: r["channel_yuan"] or r["jubao_yuan"] for r in rows} == {
        lost: "3.00",
        booked: "5.00",
    }

    # the operator looked into it and closes it
    action = page.text.split('action="/console/reconciliation/differences/')[1].split('"')[0]
    closed = await admin.post(
        f"/console/reconciliation/differences/{action}",
        data={"csrf": hidden(page.text, "csrf"), "resolution": "通道次日补记"},
    )
    assert closed.status_code == 303
    dashboard = await admin.get("/console/")
    assert 'id="open-differences"' not in dashboard.text
    everything = await admin.get("/console/reconciliation", params={"all": "1"})
    assert "通道次日补记" in everything.text

    # a second run changes nothing: the repaired order matches, the notification stays one
    again = await run_from_the_page(admin)
    assert again.status_code == 303
    assert len(await world.runtime.db.read(lambda: notifications_of(lost))) == 1
    again_order = await world.runtime.db.read(lambda: payment_repo.find_order_by_sn(lost))
    assert again_order == order


async def test_a_bad_date_is_refused_in_words(
    world: ConsoleWorld, admin: httpx.AsyncClient
) -> None:
    page = await admin.get("/console/reconciliation", headers={"Accept-Language": "en"})
    for bad in ("", "2026-13-01", "9999-01-01"):
        answer = await admin.post(
            "/console/reconciliation/run",
            data={"csrf": hidden(page.text, "csrf"), "date": bad},
        )
        assert answer.status_code == 422 and "今天或之前的日期" in answer.text


def test_csv_cells_are_never_formulas() -> None:
    assert [csv_cell(text) for text in ("=1+1", "+86", "-2", "@SUM(A1)", "4200000001", "")] == [
        "'=1+1",
        "'+86",
        "'-2",
        "'@SUM(A1)",
        "4200000001",
        "",
    ]
