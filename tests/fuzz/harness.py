"""A sandbox for fuzzing: one real gateway + simulator per database, driven in-process.

The sandbox runs on its own event loop in a background thread (real uvicorn, so the WeChat
channel reaches the simulator over HTTP exactly as in production). Fuzz requests do not pay for
HTTP: they go straight into the same ASGI app through ``httpx.ASGITransport``. Hypothesis tests
stay synchronous and hand coroutines to the loop (``Portal.run``), so one sandbox serves a whole
session.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette

from jubao.channels.simulator import Simulator
from jubao.config import Settings
from jubao.runtime import Runtime
from jubao.sandbox import build_sandbox
from jubao.storage.sql import Tx, fetch_one
from tests.support import fubei
from tests.support.databases import fresh_database
from tests.support.servers import free_port, serve_asgi

T = TypeVar("T")

# Everything a request could write. A refused request must leave all of these as they were.
STATE_QUERIES = {
    "orders": "SELECT COUNT(*) AS n FROM orders",
    "paid_orders": "SELECT COUNT(*) AS n FROM orders WHERE state = 'SUCCESS'",
    "closed_orders": "SELECT COUNT(*) AS n FROM orders WHERE state = 'CLOSED'",
    "prepaid_orders": "SELECT COUNT(*) AS n FROM orders WHERE prepay_id IS NOT NULL",
    "refunded_fen": "SELECT COALESCE(SUM(refunded_fen), 0) AS n FROM orders",
    "refunds": "SELECT COUNT(*) AS n FROM refunds",
    "notifications": "SELECT COUNT(*) AS n FROM notifications",
    "order_events": "SELECT COUNT(*) AS n FROM order_events",
}


def state_counts() -> Tx[dict[str, int]]:
    counts: dict[str, int] = {}
    for name, sql in STATE_QUERIES.items():
        row = (yield fetch_one(sql)).first
        counts[name] = int(row["n"]) if row else 0
    return counts


class Portal:
    """An event loop in a daemon thread; ``run`` executes a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@dataclass
class Reply:
    status: int
    content_type: str
    text: str


@dataclass(repr=False)  # a failing example prints its arguments: keep settings out of it
class FuzzSandbox:
    database: str  # "sqlite" or "postgresql"
    app: Starlette
    runtime: Runtime
    simulator: Simulator
    info: dict[str, Any]
    client: httpx.AsyncClient  # in-process (ASGITransport)
    http: httpx.AsyncClient  # over loopback, for the simulator's payer endpoint
    paid_order_sn: str = ""
    unpaid_order_sn: str = ""
    closed_order_sn: str = ""
    refund_sn: str = ""

    def __repr__(self) -> str:
        return f"FuzzSandbox({self.database})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis's printer
        printer.text(repr(self))

    async def post(
        self, content: bytes, content_type: str = "application/json", path: str = "/gateway"
    ) -> Reply:
        answer = await self.client.post(
            path, content=content, headers={"Content-Type": content_type}
        )
        return Reply(answer.status_code, answer.headers.get("content-type", ""), answer.text)

    async def counts(self) -> dict[str, int]:
        # Let the simulator's asynchronous work (refund settlement, notifications to jubao)
        # finish first, so that only the request under test can change the counts.
        await self.simulator.idle()
        return await self.runtime.db.read(state_counts)

    async def call(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        content = fubei.body(self.info["app_id"], self.info["app_secret"], method, biz)
        reply = await self.post(content)
        assert reply.status == 200, reply.text
        result: dict[str, Any] = httpx.Response(200, text=reply.text).json()
        return result

    async def seed(self) -> None:
        """Orders in each state, so that fuzzed references reach real business rules."""
        info = self.info

        async def mina(sn: str, fee: str) -> dict[str, Any]:
            biz = {
                "merchant_order_sn": sn,
                "sub_openid": info["demo_openid"],
                "total_fee": fee,
                "store_id": info["store_id"],
            }
            answer = await self.call("openapi.payment.order.mina", biz)
            assert answer["result_code"] == 200, answer
            data: dict[str, Any] = answer["data"]
            return data

        paid = await mina("fz-paid", "100.00")
        payment = await self.http.post(
            "/sim/wechatpay/request-payment",
            json={"sign_params": paid["sign_params"], "openid": info["demo_openid"]},
        )
        assert payment.status_code == 200, payment.text
        for _ in range(200):
            query = await self.call("openapi.payment.order.query", {"merchant_order_sn": "fz-paid"})
            if query["data"]["trade_state"] == "SUCCESS":
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the seeded order was never paid")
        refund = await self.call(
            "openapi.payment.order.refund",
            {"merchant_order_sn": "fz-paid", "refund_money": "0.01", "merchant_refund_sn": "fz-r1"},
        )
        assert refund["result_code"] == 200, refund
        await mina("fz-unpaid", "0.01")
        await mina("fz-closed", "0.02")
        closed = await self.call("openapi.payment.order.close", {"merchant_order_sn": "fz-closed"})
        assert closed["result_code"] == 200, closed
        self.paid_order_sn = paid["order_sn"]
        self.unpaid_order_sn = "fz-unpaid"
        self.closed_order_sn = "fz-closed"
        self.refund_sn = refund["data"]["refund_sn"]


@contextlib.asynccontextmanager
async def fuzz_sandbox(database: str, tmp_path: Path) -> AsyncIterator[FuzzSandbox]:
    async with fresh_database(database, tmp_path) as url:
        port = free_port()
        settings = Settings.from_env(
            env={},
            data_dir=tmp_path / "data",
            database_url=url,
            port=port,
            notify_allow_private=True,
            # nothing in the background may change state during a fuzz run
            maintenance_interval_seconds=3600.0,
            # every query of an unpaid order asks WeChat (not only after 10 quiet seconds), so
            # that the state machine can check that jubao agrees with WeChat after a query
            reconcile_after_seconds=0.0,
        )
        app, runtime, simulator, info = await build_sandbox(
            settings, simulator_overrides={"time_scale": 0.001, "refund_delay_seconds": 0.01}
        )
        async with (
            serve_asgi(app, port) as url,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://fuzz", timeout=60
            ) as client,
            httpx.AsyncClient(base_url=url, timeout=60) as http,
        ):
            sandbox = FuzzSandbox(database, app, runtime, simulator, info, client, http)
            await sandbox.seed()
            yield sandbox
