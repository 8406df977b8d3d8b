"""The production topology (issue 18): the standalone ``jubao simulator`` as WeChat Pay in its own
process, ``jubao serve`` (1 or N workers) on a fresh PostgreSQL database, configured from the
simulator's ``channel.env``, and wrk posting distinct pre-signed mina orders.

Figures are CPU-based where they can be (utime + stime of each process tree over the orders it
answered), because on a shared machine wall-clock throughput moves with everyone else's load.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import signer
from bench.loadgen import LoadResult, run_wrk
from bench.scenarios import MAX_RATE, PATH, Plan
from bench.servers import Server, free_port, jubao_argv, run_server, tree_cpu_seconds

__all__ = [
    "Deployment",
    "ProductionResult",
    "deployment",
    "first_answer",
    "measure",
    "serve",
]

OPENID = "oBenchProductionPayer"


@dataclass(frozen=True)
class Deployment:
    """A database with one merchant, app and store, and the simulator serving as WeChat Pay."""

    env: dict[str, str]  # what `jubao serve` runs with: base settings + channel.env
    merchant: signer.Merchant
    simulator: Server
    work: Path


@dataclass(frozen=True)
class ProductionResult:
    load: LoadResult
    orders: int
    gateway_cpu_ms: float  # per order, the serve process tree
    simulator_cpu_ms: float  # per order

    def rsa_share(self, signature_ms: float, signatures: int = 2) -> float:
        """The share of the gateway's CPU per order that is its unavoidable RSA signatures."""
        return signatures * signature_ms / self.gateway_cpu_ms if self.gateway_cpu_ms else 0.0


async def _create_merchant(url: str, master_key: str) -> signer.Merchant:
    from jubao.merchants.directory import MerchantDirectory
    from jubao.security.sealing import Sealer
    from jubao.storage.database import open_database

    db = await open_database(url)  # migrates: the gateways then start on a current schema
    try:
        directory = MerchantDirectory(db, sealer=Sealer.from_config(master_key, ""))
        merchant = await directory.create_merchant("压测商户", "1900000901", "wx00000000000009aa")
        app = await directory.create_app(merchant.merchant_id)
        store = await directory.create_store(merchant.merchant_id, "压测门店")
    finally:
        await db.close()
    return signer.Merchant(
        {
            "app_id": app.app.app_id,
            "app_secret": app.app_secret,
            "store_id": store.store_id,
            "demo_openid": OPENID,
        }
    )


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text("utf-8").splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


@contextlib.contextmanager
def deployment(work: Path, database_url: str) -> Iterator[Deployment]:
    """Create the merchant, then start ``jubao simulator`` (it learns the merchant's binding from
    the database at start) and read the ``channel.env`` it writes."""
    from jubao.security.sealing import new_master_key_text

    data_dir = work / "production"
    master_key = new_master_key_text()
    merchant = asyncio.run(_create_merchant(database_url, master_key))
    base = {
        "JUBAO_DATABASE_URL": database_url,
        "JUBAO_DATA_DIR": str(data_dir),
        "JUBAO_MASTER_KEY": master_key,
        "JUBAO_RATE_LIMIT_PER_SECOND": "0",  # capacity, not the per-app limiter, is measured
        "JUBAO_NOTIFY_ALLOW_PRIVATE": "1",
    }
    port = free_port()
    argv = jubao_argv("simulator", "--port", str(port))
    with run_server("simulator", argv, port, work / "simulator.log", env=base, timeout=60) as sim:
        env = {**base, **_read_env(data_dir / "channel.env")}
        yield Deployment(env, merchant, sim, work)


@contextlib.contextmanager
def serve(deployed: Deployment, workers: int) -> Iterator[Server]:
    port = free_port()
    name = f"serve-w{workers}"
    env = {**deployed.env, "JUBAO_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    argv = jubao_argv("serve", "--port", str(port), "--workers", str(workers))
    with run_server(name, argv, port, deployed.work / f"{name}.log", env=env, timeout=60) as server:
        yield server


def measure(plan: Plan, deployed: Deployment, server: Server, tag: str) -> ProductionResult:
    """A warm-up, then a measured run; each process's CPU is read just before and just after
    wrk, so the orders in flight at the end are the only ones not paired with their CPU."""
    merchant, work, connections = deployed.merchant, deployed.work, 64
    warm = work / f"prod-{tag}-warm"
    count = round(MAX_RATE * plan.warmup_seconds) + 2 * connections
    signer.write_split(signer.mina_bodies(merchant, f"pw{tag}", count), warm, 2)
    run_wrk(server.base_url, PATH, warm, connections=connections, seconds=plan.warmup_seconds)
    prefix = work / f"prod-{tag}"
    count = round(MAX_RATE * plan.run_seconds) + 2 * connections
    signer.write_split(signer.mina_bodies(merchant, f"pm{tag}", count), prefix, 2)
    server.wait_idle()
    deployed.simulator.wait_idle()
    gateway_before = tree_cpu_seconds(server.process.pid)
    simulator_before = tree_cpu_seconds(deployed.simulator.process.pid)
    load = run_wrk(server.base_url, PATH, prefix, connections=connections, seconds=plan.run_seconds)
    gateway = tree_cpu_seconds(server.process.pid) - gateway_before
    simulator = tree_cpu_seconds(deployed.simulator.process.pid) - simulator_before
    server.wait_idle()
    orders = max(load.requests, 1)
    return ProductionResult(load, load.requests, gateway * 1000 / orders, simulator * 1000 / orders)


def _ask(client: httpx.Client, url: str, body: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        answer = client.post(url, content=body, headers={"Content-Type": "application/json"})
        return answer.status_code == 200 and "result_code" in answer.json()
    return False


def first_answer(
    argv: list[str], env: dict[str, str], body: str, port: int, log: Path
) -> tuple[float, float]:
    """Start ``argv`` (listening on ``port``) and post ``body`` to its gateway every 10 ms until an
    envelope comes back. Returns (seconds from spawn, CPU seconds the process had used by then)."""
    import os

    url = f"http://127.0.0.1:{port}{PATH}"
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )
    try:
        with httpx.Client(trust_env=False, timeout=5) as client:
            while not _ask(client, url, body):
                if process.poll() is not None:
                    raise RuntimeError(f"{argv[3:]} exited early; see {log}")
                if time.perf_counter() - started > 60:
                    raise RuntimeError(f"{argv[3:]} did not answer within 60 s; see {log}")
                time.sleep(0.01)
            elapsed = time.perf_counter() - started
            cpu = tree_cpu_seconds(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return elapsed, cpu


def median_first_answer(
    runs: int, argv: list[str], env: dict[str, str], body: str, port: int, log: Path
) -> tuple[float, float]:
    samples = [first_answer(argv, env, body, port, log) for _ in range(runs)]
    return (
        statistics.median(seconds for seconds, _ in samples),
        statistics.median(cpu for _, cpu in samples),
    )
