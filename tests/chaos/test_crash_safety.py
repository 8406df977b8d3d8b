"""Crash safety: gateways and workers SIGKILLed at random moments under load, then restarted.

Arrangement (see docs/reliability.md for why):

- the WeChat Pay simulator runs inside the test process (it plays WeChat, which does not crash
  with us) with time-scaled retries, and learns sub-merchants from the database like
  ``jubao simulator``; its ``channel.env`` configures the jubao processes;
- PostgreSQL: two ``jubao serve`` and one ``jubao worker``; SQLite: one ``jubao serve`` and one
  ``jubao worker`` on the same file (WAL; each process has its own writer, and SQLite's file lock
  with ``busy_timeout`` serialises them);
- merchants (clients in this process) create orders, the payer pays at the simulator, merchants
  refund some orders and query them; every request that fails at the transport level (the
  gateway died under it) is retried with the same parameters, as a real merchant would;
- a killer SIGKILLs a random jubao process ``JUBAO_CHAOS_KILLS`` times (default 3; ``make chaos``
  12) at random moments and restarts it.

Afterwards every order answered with ``result_code`` 200 is checked: exactly one row; the answer
equals what is stored; amount and state agree with WeChat's view (paid at WeChat => SUCCESS
after a query, which reconciles); nothing half-written (prepay without its instruction, refund books
that do not balance); exactly one PAID event and one payment notification row per paid order;
every paid order's notification delivered to the merchant's receiver.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from jubao.config import Settings
from jubao.merchants.directory import MerchantDirectory
from jubao.sandbox import build_standalone_simulator
from jubao.security.sealing import new_master_key_text
from jubao.storage.database import open_database
from jubao.storage.sql import Tx, fetch_all
from tests.support import fubei
from tests.support.databases import fresh_database
from tests.support.processes import (
    Managed,
    Receiver,
    managed,
    read_env,
    serve_app,
    serve_receiver,
)
from tests.support.servers import free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("JUBAO_CHAOS_KILLS", "3"))
SEED = int(os.environ.get("JUBAO_CHAOS_SEED", str(random.randrange(10**6))))
MERCHANTS = 6  # concurrent merchant clients
PAYER = "oChaosPayer"
TRANSPORT_ERRORS = (httpx.TransportError, httpx.DecodingError)

MINA = "openapi.payment.order.mina"
QUERY = "openapi.payment.order.query"
REFUND = "openapi.payment.order.refund"


@dataclass
class Books:
    """What the merchants were told: the evidence the checks compare the database against."""

    minas: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sn -> 200 answers
    fees: dict[str, str] = field(default_factory=dict)
    refunds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # refund sn -> answers
    paid: set[str] = field(default_factory=set)  # payer was told requestPayment:ok
    retries: int = 0


@dataclass
class World:
    app_id: str
    secret: str
    store_id: int
    gateways: list[Managed]
    sim_url: str
    callback_url: str
    client: httpx.AsyncClient
    rng: random.Random
    books: Books = field(default_factory=Books)

    async def call(self, method: str, biz: dict[str, Any], within: float = 60.0) -> dict[str, Any]:
        """POST to a random gateway; on a transport error (it died) retry, like a merchant."""
        body = fubei.body(self.app_id, self.secret, method, biz)
        deadline = time.monotonic() + within
        while True:
            gateway = self.rng.choice(self.gateways)
            assert gateway.health_url is not None
            url = gateway.health_url.removesuffix("/healthz") + "/gateway"
            try:
                answer = await self.client.post(
                    url, content=body, headers={"Content-Type": "application/json"}
                )
            except TRANSPORT_ERRORS:
                if time.monotonic() > deadline:
                    raise
                self.books.retries += 1
                await asyncio.sleep(0.1)
                continue
            assert answer.status_code == 200, answer.text
            result: dict[str, Any] = answer.json()
            if result.get("sub_code") in ("CHANNEL_UNAVAILABLE", "SYSTEM_ERROR", "RATE_LIMITED"):
                # transient by contract: a merchant retries the same request
                self.books.retries += 1
                await asyncio.sleep(0.1)
                continue
            return result

    async def pay(self, sign_params: dict[str, Any]) -> bool:
        answer = await self.client.post(
            f"{self.sim_url}/request-payment", json={"sign_params": sign_params, "openid": PAYER}
        )
        return answer.status_code == 200


async def merchant(world: World, index: int, running: Callable[[], bool]) -> None:
    """One merchant's traffic: create, let the payer pay most orders, refund some, query."""
    number = 0
    while running():
        number += 1
        sn = f"chaos-{index}-{number}"
        fee = f"{world.rng.randint(1, 500) / 100:.2f}"
        world.books.fees[sn] = fee
        biz = {
            "merchant_order_sn": sn,
            "sub_openid": PAYER,
            "total_fee": fee,
            "store_id": world.store_id,
            "call_back_url": world.callback_url,
        }
        created = await world.call(MINA, biz)
        assert created["result_code"] == 200, created
        world.books.minas.setdefault(sn, []).append(created)
        if world.rng.random() < 0.3:  # an identical retry must replay the same answer
            again = await world.call(MINA, biz)
            world.books.minas[sn].append(again)
        if world.rng.random() < 0.15:
            continue  # never paid
        if await world.pay(created["data"]["sign_params"]):
            world.books.paid.add(sn)
        if world.rng.random() < 0.5:
            await world.call(QUERY, {"merchant_order_sn": sn})
        if sn in world.books.paid and world.rng.random() < 0.5:
            # refunds need the payment recorded: query (which reconciles) until it is
            for _ in range(100):
                answer = await world.call(QUERY, {"merchant_order_sn": sn})
                if answer["data"]["trade_state"] == "SUCCESS":
                    break
                await asyncio.sleep(0.05)
            refund_sn = f"{sn}-r"
            refund = {
                "merchant_order_sn": sn,
                "merchant_refund_sn": refund_sn,
                "refund_money": "0.01",
            }
            answer = await world.call(REFUND, refund)
            if answer["result_code"] == 200:
                world.books.refunds.setdefault(refund_sn, []).append(answer)


async def killer(world: World, victims: list[Managed], kills: int, log: list[str]) -> None:
    for _ in range(kills):
        await asyncio.sleep(world.rng.uniform(0.2, 1.2))
        victim = world.rng.choice(victims)
        victim.kill()
        log.append(f"{time.strftime('%H:%M:%S')} SIGKILL {victim.name}")
        await asyncio.sleep(world.rng.uniform(0.0, 0.3))
        victim.start()
        await victim.wait_ready()


def snapshot() -> Tx[dict[str, Any]]:
    orders = (yield fetch_all("SELECT * FROM orders")).rows
    refunds = (yield fetch_all("SELECT * FROM refunds")).rows
    events = (yield fetch_all("SELECT order_id, kind FROM order_events")).rows
    notes = (yield fetch_all("SELECT order_id, kind, status FROM notifications")).rows
    return {"orders": orders, "refunds": refunds, "events": events, "notifications": notes}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_kill_and_restart_under_load(kind: str, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    print(f"chaos seed {SEED} (JUBAO_CHAOS_SEED={SEED} replays the same choices)")
    async with fresh_database(kind, tmp_path) as url:
        db = await open_database(url)
        directory = MerchantDirectory(db)
        shop = await directory.create_merchant("混沌商户", "1900000888", "wx00000000000000cc")
        app = await directory.create_app(shop.merchant_id)
        store = await directory.create_store(shop.merchant_id, "门店")
        await db.close()

        data_dir = tmp_path / "data"
        sim_port = free_port()
        sim_settings = Settings.from_env(env={}, data_dir=data_dir, database_url=url, port=sim_port)
        sim_app = await build_standalone_simulator(
            sim_settings, simulator_overrides={"time_scale": 0.02, "refund_delay_seconds": 0.2}
        )
        receiver = Receiver()
        ports = [free_port() for _ in range(2 if kind == "postgresql" else 1)]
        env = {
            **os.environ,
            **read_env(data_dir / "channel.env"),
            "JUBAO_DATABASE_URL": url,
            "JUBAO_DATA_DIR": str(data_dir),
            "JUBAO_MASTER_KEY": new_master_key_text(),  # serve and worker refuse to run keyless
            "JUBAO_PUBLIC_URL": f"http://127.0.0.1:{ports[0]}",
            "JUBAO_NOTIFY_ALLOW_PRIVATE": "1",
            "JUBAO_NOTIFY_SCHEDULE": "0.2,0.2,0.5,0.5,1,1,1,2,2,2,2,2,2,2,2",
            "JUBAO_NOTIFY_LEASE_SECONDS": "3",
            "JUBAO_MAINTENANCE_INTERVAL_SECONDS": "0.5",
            "JUBAO_RECONCILE_AFTER_SECONDS": "0",
            "JUBAO_PENDING_RECONCILE_SECONDS": "2",
            "JUBAO_REFUND_RECONCILE_AFTER_SECONDS": "1",
            "JUBAO_RATE_LIMIT_PER_SECOND": "0",
            "JUBAO_LOG_LEVEL": "WARNING",
        }
        async with (
            serve_app(sim_app, sim_port) as sim_url,
            serve_receiver(receiver) as callback_url,
            httpx.AsyncClient(timeout=30) as client,
        ):
            with managed() as started:
                gateways = [
                    Managed(
                        f"gateway{i}",
                        ["serve"],
                        {**env, "JUBAO_PORT": str(port)},
                        tmp_path / f"gateway{i}.log",
                        health_url=f"http://127.0.0.1:{port}/healthz",
                    )
                    for i, port in enumerate(ports)
                ]
                worker = Managed("worker", ["worker"], env, tmp_path / "worker.log")
                started.extend([*gateways, worker])
                for item in started:
                    item.start()
                for item in started:
                    await item.wait_ready()
                await asyncio.sleep(1.2)  # the simulator learns sub-merchants every second

                world = World(
                    app.app.app_id, app.app_secret, store.store_id, gateways, sim_url,
                    callback_url, client, rng,
                )  # fmt: skip
                kill_log: list[str] = []
                chaos = asyncio.create_task(killer(world, started, KILLS, kill_log))
                load = [
                    asyncio.create_task(merchant(world, i, lambda: not chaos.done()))
                    for i in range(MERCHANTS)
                ]
                await chaos
                await asyncio.gather(*load)
                print(f"{kind}: {len(kill_log)} kills: {kill_log}")
                print(
                    f"{kind}: {len(world.books.minas)} orders, {len(world.books.paid)} paid, "
                    f"{len(world.books.refunds)} refunds, {world.books.retries} retried calls"
                )
                assert len(kill_log) == KILLS
                for item in started:
                    assert item.alive, item.log.read_text()[-3000:]

                problems = await verify(world, url, sim_url, receiver)
                logs = "\n".join(
                    f"== {item.name}\n{item.log.read_text(errors='replace')[-1500:]}"
                    for item in started
                )
                assert not problems, "\n".join(problems[:30]) + "\n" + logs


async def verify(world: World, url: str, sim_url: str, receiver: Receiver) -> list[str]:
    books = world.books
    # 1. Reconcile: a query on each order asks WeChat about unpaid ones (reconcile_after = 0).
    await asyncio.gather(*(world.call(QUERY, {"merchant_order_sn": sn}) for sn in books.minas))

    async def wechat(order_sn: str) -> dict[str, Any]:
        answer = await world.client.get(f"{sim_url}/control/transactions/{order_sn}")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    db = await open_database(url, migrate=False)
    try:

        async def check() -> list[str]:
            state = await db.read(snapshot)
            problems = check_rows(books, state)
            by_sn = {row["merchant_order_sn"]: row for row in state["orders"]}
            for sn in books.minas:
                row = by_sn.get(sn)
                if row is None:
                    continue  # reported by check_rows
                view = await wechat(row["order_sn"])
                wechat_state = view["transaction"]["trade_state"]
                paid_at_wechat = wechat_state in ("SUCCESS", "REFUND")
                if paid_at_wechat != (row["state"] == "SUCCESS"):
                    await world.call(QUERY, {"merchant_order_sn": sn})  # reconcile, then recheck
                    problems.append(f"{sn}: WeChat {wechat_state}, jubao {row['state']}")
                if view["transaction"]["amount"]["total"] != row["total_fen"]:
                    problems.append(f"{sn}: WeChat amount differs from jubao's")
                if sn in books.paid and not paid_at_wechat:
                    problems.append(f"{sn}: the payer was told ok but WeChat says {wechat_state}")
                if row["state"] == "SUCCESS" and receiver.received[sn] == 0:
                    problems.append(f"{sn}: paid, but the merchant was never notified")
            for refund_sn in books.refunds:
                refund = next(
                    (r for r in state["refunds"] if r["merchant_refund_sn"] == refund_sn), None
                )
                if refund is not None and refund["status"] != "SUCCESS":
                    problems.append(f"{refund_sn}: refund still {refund['status']}")
            return problems

        # 2. Everything must converge within the retry schedules (notifications, refunds).
        return await wait_for(check, lambda problems: not problems, within=90, interval=0.5)
    finally:
        await db.close()


def check_rows(books: Books, state: dict[str, Any]) -> list[str]:
    """Invariants that need no waiting: existence, uniqueness, replay, nothing half-written."""
    problems: list[str] = []
    by_sn: dict[str, list[dict[str, Any]]] = {}
    for row in state["orders"]:
        by_sn.setdefault(row["merchant_order_sn"], []).append(row)
    events: dict[int, list[str]] = {}
    for event in state["events"]:
        events.setdefault(event["order_id"], []).append(event["kind"])
    payment_rows: dict[int, int] = {}
    for note in state["notifications"]:
        if note["kind"] == "PAYMENT":
            payment_rows[note["order_id"]] = payment_rows.get(note["order_id"], 0) + 1
    for sn, answers in books.minas.items():
        rows = by_sn.get(sn, [])
        if len(rows) != 1:
            problems.append(f"{sn}: answered 200 but {len(rows)} rows")
            continue
        row = rows[0]
        first = answers[0]["data"]
        if any(answer != answers[0] for answer in answers):
            problems.append(f"{sn}: an identical retry was answered differently")
        if first["order_sn"] != row["order_sn"] or first["prepay_id"] != row["prepay_id"]:
            problems.append(f"{sn}: the answer is not what is stored")
        fee_fen = round(float(books.fees[sn]) * 100)
        if row["total_fen"] != fee_fen:
            problems.append(f"{sn}: total_fen {row['total_fen']} != {fee_fen}")
        if bool(row["prepay_id"]) != bool(row["instruction"]):
            problems.append(f"{sn}: half-written prepay")
        kinds = events.get(row["order_id"], [])
        paid_events = kinds.count("PAID")
        if paid_events != (1 if row["state"] == "SUCCESS" else 0):
            problems.append(f"{sn}: {paid_events} PAID events in state {row['state']}")
        if row["state"] == "SUCCESS" and payment_rows.get(row["order_id"], 0) != 1:
            problems.append(f"{sn}: {payment_rows.get(row['order_id'], 0)} payment outbox rows")
        live = [
            r
            for r in state["refunds"]
            if r["order_id"] == row["order_id"] and r["status"] != "FAILED"
        ]
        if row["refunded_fen"] != sum(r["refund_fen"] for r in live):
            problems.append(f"{sn}: refunded_fen {row['refunded_fen']} != sum of refunds")
        if row["refund_count"] != len(live):
            problems.append(f"{sn}: refund_count {row['refund_count']} != {len(live)} refunds")
    for refund_sn, answers in books.refunds.items():
        rows = [r for r in state["refunds"] if r["merchant_refund_sn"] == refund_sn]
        if len(rows) != 1:
            problems.append(f"{refund_sn}: answered 200 but {len(rows)} refund rows")
        elif rows[0]["refund_sn"] != answers[0]["data"]["refund_sn"] or rows[0]["refund_fen"] != 1:
            problems.append(f"{refund_sn}: the refund answer is not what is stored")
    return problems
