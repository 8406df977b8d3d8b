"""A restart on the same data_dir keeps the platform key, the orders and unfinished work."""

from __future__ import annotations

from pathlib import Path

import httpx

from jubao.channels.simulator import Simulator
from tests.simulator.support import (
    SP_MCHID,
    FakeClock,
    Merchant,
    Receiver,
    host_app,
    make_simulator,
    verify_signed,
)


def _client(sim: Simulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=host_app(sim)), base_url="http://t")


async def test_restart_keeps_keys_orders_refunds_and_bindings(tmp_path: Path) -> None:
    clock = FakeClock()
    first = make_simulator(Receiver(), tmp_path, clock)
    await first.start()
    first.register_sub_merchant(SP_MCHID, "1900000888", "wxregistered000001")
    async with _client(first) as http:
        merchant = Merchant(http, clock)
        transaction_id = await merchant.paid_order()
        await merchant.prepay("order-0002")
        assert (await merchant.refund("order-0001", "r1", 10)).status_code == 200
        await first.idle()
    await first.stop()

    second = make_simulator(Receiver(), tmp_path, clock)
    assert second.public_key_id == first.public_key_id
    assert second.platform_public_key_pem == first.platform_public_key_pem
    await second.start()
    async with _client(second) as http:
        merchant = Merchant(http, clock)
        paid = await merchant.query("order-0001")
        verify_signed(paid.headers, paid.content, second)
        assert paid.json()["transaction_id"] == transaction_id
        assert paid.json()["trade_state"] == "REFUND"
        assert (await merchant.query_refund("r1")).json()["status"] == "SUCCESS"
        # the unpaid order is still payable with its prepay_id
        again = await merchant.prepay("order-0002")
        assert (await merchant.pay(again.json()["prepay_id"])).status_code == 200
        assert (
            await merchant.prepay(
                "order-0003", sub_mchid="1900000888", sub_appid="wxregistered000001"
            )
        ).status_code == 200
    assert len(second.notifications("order-0001")) == 2
    await second.stop()


async def test_pending_work_resumes_after_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    receiver = Receiver(statuses=[500])
    # slow retries and settlement, so that both are unfinished when the simulator stops
    first = make_simulator(receiver, tmp_path, clock, time_scale=1.0, refund_delay_seconds=60)
    async with _client(first) as http:
        merchant = Merchant(http, clock)
        await merchant.paid_order()
        await receiver.wait_for(1)
        assert (await merchant.refund("order-0001", "r1", 10)).status_code == 200
    await first.stop()
    assert first.notifications()[0]["state"] == "pending"

    clock.advance(3600)  # both are overdue by the time the simulator comes back
    receiver2 = Receiver()
    second = make_simulator(receiver2, tmp_path, clock, time_scale=1.0, refund_delay_seconds=60)
    await second.start()
    await second.idle()
    events = sorted(n["event_type"] for n in second.notifications())
    assert events == ["REFUND.SUCCESS", "TRANSACTION.SUCCESS"]
    assert all(n["state"] == "delivered" for n in second.notifications())
    payment = second.notifications("order-0001")[0]
    assert [a["status_code"] for a in payment["attempts"]] == [500, 200]
    assert len(receiver2.received) == 2
    await second.stop()


async def test_in_memory_simulator_needs_no_data_dir() -> None:
    sim = make_simulator(Receiver())
    assert sim.public_key_id.startswith("PUB_KEY_ID_")
    await sim.start()
    await sim.stop()
