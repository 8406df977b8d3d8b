"""A byte-identical state-changing request is executed once and answered the first answer for
24 h: sequential and concurrent repeats, refunds without merchant_refund_sn, closes, failures;
concurrent identical requests through two database handles (two gateways) run once. SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jubao.clock import system_clock
from jubao.errors import ChannelUnavailable, JubaoError
from jubao.security.idempotency import (
    ANSWER_WINDOW_MS,
    LEASE_MS,
    RequestLedger,
    claim_request,
    purge_answers,
    request_hash,
    store_answer,
)
from jubao.storage.database import open_database
from jubao.storage.sql import Row, Tx, fetch_all
from tests.security.support import post_body
from tests.support import fubei
from tests.support.sandbox import RunningSandbox, running_sandbox
from tests.support.waiting import eventually

QUERY = "openapi.payment.order.query"
REFUND = "openapi.payment.order.refund"
STATS = "openapi.payment.refund.statistics"
CLOSE = "openapi.payment.order.close"


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(
        tmp_path / "data",
        database_url=database_url,
        simulator_overrides={"time_scale": 0.01, "refund_delay_seconds": 0.05},
    ) as running:
        yield running


async def paid_order(sandbox: RunningSandbox, sn: str, fee: str) -> dict[str, Any]:
    created = await sandbox.mina(sn, fee)
    assert created["result_code"] == 200, created
    assert (await sandbox.pay(created["data"]["sign_params"])).status_code == 200

    async def is_paid() -> bool:
        answer = await sandbox.call(QUERY, {"merchant_order_sn": sn})
        return bool(answer["data"]["trade_state"] == "SUCCESS")

    await eventually(is_paid)
    data: dict[str, Any] = created["data"]
    return data


def signed(sandbox: RunningSandbox, method: str, biz: dict[str, Any]) -> bytes:
    return fubei.body(sandbox.info["app_id"], sandbox.info["app_secret"], method, biz)


async def refunded(sandbox: RunningSandbox, order_sn: str) -> Decimal:
    stats = await sandbox.call(STATS, {"order_sn": order_sn})
    assert stats["result_code"] == 200, stats
    return Decimal(str(stats["data"]["refund_money"]))


async def test_an_identical_refund_posted_four_times_refunds_once(sandbox: RunningSandbox) -> None:
    order = await paid_order(sandbox, "idem-refund", "5.00")
    body = signed(sandbox, REFUND, {"order_sn": order["order_sn"], "refund_money": "0.01"})
    answers = [await post_body(sandbox, body) for _ in range(4)]
    assert answers[0]["result_code"] == 200, answers[0]
    assert all(answer == answers[0] for answer in answers), answers
    assert await refunded(sandbox, order["order_sn"]) == Decimal("0.01")

    # concurrent identical requests: they wait for the first, one refund
    body = signed(sandbox, REFUND, {"order_sn": order["order_sn"], "refund_money": "0.02"})
    answers = await asyncio.gather(*(post_body(sandbox, body) for _ in range(8)))
    assert answers[0]["result_code"] == 200, answers[0]
    assert all(answer == answers[0] for answer in answers), answers
    assert await refunded(sandbox, order["order_sn"]) == Decimal("0.03")

    # a genuinely separate refund of the same amount: a new nonce (newly signed body)
    again = await sandbox.call(REFUND, {"order_sn": order["order_sn"], "refund_money": "0.02"})
    assert again["result_code"] == 200, again
    assert again["data"]["refund_sn"] != answers[0]["data"]["refund_sn"]
    assert await refunded(sandbox, order["order_sn"]) == Decimal("0.05")


async def test_the_first_answer_is_kept_even_when_the_state_changed(
    sandbox: RunningSandbox,
) -> None:
    created = await sandbox.mina("idem-close", "0.02")
    close = signed(sandbox, CLOSE, {"merchant_order_sn": "idem-close"})
    first = await post_body(sandbox, close)
    assert first["result_code"] == 200, first
    assert await post_body(sandbox, close) == first
    assert created["result_code"] == 200

    # a failure is an answer too: replayed, not re-run
    order = await paid_order(sandbox, "idem-fail", "0.01")
    too_much = signed(sandbox, REFUND, {"order_sn": order["order_sn"], "refund_money": "0.02"})
    refusal = await post_body(sandbox, too_much)
    assert refusal["sub_code"] == "REFUND_EXCEEDS", refusal
    assert await post_body(sandbox, too_much) == refusal

    # read-only methods are not replayed: a repeated identical query sees the new state
    stats = signed(sandbox, STATS, {"merchant_order_sn": "idem-fail"})
    before = await post_body(sandbox, stats)
    refund = await sandbox.call(REFUND, {"order_sn": order["order_sn"]})
    assert refund["result_code"] == 200, refund
    after = await post_body(sandbox, stats)
    assert after["data"]["refund_money"] != before["data"]["refund_money"], (before, after)


async def test_two_gateways_execute_an_identical_request_once(database_url: str) -> None:
    first, second = await open_database(database_url), await open_database(database_url)
    runs = 0

    async def work() -> dict[str, Any]:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.2)
        return {"refund_sn": f"R{runs}", "amount": Decimal("0.01")}

    params = {"app_id": "a1", "method": REFUND, "nonce": "n", "biz_content": "{}"}
    try:
        ledgers = [RequestLedger(first), RequestLedger(second)]
        answers = await asyncio.gather(
            *(ledgers[i % 2].once("a1", REFUND, params, work) for i in range(10))
        )
        assert runs == 1
        assert all(answer == {"refund_sn": "R1", "amount": Decimal("0.01")} for answer in answers)
        # another app, or another nonce, is another request
        await ledgers[0].once("a2", REFUND, params, work)
        await ledgers[1].once("a1", REFUND, {**params, "nonce": "m"}, work)
        assert runs == 3

        async def refuse() -> dict[str, Any]:
            raise JubaoError("退款金额超过订单剩余可退金额", sub_code="REFUND_EXCEEDS")

        failing = {**params, "nonce": "f"}
        for ledger in ledgers:
            with pytest.raises(JubaoError) as refused:
                await ledger.once("a1", REFUND, failing, refuse if ledger is ledgers[0] else work)
            assert refused.value.sub_code == "REFUND_EXCEEDS"
        assert runs == 3
    finally:
        await first.close()
        await second.close()


async def test_transient_failures_and_dead_claims_run_again(database_url: str) -> None:
    db = await open_database(database_url)
    runs: list[str] = []
    try:
        ledger = RequestLedger(db, lease_ms=300)
        params = {"app_id": "a1", "method": REFUND, "nonce": "t", "biz_content": "{}"}

        async def unavailable() -> dict[str, Any]:
            runs.append("unavailable")
            raise ChannelUnavailable()

        async def works() -> dict[str, Any]:
            runs.append("works")
            return {"ok": 1}

        # "retry the same request" after CHANNEL_UNAVAILABLE: the retry runs
        with pytest.raises(ChannelUnavailable):
            await ledger.once("a1", REFUND, params, unavailable)
        assert await ledger.once("a1", REFUND, params, works) == {"ok": 1}
        assert await ledger.once("a1", REFUND, params, unavailable) == {"ok": 1}  # answered now
        assert runs == ["unavailable", "works"]

        # a claim whose process died (no answer, lease not renewed) is taken over
        dead = {**params, "nonce": "dead"}
        assert await db.write(
            lambda: claim_request("a1", request_hash(dead), system_clock(), lease_ms=300)
        )
        assert await RequestLedger(db, lease_ms=300).once("a1", REFUND, dead, works) == {"ok": 1}
        assert runs == ["unavailable", "works", "works"]

        # a live one renews its lease while it works: nobody takes it over meanwhile
        slow_runs = 0

        async def slow() -> dict[str, Any]:
            nonlocal slow_runs
            slow_runs += 1
            await asyncio.sleep(2.5)  # longer than the lease, renewed every 2 s
            return {"slow": slow_runs}

        live = {**params, "nonce": "live"}
        ledger = RequestLedger(db, lease_ms=2_300)
        first = asyncio.ensure_future(ledger.once("a1", REFUND, live, slow))
        await asyncio.sleep(0.1)
        second = await RequestLedger(db, lease_ms=2_300).once("a1", REFUND, live, slow)
        assert second == await first == {"slow": 1} and slow_runs == 1
    finally:
        await db.close()


async def test_answers_last_a_day_then_are_purged(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        assert await db.write(lambda: claim_request("a1", "k", 1_000))
        await db.write(lambda: store_answer("a1", "k", "{}"))
        assert not await db.write(lambda: claim_request("a1", "k", 2_000))
        assert not await db.write(lambda: claim_request("a1", "k", 1_000 + LEASE_MS + 1))
        assert await db.write(lambda: claim_request("a2", "k", 2_000))  # per app
        later = 1_000 + ANSWER_WINDOW_MS  # a day later, not yet purged: a new request
        assert await db.write(lambda: claim_request("a1", "k", later))
        assert not await db.write(lambda: claim_request("a1", "k", later + 1))
        assert await db.write(lambda: purge_answers(2_000 + ANSWER_WINDOW_MS)) == 1
        assert await db.write(lambda: purge_answers(later + ANSWER_WINDOW_MS)) == 1
    finally:
        await db.close()


def test_the_key_ignores_the_sign_and_nothing_else() -> None:
    params = {"app_id": "a", "method": REFUND, "nonce": "1", "biz_content": json.dumps({})}
    assert request_hash({**params, "sign": "AB"}) == request_hash({**params, "sign": "ab"})
    assert request_hash(params) != request_hash({**params, "nonce": "2"})
    assert request_hash(params) != request_hash({**params, "extra": None})


async def test_order_creation_replays_through_its_order_without_the_ledger(
    sandbox: RunningSandbox,
) -> None:
    """mina (like h5pay, scan, Alipay.H5) answers an identical request from its order's stored
    instruction: the same first answer, even after the order closed, and no ledger row (two
    writes per order saved)."""
    biz = {"merchant_order_sn": "idem-mina", "sub_openid": sandbox.info["demo_openid"],
           "total_fee": "0.03", "store_id": sandbox.info["store_id"]}  # fmt: skip
    body = signed(sandbox, "openapi.payment.order.mina", biz)
    answers = await asyncio.gather(*(post_body(sandbox, body) for _ in range(6)))
    assert answers[0]["result_code"] == 200, answers[0]
    assert all(answer == answers[0] for answer in answers)
    closed = await sandbox.call(CLOSE, {"merchant_order_sn": "idem-mina"})
    assert closed["result_code"] == 200, closed
    assert await post_body(sandbox, body) == answers[0]

    def ledger_rows() -> Tx[list[Row]]:
        return (yield fetch_all("SELECT * FROM request_answers")).rows

    rows = await sandbox.runtime.db.read(ledger_rows)
    assert len(rows) == 1  # the close's, not the order's
