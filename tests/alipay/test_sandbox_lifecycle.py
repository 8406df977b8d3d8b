"""Issue 14 end to end: a merchant's Fubei calls reach Alipay (the real channel, the Alipay
simulator over HTTP inside the sandbox) in every scene, on SQLite and PostgreSQL: payment codes
by their last four digits (wait-then-cancel included), QR codes, Alipay.H5, query, close,
refunds, notifications to the merchant, and a lost Alipay notification recovered by query."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jubao.channels.alipay import AlipayChannel
from jubao.channels.timed import TimedChannel
from jubao.kinds import ChannelName
from jubao.payments import repository as payment_repo
from jubao.sandbox_payer import PayerRefusal, pay_order
from tests.notify.support import Receiver, running_receiver
from tests.support.cli import jubao_async
from tests.support.sandbox import RunningSandbox, running_sandbox
from tests.support.waiting import eventually

SWIPE = "openapi.payment.order.swipe"
SCAN = "openapi.payment.order.scan"
ALIPAY_H5 = "openapi.payment.Alipay.H5"
QUERY = "openapi.payment.order.query"
CLOSE = "openapi.payment.order.close"
REFUND = "openapi.payment.order.refund"
REFUND_QUERY = "openapi.payment.order.refund.query"
_codes = itertools.count(1)


def alipay_code(last_four: str) -> str:
    """A fresh Alipay payment code (18 digits starting 28) ending in ``last_four``."""
    return f"28{next(_codes):012d}{last_four}"


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(
        tmp_path / "data",
        database_url=database_url,
        alipay_overrides={"time_scale": 0.01},
        reconcile_after_seconds=0.0,
        maintenance_interval_seconds=0.05,
        barcode_pay_timeout_seconds=1.0,
        barcode_poll_seconds=0.1,
        notify_schedule=(0.05, 0.05, 0.05),
    ) as running:
        yield running


def order_biz(sandbox: RunningSandbox, sn: str, fee: str = "0.10", **biz: Any) -> dict[str, Any]:
    return {"merchant_order_sn": sn, "total_fee": fee, "store_id": sandbox.info["store_id"], **biz}


async def state(sandbox: RunningSandbox, sn: str) -> str:
    answer = await sandbox.call(QUERY, {"merchant_order_sn": sn})
    assert answer["result_code"] == 200, answer
    return str(answer["data"]["trade_state"])


async def reaches(sandbox: RunningSandbox, sn: str, wanted: str) -> None:
    async def check() -> bool:
        return await state(sandbox, sn) == wanted

    await eventually(check)


async def pay(sandbox: RunningSandbox, order_sn: str, payer: str | None = None) -> httpx.Response:
    """The sandbox payer (as ``jubao pay`` and the console's payer page use it)."""
    order = await sandbox.runtime.db.read(lambda: payment_repo.find_order_by_sn(order_sn))
    assert order is not None
    return await pay_order(sandbox.http, sandbox.info["simulators_url"], order, payer)


async def test_the_sandbox_reaches_alipay_and_describes_it(sandbox: RunningSandbox) -> None:
    timed = sandbox.runtime.channels[ChannelName.ALIPAY]
    assert isinstance(timed, TimedChannel) and isinstance(timed.inner, AlipayChannel)
    alipay = sandbox.alipay_info
    assert alipay["gateway_url"] == f"{sandbox.url}/sim/alipay/gateway.do"
    assert alipay["app_private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert alipay["alipay_public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert alipay["buyer_id"].startswith("2088") and alipay["pid"].startswith("2088")
    merchant = await sandbox.runtime.merchants.merchant(sandbox.info["merchant_id"])
    assert merchant is not None
    bound = merchant.channel(ChannelName.ALIPAY)
    assert bound is not None and bound.auth_token == alipay["app_auth_token"]
    # the simulator knows the merchant by its token: its trades are the merchant's
    created = await sandbox.call(
        SWIPE, order_biz(sandbox, "ali-who", auth_code=alipay_code("0001"))
    )
    trade = sandbox.alipay.ledger.trade(alipay["pid"], created["data"]["order_sn"])
    assert trade is not None and trade.status == "TRADE_SUCCESS"
    # the channel's notify route comes from the registry
    refused = await sandbox.http.post("/channel/alipay/notify", content=b"sign=forged")
    assert refused.text != "success"


async def test_a_payment_code_paid_at_once_then_refunded(sandbox: RunningSandbox) -> None:
    code = alipay_code("0001")
    answer = await sandbox.call(SWIPE, order_biz(sandbox, "ali-swipe", "0.30", auth_code=code))
    assert answer["result_code"] == 200, answer
    # paid at once; on a loaded machine the answer may come before the outcome (USERPAYING, then
    # the gateway's own query settles it)
    assert (
        answer["data"]["trade_state"] in ("SUCCESS", "USERPAYING") and answer["data"]["type"] == 2
    )
    await reaches(sandbox, "ali-swipe", "SUCCESS")
    data = (await sandbox.call(QUERY, {"merchant_order_sn": "ali-swipe"}))["data"]
    assert data["platform_order_no"]  # Alipay's trade_no
    assert data["user_id"].startswith("2088")
    # type 2 declared with the code agrees; a WeChat type contradicts it
    wrong = await sandbox.call(
        SWIPE, order_biz(sandbox, "ali-swipe-x", auth_code=alipay_code("0001"), type=1)
    )
    assert wrong["sub_code"] == "AUTH_CODE_TYPE_MISMATCH"

    order_sn = data["order_sn"]
    first = await sandbox.call(REFUND, {"order_sn": order_sn, "refund_money": "0.10"})
    assert first["result_code"] == 200, first
    rest = await sandbox.call(REFUND, {"order_sn": order_sn, "merchant_refund_sn": "rest"})
    assert rest["result_code"] == 200, rest
    over = await sandbox.call(REFUND, {"order_sn": order_sn, "refund_money": "0.01"})
    assert over["sub_code"] == "REFUND_EXCEEDS"
    for refund in (first, rest):
        query = {"order_sn": order_sn, "refund_sn": refund["data"]["refund_sn"]}
        settled = await sandbox.call(REFUND_QUERY, query)
        assert settled["data"]["refund_status"] == "REFUND_SUCCESS", settled
    trade = sandbox.alipay.ledger.trade(sandbox.alipay_info["pid"], order_sn)
    assert trade is not None and trade.refunded_fen == 30 and trade.status == "TRADE_CLOSED"


async def test_a_payer_typing_a_password_is_waited_for(sandbox: RunningSandbox) -> None:
    biz = order_biz(sandbox, "ali-password", auth_code=alipay_code("1111"), type=2)
    answer = await sandbox.call(SWIPE, biz)
    assert answer["result_code"] == 200, answer
    assert answer["data"]["trade_state"] in ("USERPAYING", "SUCCESS")
    await reaches(sandbox, "ali-password", "SUCCESS")


async def test_a_payer_who_never_confirms_is_cancelled(sandbox: RunningSandbox) -> None:
    answer = await sandbox.call(
        SWIPE, order_biz(sandbox, "ali-never", auth_code=alipay_code("4444"))
    )
    assert answer["data"]["trade_state"] == "USERPAYING", answer
    await reaches(sandbox, "ali-never", "REVOKED")
    trade = sandbox.alipay.ledger.trade(sandbox.alipay_info["pid"], answer["data"]["order_sn"])
    assert trade is not None and trade.status == "TRADE_CLOSED"


@pytest.mark.parametrize(
    ("last_four", "sub_code"), [("2222", "BALANCE_NOT_ENOUGH"), ("3333", "AUTH_CODE_INVALID")]
)
async def test_a_declined_code_is_a_failure_and_closes_the_order(
    sandbox: RunningSandbox, last_four: str, sub_code: str
) -> None:
    sn = f"ali-declined-{last_four}"
    answer = await sandbox.call(SWIPE, order_biz(sandbox, sn, auth_code=alipay_code(last_four)))
    assert answer["result_code"] != 200 and answer["sub_code"] == sub_code, answer
    assert await state(sandbox, sn) == "CLOSED"


async def test_scan_then_pay_notifies_the_merchant(sandbox: RunningSandbox) -> None:
    receiver: Receiver
    async with running_receiver() as receiver:
        biz = order_biz(sandbox, "ali-scan", type=2, call_back_url=receiver.callback_url)
        answer = await sandbox.call(SCAN, biz)
        assert answer["result_code"] == 200, answer
        assert answer["data"]["qr_code"].startswith("https://qr.alipay.com/"), answer
        paid = await pay(sandbox, answer["data"]["order_sn"])
        assert paid.status_code == 200 and paid.json()["resultCode"] == "9000", paid.text
        await reaches(sandbox, "ali-scan", "SUCCESS")

        async def notified() -> bool:
            return any(hit.data.get("merchant_order_sn") == "ali-scan" for hit in receiver.hits)

        await eventually(notified)
    hit = next(hit for hit in receiver.hits if hit.data["merchant_order_sn"] == "ali-scan")
    assert hit.data["trade_state"] == "SUCCESS" and hit.data["type"] == 2


async def test_alipay_h5_then_pay(sandbox: RunningSandbox) -> None:
    buyer = sandbox.alipay_info["buyer_id"]
    answer = await sandbox.call(ALIPAY_H5, order_biz(sandbox, "ali-h5", "0.02", buyer_id=buyer))
    assert answer["result_code"] == 200, answer
    data = answer["data"]
    assert set(data) >= {"order_sn", "prepay_id", "store_id", "cashier_id", "user_id"}
    assert data["user_id"] == buyer
    trade = sandbox.alipay.ledger.by_trade_no(data["prepay_id"])
    assert trade is not None and trade.buyer_id == buyer
    # an identical retry answers the same trade; another buyer under that number conflicts
    again = await sandbox.call(ALIPAY_H5, order_biz(sandbox, "ali-h5", "0.02", buyer_id=buyer))
    assert again["data"]["prepay_id"] == data["prepay_id"]
    other = "2088000000009999"
    conflict = await sandbox.call(ALIPAY_H5, order_biz(sandbox, "ali-h5", "0.02", buyer_id=other))
    assert conflict["sub_code"] == "ORDER_SN_CONFLICT"
    missing = await sandbox.call(ALIPAY_H5, order_biz(sandbox, "ali-h5-nobuyer"))
    assert missing["result_code"] != 200 and "buyer_id" in missing["result_message"]

    paid = await pay(sandbox, data["order_sn"])
    assert paid.status_code == 200, paid.text
    await reaches(sandbox, "ali-h5", "SUCCESS")
    query = await sandbox.call(QUERY, {"order_sn": data["order_sn"]})
    assert query["data"]["platform_order_no"] == data["prepay_id"]
    assert query["data"]["type"] == 2 and query["data"]["user_id"] == buyer


async def test_an_unpaid_order_closes_at_alipay_too(sandbox: RunningSandbox) -> None:
    buyer = sandbox.alipay_info["buyer_id"]
    answer = await sandbox.call(ALIPAY_H5, order_biz(sandbox, "ali-close", buyer_id=buyer))
    assert answer["result_code"] == 200, answer
    closed = await sandbox.call(CLOSE, {"merchant_order_sn": "ali-close"})
    assert closed["result_code"] == 200, closed
    assert await state(sandbox, "ali-close") == "CLOSED"
    trade = sandbox.alipay.ledger.by_trade_no(answer["data"]["prepay_id"])
    assert trade is not None and trade.status == "TRADE_CLOSED"
    with pytest.raises(PayerRefusal):  # a closed order is no longer payable
        await pay(sandbox, answer["data"]["order_sn"])


async def test_a_lost_alipay_notification_is_recovered_by_query(sandbox: RunningSandbox) -> None:
    dropped = await sandbox.http.post(
        "/sim/alipay/control/behaviour", json={"notifications": "drop"}
    )
    assert dropped.status_code == 200, dropped.text
    answer = await sandbox.call(SCAN, order_biz(sandbox, "ali-lost", type=2))
    order_sn = answer["data"]["order_sn"]
    paid = await pay(sandbox, order_sn)
    assert paid.status_code == 200, paid.text
    log = await sandbox.http.get(
        "/sim/alipay/control/notifications", params={"out_trade_no": order_sn}
    )
    assert log.status_code == 200 and log.json(), log.text  # Alipay meant to notify, and lost it
    # no notification reached jubao: the merchant's query asks Alipay
    await reaches(sandbox, "ali-lost", "SUCCESS")


async def test_jubao_pay_pays_an_alipay_order(sandbox: RunningSandbox) -> None:
    answer = await sandbox.call(SCAN, order_biz(sandbox, "ali-cli", type=2))
    order_sn = answer["data"]["order_sn"]
    options = (
        *("--data-dir", str(sandbox.settings.data_dir)),
        *("--database-url", sandbox.settings.resolved_database_url),
    )
    paid = await jubao_async(*options, "pay", order_sn, "--buyer", "cli-buyer")
    assert paid.exit_code == 0, paid.output
    assert paid.output.startswith("200 ") and '"resultCode":"9000"' in paid.output
    await reaches(sandbox, "ali-cli", "SUCCESS")
    again = await jubao_async(*options, "pay", order_sn)
    assert again.exit_code != 0  # paid: nothing left to pay
