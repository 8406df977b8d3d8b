"""Reconciliation runs on SQLite and PostgreSQL, over a channel whose statement the test writes:
runs are stored, a re-run resolves what it no longer finds, a statement that cannot be had fails
the run, and the morning's scheduled run is claimed once per day and channel by several workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from jubao.channels.base import ChannelBinding, StatementLine
from jubao.clock import system_clock
from jubao.errors import ChannelUnavailable
from jubao.kinds import ChannelName
from jubao.observe.heartbeat import notification_health
from jubao.observe.metrics import exposition
from jubao.payments import repository as payment_repo
from jubao.reconciliation import days
from jubao.reconciliation import repository as repo
from jubao.reconciliation.classify import DifferenceKind
from jubao.reconciliation.records import RunStatus
from jubao.reconciliation.service import RETRY_MS, Reconciler
from jubao.runtime import Runtime, build_runtime, schedule_reconciliation
from tests.console.support import FakeChannel
from tests.notify.support import Shop, fast_settings, open_shop
from tests.support.waiting import eventually

TODAY = days.today(system_clock())


class StatementChannel(FakeChannel):
    """The fake channel with a statement the test sets (or a failure), counting requests."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[StatementLine] = []
        self.failure: Exception | None = None
        self.asked: list[tuple[date, str | None]] = []

    async def fetch_statement(
        self, day: date, binding: ChannelBinding | None = None
    ) -> list[StatementLine]:
        self.asked.append((day, binding.merchant_id if binding else None))
        await asyncio.sleep(0.01)  # let a concurrent worker interleave
        if self.failure is not None:
            raise self.failure
        return list(self.lines)


@dataclass
class World:
    runtime: Runtime
    channel: StatementChannel
    shop: Shop

    def reconciler(self, clock: int | None = None) -> Reconciler:
        rt = self.runtime
        return Reconciler(
            rt.db,
            rt.channels,
            rt.merchants,
            rt.payments,
            (lambda: clock) if clock is not None else system_clock,
        )


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    channel = StatementChannel()
    runtime = await build_runtime(
        fast_settings(database_url=database_url), channel, maintenance=False
    )
    try:
        yield World(runtime, channel, await open_shop(runtime.db))
    finally:
        await runtime.stop()


async def paid_order_sn(world: World, total_fen: int) -> str:
    # no dispatcher runs here: the notification stays in the outbox
    await world.shop.paid_order("http://127.0.0.1:9/notify", total_fen)
    return f"2024010112000{world.shop.counter:07d}"


async def test_a_rerun_resolves_what_it_no_longer_finds(world: World) -> None:
    order_sn = await paid_order_sn(world, 500)
    reconciler = world.reconciler()
    first = await reconciler.run(TODAY, ChannelName.WECHATPAY)
    assert first.run.status == RunStatus.DONE
    assert first.run.counts[DifferenceKind.JUBAO_ONLY] == 1
    assert [(d.kind, d.order_sn, d.jubao_fen, d.resolved) for d in first.differences] == [
        (DifferenceKind.JUBAO_ONLY, order_sn, 500, False)
    ]
    assert world.channel.asked == [(TODAY, "1900000109")]  # the bound merchant's statement
    assert await world.runtime.db.read(repo.open_difference_count) == 1
    scraped = exposition(await notification_health(world.runtime.db)).decode()
    assert "jubao_reconciliation_open_differences 1.0" in scraped  # what the alert watches

    world.channel.lines = [StatementLine(order_sn, "4200000001", 500, merchant_id="1900000109")]
    second = await reconciler.run(TODAY, ChannelName.WECHATPAY)
    assert second.run.counts[DifferenceKind.MATCHED] == 1 and second.differences == []
    assert await world.runtime.db.read(repo.open_difference_count) == 0
    assert (await notification_health(world.runtime.db)).open_differences == 0
    [kept] = await world.runtime.db.read(lambda: repo.differences(day=TODAY))
    assert kept.resolved and str(second.run.run_id) in kept.resolution
    runs = await world.runtime.db.read(repo.list_runs)
    assert [run.run_id for run in runs] == [second.run.run_id, first.run.run_id]


async def test_an_amount_that_differs_stays_open_and_is_not_repaired(world: World) -> None:
    order_sn = await paid_order_sn(world, 500)
    world.channel.lines = [StatementLine(order_sn, "4200000001", 499)]
    for _ in range(2):
        outcome = await world.reconciler().run(TODAY, ChannelName.WECHATPAY)
        assert [(d.kind, d.channel_fen, d.jubao_fen) for d in outcome.differences] == [
            (DifferenceKind.AMOUNT_DIFFERS, 499, 500)
        ]
    assert await world.runtime.db.read(repo.open_difference_count) == 1
    order = await world.runtime.db.read(lambda: payment_repo.find_order_by_sn(order_sn))
    assert order is not None and order.total_fen == 500


async def test_a_statement_that_cannot_be_had_fails_the_run(world: World) -> None:
    world.channel.failure = ChannelUnavailable("微信支付：账单尚未生成")
    outcome = await world.reconciler().run(TODAY, ChannelName.WECHATPAY)
    assert outcome.run.status == RunStatus.FAILED and "账单尚未生成" in outcome.run.error
    assert outcome.differences == [] and outcome.run.finished_at is not None


async def test_an_unexpected_failure_is_recorded_and_raised(world: World) -> None:
    world.channel.failure = RuntimeError("a bug")
    with pytest.raises(RuntimeError):
        await world.reconciler().run(TODAY, ChannelName.WECHATPAY)
    [run] = await world.runtime.db.read(repo.list_runs)
    assert run.status == RunStatus.FAILED and run.error == "UNEXPECTED: RuntimeError"


async def test_the_morning_run_is_claimed_once_per_day_and_channel(world: World) -> None:
    start, _ = days.window(TODAY)
    morning = start + 10 * 3_600_000 + 60_000  # 10:01 China time
    yesterday = TODAY - timedelta(days=1)
    # too early: nothing is due
    assert await world.reconciler(start + 9 * 3_600_000).run_due(10) == []
    # a statement not ready yet: one worker tries, fails, and the day waits for the retry
    world.channel.failure = ChannelUnavailable("not ready")
    workers = [world.reconciler(morning) for _ in range(3)]
    results = await asyncio.gather(*(w.run_due(10, f"w{i}") for i, w in enumerate(workers)))
    assert sorted(len(runs) for runs in results) == [0, 0, 1]
    assert len(world.channel.asked) == 1
    assert await world.reconciler(morning + 60_000).run_due(10) == []
    # after the retry wait, one of them runs it; then the day is done for good
    world.channel.failure = None
    later = morning + RETRY_MS + 1
    results = await asyncio.gather(
        *(world.reconciler(later).run_due(10, f"w{i}") for i in range(3))
    )
    [run] = [run for runs in results for run in runs]
    assert run.status == RunStatus.DONE and run.day == yesterday and run.started_by == "worker"
    assert await world.reconciler(later + RETRY_MS * 2).run_due(10) == []
    assert [day for day, _ in world.channel.asked] == [yesterday, yesterday]


async def test_the_worker_schedule_runs_yesterday_once(database_url: str) -> None:
    """What `jubao worker` adds (``schedule_reconciliation``), started as the worker starts it:
    with the hour at 0 yesterday is due at once, and the next checks find it done."""
    channel = StatementChannel()
    settings = fast_settings(
        database_url=database_url, reconciliation_hour=0, reconciliation_check_seconds=0.05
    )
    runtime = await build_runtime(settings, channel, maintenance=False)
    try:
        await open_shop(runtime.db)
        schedule_reconciliation(runtime)
        await runtime.start()

        async def ran() -> bool:
            return bool(await runtime.db.read(repo.list_runs))

        await eventually(ran)
        await asyncio.sleep(0.3)  # several more checks
        [run] = await runtime.db.read(repo.list_runs)
    finally:
        await runtime.stop()
    assert run.day == TODAY - timedelta(days=1) and run.started_by == "worker"
    assert run.status == RunStatus.DONE and len(channel.asked) == 1
