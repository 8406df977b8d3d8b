"""Claims and leases on SQLite and PostgreSQL: never two deliveries of one notification at once,
and a claim whose worker died is delivered by another after the lease expires."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from jubao.notify import repository as repo
from jubao.notify.dispatcher import Dispatcher
from jubao.notify.repository import AttemptRecord, NotificationStatus
from jubao.storage.database import Database, open_database
from jubao.storage.sql import Tx, fetch_all
from tests.notify.support import (
    Answer,
    Receiver,
    Shop,
    attempts,
    fast_settings,
    notification,
    now_ms,
    open_shop,
    running_receiver,
    settle,
    wait_until,
)


@dataclass
class Place:
    db: Database
    shop: Shop
    receiver: Receiver
    url: str


@pytest.fixture
async def place(database_url: str) -> AsyncIterator[Place]:
    db = await open_database(database_url)
    try:
        async with running_receiver() as receiver:
            shop = await open_shop(db, callback_url=receiver.callback_url)
            yield Place(db, shop, receiver, database_url)
    finally:
        await db.close()


def _statuses() -> Tx[list[str]]:
    return [r["status"] for r in (yield fetch_all("SELECT status FROM notifications")).rows]


async def test_two_dispatchers_never_deliver_one_notification_at_the_same_time(
    place: Place,
) -> None:
    place.receiver.answer(Answer(body="fail", delay=0.05))  # slow, and always fails
    ids = [await place.shop.paid_order(place.receiver.callback_url) for _ in range(12)]
    # leases long enough never to expire on a loaded machine (parallel test workers): expiry
    # hands a claim over on purpose, and is the subject of the crashed-claim test below
    settings = fast_settings(
        notify_schedule=(0.01, 0.01), notify_concurrency=5, notify_lease_seconds=120.0
    )
    second_db = await open_database(place.url)  # a second process would have its own pool
    first = Dispatcher(place.db, settings, owner="first", poll_interval=0.01)
    second = Dispatcher(second_db, settings, owner="second", poll_interval=0.01)
    try:
        await first.start()
        await second.start()

        async def all_failed() -> bool:
            return await place.db.read(_statuses) == ["FAILED"] * len(ids)

        await wait_until(all_failed, within=10)
    finally:
        await first.stop()
        await second.stop()
        await second_db.close()

    assert max(place.receiver.max_in_flight.values()) == 1
    # each notification was attempted exactly 1 + len(schedule) times, all recorded
    assert len(place.receiver.hits) == 3 * len(ids)
    for notification_id in ids:
        assert len(await place.db.read(lambda i=notification_id: attempts(i))) == 3  # type: ignore[misc]


async def test_concurrent_claims_take_disjoint_rows(place: Place) -> None:
    for _ in range(10):
        await place.shop.paid_order(place.receiver.callback_url)
    dialect = place.db.dialect
    now = now_ms()
    batches = await asyncio.gather(
        *(
            place.db.write(lambda t=f"w{i}": repo.claim_due(dialect, t, now, now + 60_000, 3))  # type: ignore[misc]
            for i in range(6)
        )
    )
    claimed = [row.notification_id for batch in batches for row in batch]
    assert len(claimed) == len(set(claimed)) == 10
    assert all(len(batch) <= 3 for batch in batches)
    for index, batch in enumerate(batches):
        assert all(row.lease_owner == f"w{index}" for row in batch)


async def test_a_crashed_claim_is_delivered_by_another_worker_after_the_lease(
    place: Place,
) -> None:
    notification_id = await place.shop.paid_order(place.receiver.callback_url)
    dialect = place.db.dialect
    now = now_ms()
    # a worker claims with a 300 ms lease and dies before recording anything
    [claimed] = await place.db.write(lambda: repo.claim_due(dialect, "dead/1", now, now + 300, 10))
    assert claimed.notification_id == notification_id

    survivor = Dispatcher(place.db, fast_settings(), owner="survivor")
    try:
        assert await survivor.run_once() == 0  # leased: nobody else may deliver it yet
        assert place.receiver.hits == []
        await asyncio.sleep(0.35)
        row = await settle(survivor.run_once, place.db, notification_id)
    finally:
        await survivor.stop()
    assert row["status"] == "DELIVERED" and row["attempts"] == 1
    assert len(place.receiver.hits) == 1

    # the dead worker wakes up late: its outcome must not overwrite the survivor's
    late = AttemptRecord(now, 1, None, None, "late")
    stored = await place.db.write(
        lambda: repo.record_attempt(
            notification_id, "dead/1", 0, late, NotificationStatus.FAILED, None, now_ms()
        )
    )
    assert stored is False
    row = await place.db.read(lambda: notification(notification_id))
    assert row["status"] == "DELIVERED" and row["attempts"] == 1
    assert len(await place.db.read(lambda: attempts(notification_id))) == 1


async def test_a_resend_during_a_delivery_keeps_the_lease_and_drops_the_stale_outcome(
    place: Place,
) -> None:
    notification_id = await place.shop.paid_order(place.receiver.callback_url)
    dialect = place.db.dialect

    async def claim(token: str) -> list[int]:
        now = now_ms()
        rows = await place.db.write(lambda: repo.claim_due(dialect, token, now, now + 60_000, 5))
        return [row.notification_id for row in rows]

    record = AttemptRecord(now_ms(), 5, 500, "oops", "HTTP 500")
    # attempt 1 fails normally
    assert await claim("w/1") == [notification_id]
    assert await place.db.write(
        lambda: repo.record_attempt(
            notification_id, "w/1", 0, record, NotificationStatus.PENDING, 0, now_ms()
        )
    )
    # attempt 2 is in flight when an operator resends
    assert await claim("w/2") == [notification_id]
    assert await place.db.write(lambda: repo.resend(notification_id, now_ms())) is not None
    assert await claim("w/3") == []  # still leased: no second delivery alongside
    stored = await place.db.write(
        lambda: repo.record_attempt(
            notification_id, "w/2", 1, record, NotificationStatus.FAILED, None, now_ms()
        )
    )
    assert stored is False  # computed from the old count: dropped
    row = await place.db.read(lambda: notification(notification_id))
    assert (row["status"], row["attempts"], row["lease_owner"]) == ("PENDING", 0, None)
    assert await claim("w/4") == [notification_id]  # the lease was released: due again at once
