"""``/healthz`` and ``/readyz``: the database gone or behind the code's schema turns ``/readyz``
503 with the reason; a missing worker with notifications due is reported (readyz, console) and
the heartbeat of a running dispatcher clears it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from jubao.observe.heartbeat import notification_health, worker_missing
from jubao.runtime import attach_dispatcher
from jubao.storage.sql import Tx, execute
from tests.console.support import (
    PAYER_PATH,
    ConsoleWorld,
    build_world,
    client_for,
    log_in,
)
from tests.support import fubei
from tests.support.databases import postgres_admin_url
from tests.support.waiting import eventually


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[ConsoleWorld]:
    built = await build_world(tmp_path / "data", database_url=database_url)
    try:
        yield built
    finally:
        await built.runtime.stop()


@pytest.fixture
async def client(world: ConsoleWorld) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(world) as http:
        yield http


async def test_ready_when_all_is_well(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    answer = await client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready"}


async def test_not_ready_with_the_database_gone(
    world: ConsoleWorld, client: httpx.AsyncClient, database_url: str
) -> None:
    assert (await client.get("/readyz")).status_code == 200
    if database_url.startswith("postgresql"):
        name = database_url.rsplit("/", 1)[1]
        admin = await asyncpg.connect(postgres_admin_url())
        try:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()
    else:
        await world.runtime.db.close()
    answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    assert answer.json()["problems"][0].startswith("database unreachable")
    assert (await client.get("/healthz")).status_code == 200  # the process itself lives


async def test_not_ready_with_an_unknown_schema(
    world: ConsoleWorld, client: httpx.AsyncClient
) -> None:
    def future() -> Tx[None]:
        yield execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            99,
            "from_the_future",
            0,
        )

    await world.runtime.db.write(future)
    answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["problems"] == ["database schema at version 99, expected 6"]


async def _paid_order(world: ConsoleWorld, client: httpx.AsyncClient) -> None:
    app = await world.runtime.merchants.app(world.app_id)
    assert app is not None
    biz = {"merchant_order_sn": "H-1", "sub_openid": "o", "total_fee": "0.01",
           "store_id": world.store_id, "call_back_url": "https://shop.example/cb"}  # fmt: skip
    created = await client.post(
        "/gateway",
        content=fubei.body(app.app_id, app.app_secret, "openapi.payment.order.mina", biz),
    )
    sign_params = created.json()["data"]["sign_params"]
    paid = await client.post(PAYER_PATH, json={"sign_params": sign_params, "openid": "o"})
    assert paid.status_code == 200, paid.text


async def test_a_missing_worker_is_reported(world: ConsoleWorld, client: httpx.AsyncClient) -> None:
    await _paid_order(world, client)  # a notification is now due; no dispatcher runs here
    answer = await client.get("/readyz")
    assert answer.status_code == 200  # the gateways still serve: every one failing helps nobody
    (warning,) = answer.json()["warnings"]
    assert warning.startswith("worker missing: 1 notifications due")
    assert (await log_in(client)).status_code == 303
    page = await client.get("/console/")
    assert 'id="worker-missing"' in page.text
    # a dispatcher starting (its first heartbeat) clears it, once it has sent what was due
    attach_dispatcher(world.runtime)
    await world.runtime.start()

    async def beating() -> bool:
        health = await notification_health(world.runtime.db)
        return health.heartbeat_age_seconds is not None and not worker_missing(health)

    await eventually(beating)
    assert "warnings" not in (await client.get("/readyz")).json()
    assert 'id="worker-missing"' not in (await client.get("/console/")).text
