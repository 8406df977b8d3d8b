"""Two `jubao serve` gateways and two `jubao worker`s on one PostgreSQL, with `jubao simulator`
as WeChat Pay, under concurrent load: no duplicate orders, every paid order notified, no
notification delivered twice at the same moment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from jubao.merchants.directory import MerchantDirectory
from jubao.security.sealing import new_master_key_text
from jubao.storage.database import open_database
from jubao.storage.sql import Tx, fetch_all
from tests.support import fubei
from tests.support.databases import fresh_database
from tests.support.servers import free_port, serve_asgi

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ORDERS = 40
JUBAO = [sys.executable, "-m", "jubao"]


class Receiver:
    """A merchant endpoint that notices overlapping deliveries of one notification."""

    def __init__(self) -> None:
        self.in_flight: Counter[str] = Counter()
        self.overlaps = 0
        self.received: Counter[str] = Counter()

    async def handle(self, request: Request) -> PlainTextResponse:
        form = parse_qs((await request.body()).decode())
        key = form["data"][0]  # the order's JSON: one per notification
        self.in_flight[key] += 1
        if self.in_flight[key] > 1:
            self.overlaps += 1
        try:
            await asyncio.sleep(0.05)  # widen the window in which a second delivery would overlap
            self.received[key] += 1
            return PlainTextResponse("success")
        finally:
            self.in_flight[key] -= 1


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [*JUBAO, *args], env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for proc in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


async def wait_http(url: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                await client.get(url)
                return
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


@contextlib.asynccontextmanager
async def serve_receiver(receiver: Receiver) -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/notify", receiver.handle, methods=["POST"])])
    async with serve_asgi(app) as url:
        yield f"{url}/notify"


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


async def test_two_gateways_two_workers_one_postgres(tmp_path: Path) -> None:
    async with fresh_database("postgresql", tmp_path) as url:
        db = await open_database(url)
        directory = MerchantDirectory(db)
        merchant = await directory.create_merchant("多实例商户", "1900000777", "wx00000000000000aa")
        app = await directory.create_app(merchant.merchant_id)
        store = await directory.create_store(merchant.merchant_id, "门店")
        await db.close()

        receiver = Receiver()
        base_env = {
            **os.environ,
            "JUBAO_DATABASE_URL": url,
            "JUBAO_DATA_DIR": str(tmp_path / "data"),
            "JUBAO_MASTER_KEY": new_master_key_text(),  # serve and worker refuse to run keyless
            "JUBAO_NOTIFY_ALLOW_PRIVATE": "1",
            "JUBAO_NOTIFY_SCHEDULE": "0.2,0.2,0.5,1,1,1",
            "JUBAO_MAINTENANCE_INTERVAL_SECONDS": "0.5",
        }
        sim_port, ports = free_port(), [free_port(), free_port()]
        async with serve_receiver(receiver) as callback_url:
            with processes() as started:
                started.append(
                    spawn(["simulator", "--port", str(sim_port)], base_env, tmp_path / "sim.log")
                )
                await wait_http(f"http://127.0.0.1:{sim_port}/control/behaviour")
                env = {
                    **base_env,
                    **read_env(tmp_path / "data" / "channel.env"),
                    # one public URL for the deployment, as behind a load balancer
                    "JUBAO_PUBLIC_URL": f"http://127.0.0.1:{ports[0]}",
                }
                for index, port in enumerate(ports):
                    gateway_env = {**env, "JUBAO_PORT": str(port)}
                    started.append(spawn(["serve"], gateway_env, tmp_path / f"gateway{index}.log"))
                for index in range(2):
                    started.append(spawn(["worker"], env, tmp_path / f"worker{index}.log"))
                for port in ports:
                    await wait_http(f"http://127.0.0.1:{port}/healthz")
                await asyncio.sleep(1.2)  # the simulator syncs sub-merchant bindings every second

                async with httpx.AsyncClient(timeout=30) as client:

                    async def mina(port: int, sn: str) -> dict[str, Any]:
                        biz = {
                            "merchant_order_sn": sn,
                            "sub_openid": "oMultiPayer",
                            "total_fee": "0.01",
                            "store_id": store.store_id,
                            "call_back_url": callback_url,
                        }
                        body = fubei.body(
                            app.app.app_id, app.app_secret, "openapi.payment.order.mina", biz
                        )
                        answer = await client.post(
                            f"http://127.0.0.1:{port}/gateway",
                            content=body,
                            headers={"Content-Type": "application/json"},
                        )
                        result: dict[str, Any] = answer.json()
                        return result

                    # every order is created twice at once, once through each gateway
                    answers = await asyncio.gather(
                        *(mina(port, f"multi-{i}") for i in range(ORDERS) for port in ports)
                    )
                    assert all(a["result_code"] == 200 for a in answers), [
                        a for a in answers if a["result_code"] != 200
                    ][:3]
                    for first, second in zip(answers[::2], answers[1::2], strict=True):
                        assert first == second
                    payments = await asyncio.gather(
                        *(
                            client.post(
                                f"http://127.0.0.1:{sim_port}/request-payment",
                                json={
                                    "sign_params": a["data"]["sign_params"],
                                    "openid": "oMultiPayer",
                                },
                            )
                            for a in answers[::2]
                        )
                    )
                    assert all(p.status_code == 200 for p in payments), payments[0].text

                deadline = time.monotonic() + 60
                while len(receiver.received) < ORDERS and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)

        assert len(receiver.received) == ORDERS, (tmp_path / "worker0.log").read_text()[-2000:]
        assert receiver.overlaps == 0

        def counts() -> Tx[dict[str, int]]:
            orders = (yield fetch_all("SELECT merchant_order_sn, state FROM orders")).rows
            delivered = (
                yield fetch_all(
                    "SELECT notification_id FROM notifications WHERE status = 'DELIVERED'"
                )
            ).rows
            return {
                "orders": len(orders),
                "distinct": len({row["merchant_order_sn"] for row in orders}),
                "paid": sum(row["state"] == "SUCCESS" for row in orders),
                "delivered": len(delivered),
            }

        db = await open_database(url)
        try:
            assert await db.read(counts) == {
                "orders": ORDERS,
                "distinct": ORDERS,
                "paid": ORDERS,
                "delivered": ORDERS,
            }
        finally:
            await db.close()
