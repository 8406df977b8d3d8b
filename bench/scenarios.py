"""The measured scenarios. Each server runs in its own process; wrk drives it from another."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from bench import signer
from bench.loadgen import LoadResult, run_wrk
from bench.servers import REPO, Server, free_port, jubao_argv, python_argv, run_server

__all__ = [
    "Plan",
    "echo_ceiling",
    "measure_mina",
    "measure_query",
    "merchant_of",
    "merchant_of_dir",
    "notifications",
    "postgres_database",
    "sandbox",
    "seed_paid_orders",
    "set_latency",
]

PATH = "/gateway"
MAX_RATE = 2500  # bodies per second of run generated per mina run: more would replay orders


@dataclass(frozen=True)
class Plan:
    """How long each part runs: ``quick`` keeps the whole suite under a minute."""

    quick: bool

    @property
    def rsa_seconds(self) -> float:
        return 1.0 if self.quick else 3.0

    @property
    def run_seconds(self) -> float:
        return 3.0 if self.quick else 12.0

    @property
    def warmup_seconds(self) -> float:
        return 1.0 if self.quick else 2.0

    @property
    def paid_orders(self) -> int:
        return 64 if self.quick else 256

    @property
    def notifications(self) -> int:
        return 1000 if self.quick else 5000

    @property
    def startup_runs(self) -> int:
        """Starts timed per server (the median is reported)."""
        return 1 if self.quick else 3


# ---- echo ceiling ----------------------------------------------------------------------------


def _echo_bodies(count: int) -> Iterator[str]:
    for index in range(count):
        doc = {
            "result_code": 200,
            "result_message": "成功",
            "data": {"merchant_order_sn": f"echo-{index}", "trade_state": "SUCCESS", "n": index},
        }
        yield json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def echo_ceiling(plan: Plan, work: Path, connections: int) -> tuple[LoadResult, Server]:
    prefix = work / "echo"
    signer.write_split(_echo_bodies(4096), prefix, 2)
    port = free_port()
    argv = python_argv("-m", "bench.echo", str(port))
    with run_server("echo", argv, port, work / "echo.log") as server:
        run_wrk(server.base_url, PATH, prefix, connections=connections, seconds=plan.warmup_seconds)
        result = run_wrk(
            server.base_url, PATH, prefix, connections=connections, seconds=plan.run_seconds
        )
    return result, server


# ---- the sandbox -----------------------------------------------------------------------------


@contextlib.contextmanager
def sandbox(name: str, work: Path, database_url: str | None = None) -> Iterator[Server]:
    port = free_port()
    data_dir = work / name
    options = ["--database-url", database_url] if database_url else []
    argv = jubao_argv(*options, "sandbox", "--port", str(port), "--data-dir", str(data_dir))
    env = {"JUBAO_RATE_LIMIT_PER_SECOND": "0"}  # capacity, not the per-app limiter, is measured
    with run_server(name, argv, port, work / f"{name}.log", env=env, timeout=60) as server:
        yield server


def merchant_of(server: Server, work: Path) -> signer.Merchant:
    return merchant_of_dir(work / server.name)


def merchant_of_dir(data_dir: Path) -> signer.Merchant:
    """The demo merchant a sandbox wrote into its data directory."""
    info = json.loads((data_dir / "sandbox.json").read_text("utf-8"))
    return signer.Merchant(info)


def measure_mina(
    plan: Plan, server: Server, merchant: signer.Merchant, work: Path, connections: int, tag: str
) -> LoadResult:
    """Create orders (each body its own merchant_order_sn and signature) for the run's duration."""
    run_id = secrets.token_hex(3)
    warm = work / f"mina-{tag}-warm"
    count = round(MAX_RATE * plan.warmup_seconds) + 2 * connections
    signer.write_split(signer.mina_bodies(merchant, f"w{tag}{run_id}", count), warm, 2)
    run_wrk(server.base_url, PATH, warm, connections=connections, seconds=plan.warmup_seconds)
    server.wait_idle()
    prefix = work / f"mina-{tag}"
    count = round(MAX_RATE * plan.run_seconds) + 2 * connections
    signer.write_split(signer.mina_bodies(merchant, f"m{tag}{run_id}", count), prefix, 2)
    result = run_wrk(
        server.base_url, PATH, prefix, connections=connections, seconds=plan.run_seconds
    )
    server.wait_idle()
    return result


def measure_query(
    plan: Plan,
    server: Server,
    merchant: signer.Merchant,
    order_sns: list[str],
    work: Path,
    connections: int,
    tag: str,
) -> LoadResult:
    prefix = work / f"query-{tag}"
    signer.write_split(signer.query_bodies(merchant, order_sns, 8192), prefix, 2)
    run_wrk(server.base_url, PATH, prefix, connections=connections, seconds=plan.warmup_seconds)
    server.wait_idle()
    result = run_wrk(
        server.base_url, PATH, prefix, connections=connections, seconds=plan.run_seconds
    )
    server.wait_idle()
    return result


async def _seed(base_url: str, merchant: signer.Merchant, count: int) -> list[str]:
    """Create ``count`` orders and pay them as the payer: queries then read paid orders, which
    jubao answers locally (an unpaid order older than 10 s would make query ask WeChat)."""
    prefix = f"paid-{secrets.token_hex(3)}"
    sns = [f"{prefix}-{index}" for index in range(count)]
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False) as client:

        async def pay(order_sn: str) -> None:
            async with limit:
                biz = signer.mina_biz(merchant, order_sn)
                body = signer.signed_body(merchant, signer.MINA, biz, order_sn)
                answer = (await client.post(PATH, content=body)).json()
                if answer.get("result_code") != 200:
                    raise RuntimeError(f"seeding mina failed: {answer}")
                payer = {"sign_params": answer["data"]["sign_params"], "openid": merchant.openid}
                paid = await client.post("/sim/wechatpay/request-payment", json=payer)
                paid.raise_for_status()

        await asyncio.gather(*(pay(sn) for sn in sns))
        deadline = time.monotonic() + 30
        for order_sn in sns:  # the simulator notifies jubao asynchronously
            body = signer.signed_body(merchant, signer.QUERY, {"merchant_order_sn": order_sn}, "s")
            while True:
                answer = (await client.post(PATH, content=body)).json()
                if answer.get("data", {}).get("trade_state") == "SUCCESS":
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"order {order_sn} not paid after 30 s: {answer}")
                await asyncio.sleep(0.05)
    return sns


def seed_paid_orders(server: Server, merchant: signer.Merchant, count: int) -> list[str]:
    return asyncio.run(_seed(server.base_url, merchant, count))


def set_latency(server: Server, latency_ms: int) -> None:
    url = f"{server.base_url}/sim/wechatpay/control/latency"
    httpx.post(
        url, json={"latency_ms": latency_ms}, trust_env=False, timeout=120
    ).raise_for_status()


# ---- PostgreSQL ------------------------------------------------------------------------------


def postgres_admin_url() -> str:
    return os.environ.get(
        "BENCH_POSTGRES_URL",
        os.environ.get("JUBAO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )


async def _admin(statement: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(postgres_admin_url(), timeout=5)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A freshly created database, dropped afterwards (raises ``OSError`` when no server)."""
    name = f"jubao_bench_{secrets.token_hex(5)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    parts = urlsplit(postgres_admin_url())
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# ---- notifications ---------------------------------------------------------------------------


def notifications(plan: Plan, work: Path) -> tuple[dict[str, Any], Server]:
    """Start the receiver, then run the dispatcher in its own process against a new database."""
    port = free_port()
    with run_server("receiver", python_argv("-m", "bench.receiver", str(port)), port,
                    work / "receiver.log") as receiver:  # fmt: skip
        data_dir = work / "notify"
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = python_argv(
            "-m",
            "bench.notify_run",
            f"{receiver.base_url}/notify",
            f"sqlite:///{data_dir / 'jubao.sqlite3'}",
            str(plan.notifications),
            str(data_dir),
        )
        done = subprocess.run(
            argv, cwd=REPO, capture_output=True, text=True, timeout=300, check=False
        )
    match = re.search(r"^NOTIFYJSON (.*)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"notify_run failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(match.group(1))
    return result, receiver


def python_version() -> str:
    return sys.version.split()[0]
