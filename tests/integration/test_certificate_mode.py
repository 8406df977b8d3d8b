"""A sandbox in platform-certificate mode (``JUBAO_WECHAT_PLATFORM_MODE=certificate``): the
simulator signs with its platform certificate, the gateway's channel holds no public key and
verifies with the certificates it downloaded; a payment is notified and applied."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.support.sandbox import RunningSandbox, running_sandbox
from tests.support.waiting import eventually

QUERY = "openapi.payment.order.query"


@pytest.fixture
async def sandbox(tmp_path: Path, database_url: str) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(
        tmp_path / "data",
        database_url=database_url,
        simulator_overrides={"time_scale": 0.01},
        wechat_platform_mode="certificate",
        reconcile_after_seconds=3600.0,  # paid only through the notification
        pending_reconcile_seconds=3600.0,
    ) as running:
        yield running


async def test_payment_notified_and_verified_by_certificate(sandbox: RunningSandbox) -> None:
    created = await sandbox.mina("cert-mode-1", "0.07")
    assert created["result_code"] == 200, created
    paid = await sandbox.pay(created["data"]["sign_params"])
    assert paid.status_code == 200, paid.text

    async def delivered() -> bool:
        log = sandbox.simulator.notifications()
        return bool(log) and log[0]["state"] == "delivered"

    await eventually(delivered)
    answer = await sandbox.call(QUERY, {"merchant_order_sn": "cert-mode-1"})
    assert answer["data"]["trade_state"] == "SUCCESS"
    (certificate,) = sandbox.simulator.platform_certificates()
    assert sandbox.simulator.config.platform_mode == "certificate"
    assert not certificate["serial_no"].startswith("PUB_KEY_ID")

    env = (sandbox.settings.data_dir / "channel.env").read_text("utf-8").splitlines()
    assert "JUBAO_WECHAT_PLATFORM_MODE=certificate" in env
    assert "JUBAO_WECHAT_PUBLIC_KEY_ID=" in env
