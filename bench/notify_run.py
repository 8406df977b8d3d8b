"""Merchant notification throughput, run in its own process (``python -m bench.notify_run``).

Writes N paid orders through the real repositories (``insert_order`` then ``mark_paid``, which
writes the outbox row in the same transaction), then times jubao's ``Dispatcher`` (its production
loop, ``start()``) delivering them all to the receiver. Prints one JSON line: the rate, and this
process's CPU per delivery over the delivery phase (the dispatcher, and the polls of the counts).

Args: RECEIVER_URL DATABASE_URL COUNT DATA_DIR
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

from jubao.config import Settings
from jubao.kinds import ChannelName, Scene
from jubao.merchants.directory import MerchantDirectory
from jubao.notify.dispatcher import Dispatcher
from jubao.payments import repository as repo
from jubao.payments.views import order_view
from jubao.storage.database import Database, open_database
from jubao.storage.sql import Query, Result, fetch_all

Tx = Generator[Query, Result, Any]


def _paid_order(order: repo.NewOrder, now: int) -> Tx:
    inserted = yield from repo.insert_order(order, now)
    assert inserted is not None and inserted[1], "order not inserted"
    facts = repo.PaymentFacts(
        channel=order.channel,
        order_sn=order.order_sn,
        transaction_id=f"42000{order.order_sn}",
        paid_at=now,
        payer_id=order.payer_id,
        total_fen=order.total_fen,
        merchant_id=order.channel_merchant_id,
        source="notification",
    )
    outcome, _ = yield from repo.mark_paid(facts, now, order_view)
    return outcome


def _counts() -> Tx:
    rows = (yield fetch_all("SELECT status, COUNT(*) AS n FROM notifications GROUP BY status")).rows
    return {row["status"]: int(row["n"]) for row in rows}


async def _seed(db: Database, url: str, count: int) -> None:
    directory = MerchantDirectory(db)
    merchant = await directory.create_merchant("通知压测", "1900999999", "wx0000000000000001")
    app = (await directory.create_app(merchant.merchant_id, callback_url=url)).app
    store = await directory.create_store(merchant.merchant_id, "门店")
    now = int(time.time() * 1000)

    def order(index: int) -> repo.NewOrder:
        return repo.NewOrder(
            order_sn=f"N{now}{index:08d}", merchant_id=merchant.merchant_id, app_id=app.app_id,
            merchant_order_sn=f"n-{index}", fingerprint=f"f{index}", store_id=store.store_id,
            cashier_id=0, channel=ChannelName.WECHATPAY, scene=Scene.MINA,
            channel_merchant_id=merchant.sub_mchid, channel_app_id=merchant.sub_appid,
            payer_id="oBenchPayer", total_fen=1, body=None, attach=None, call_back_url=url,
            expire_at=now + 3_600_000,
        )  # fmt: skip

    for start in range(0, count, 256):
        batch = [order(i) for i in range(start, min(count, start + 256))]
        outcomes = await asyncio.gather(
            *(db.write(lambda o=o: _paid_order(o, now)) for o in batch)  # type: ignore[misc]
        )
        assert all(outcome == "paid" for outcome in outcomes), outcomes


async def measure(url: str, database_url: str, count: int, data_dir: Path) -> dict[str, Any]:
    db = await open_database(database_url)
    try:
        await _seed(db, url, count)
        settings = Settings.from_env(data_dir=data_dir, notify_allow_private=True)
        dispatcher = Dispatcher(db, settings, poll_interval=0.05)
        started = time.perf_counter()
        cpu_started = time.process_time()  # this process: the dispatcher (and the count polls)
        await dispatcher.start()
        counts: dict[str, int] = {}
        deadline = started + 120
        while time.perf_counter() < deadline:
            counts = await db.read(_counts)
            if counts.get("PENDING", 0) == 0:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        await dispatcher.stop()
    finally:
        await db.close()
    delivered = counts.get("DELIVERED", 0)
    return {
        "count": count,
        "delivered": delivered,
        "not_delivered": count - delivered,
        "seconds": elapsed,
        "rate": delivered / elapsed if elapsed > 0 else 0.0,
        "cpu_ms_per_delivery": cpu * 1000 / delivered if delivered else 0.0,
        "concurrency": settings.notify_concurrency,
    }


def main() -> None:
    url, database_url, count, data_dir = sys.argv[1:5]
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        pass
    result = asyncio.run(measure(url, database_url, int(count), Path(data_dir)))
    status = Path("/proc/self/status").read_text().splitlines()
    hwm = next((line for line in status if line.startswith("VmHWM:")), "VmHWM: 0 kB")
    result["peak_rss_mb"] = int(hwm.split()[1]) / 1024
    print("NOTIFYJSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
