"""``/metrics``: behind the admin token; its values move as requests are made, payments are
paid, notifications delivered and channel calls fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.console.support import ADMIN_TOKEN, ConsoleWorld, build_world, client_for
from tests.notify.support import running_receiver
from tests.ops.support import samples, value
from tests.support import fubei
from tests.support.sandbox import RunningSandbox, running_sandbox
from tests.support.waiting import eventually

MINA = "openapi.payment.order.mina"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[ConsoleWorld]:
    built = await build_world(tmp_path / "data")
    try:
        yield built
    finally:
        await built.runtime.stop()


@pytest.fixture
async def client(world: ConsoleWorld) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(world) as http:
        yield http


async def scrape(http: httpx.AsyncClient, token: str = ADMIN_TOKEN) -> str:
    answer = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


async def test_metrics_need_the_admin_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 401
    wrong = await client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}x"})
    assert wrong.status_code == 401


async def test_metrics_are_refused_without_a_configured_token(tmp_path: Path) -> None:
    world = await build_world(tmp_path / "data", admin_token="")
    try:
        async with client_for(world) as http:
            assert (await http.get("/metrics")).status_code == 403
    finally:
        await world.runtime.stop()


async def test_gateway_counters_and_histograms_move(
    world: ConsoleWorld, client: httpx.AsyncClient
) -> None:
    app = await world.runtime.merchants.app(world.app_id)
    assert app is not None
    before = await scrape(client)
    biz = {"merchant_order_sn": "M-1", "sub_openid": "o", "total_fee": "0.01",
           "store_id": world.store_id}  # fmt: skip
    ok = await client.post("/gateway", content=fubei.body(app.app_id, app.app_secret, MINA, biz))
    assert ok.json()["result_code"] == 200, ok.text
    await client.post("/gateway", content=fubei.body(app.app_id, "wrong", MINA, biz))
    await client.post("/gateway", content=fubei.body(app.app_id, app.app_secret, "no.such", {}))
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("jubao_gateway_requests_total", method=MINA, sub_code="SUCCESS") == 1
    assert moved("jubao_gateway_requests_total", method=MINA, sub_code="SIGN_ERROR") == 1
    # an unknown method is counted under "other": labels stay a bounded set
    assert (
        moved("jubao_gateway_requests_total", method="other", sub_code="METHOD_NOT_SUPPORTED") == 1
    )
    assert moved("jubao_gateway_seconds_count", method=MINA) == 2
    # the fake channel never goes on the wire: nothing waited on a channel (the sandbox's real
    # one is counted in test_payments_notifications_and_channel_errors_move)
    assert moved("jubao_upstream_seconds_count", method=MINA) == 0
    assert moved("jubao_order_events_total", event="CREATED") == 1
    assert "no.such" not in after


async def test_notification_gauges_come_from_the_database(
    world: ConsoleWorld, client: httpx.AsyncClient
) -> None:
    text = await scrape(client)
    assert value(text, "jubao_notifications_pending") == 0
    # no dispatcher in this runtime (like `jubao serve`): nobody ever beat
    assert value(text, "jubao_worker_heartbeat_age_seconds") == float("inf")


async def _paid_order(sandbox: RunningSandbox, merchant_order_sn: str, callback: str) -> None:
    created = await sandbox.mina(merchant_order_sn, call_back_url=callback)
    assert created["result_code"] == 200, created
    paid = await sandbox.pay(created["data"]["sign_params"])
    assert paid.status_code == 200, paid.text


async def test_payments_notifications_and_channel_errors_move(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path / "data") as sandbox, running_receiver() as receiver:
        token = sandbox.settings.admin_token
        before = await scrape(sandbox.http, token)
        await _paid_order(sandbox, "PAY-1", receiver.callback_url)

        async def delivered() -> bool:
            text = await scrape(sandbox.http, token)
            name = "jubao_notification_deliveries_total"
            return (
                value(text, name, outcome="DELIVERED") - value(before, name, outcome="DELIVERED")
                == 1
            )

        await eventually(delivered)
        sandbox.simulator.inject_faults(1, 500, "SYSTEM_ERROR")
        failed = await sandbox.mina("PAY-2")
        assert failed["result_code"] != 200
        after = await scrape(sandbox.http, token)
        assert (
            value(after, "jubao_order_events_total", event="PAID")
            - value(before, "jubao_order_events_total", event="PAID")
            == 1
        )
        # what this test moved (the counters are per process: other tests' errors stay out)
        earlier = samples(before)
        errors = {
            labels: sample - earlier.get((name, labels), 0.0)
            for (name, labels), sample in samples(after).items()
            if name == "jubao_channel_errors_total" and sample > earlier.get((name, labels), 0.0)
        }
        assert sum(errors.values()) >= 1
        assert all(dict(labels)["channel"] == "wechatpay" for labels in errors)
        # both orders went on the wire to the channel (the second one's answer was a fault)
        mina = "openapi.payment.order.mina"
        waited = value(after, "jubao_upstream_seconds_count", method=mina) - value(
            before, "jubao_upstream_seconds_count", method=mina
        )
        assert waited == 2
        # the sandbox runs the dispatcher: its heartbeat is fresh
        assert value(after, "jubao_worker_heartbeat_age_seconds") < 60
