"""The sandbox's simulator control and payer endpoints need the admin token when the sandbox
listens on a non-loopback address; on loopback they stay open; WeChat's v3 endpoints are
unaffected (they check signatures)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from jubao.security.simulator_guard import guard_simulator, is_loopback
from tests.support.sandbox import running_sandbox

SIM = "/sim/wechatpay"


async def test_off_loopback_the_control_and_payer_endpoints_need_the_token(
    tmp_path: Path,
) -> None:
    async with running_sandbox(tmp_path / "data", host="0.0.0.0") as sandbox:
        token = sandbox.settings.admin_token
        assert len(token) >= 24
        # the gateway still reaches the simulator's v3 API: an order is created
        created = await sandbox.mina("guard-1", "0.01")
        assert created["result_code"] == 200, created

        assert (await sandbox.http.get(f"{SIM}/control/behaviour")).status_code == 401
        wrong = {"Authorization": "Bearer not-the-token"}
        assert (
            await sandbox.http.get(f"{SIM}/control/behaviour", headers=wrong)
        ).status_code == 401
        unpaid = await sandbox.pay(created["data"]["sign_params"])
        assert unpaid.status_code == 401

        right = {"Authorization": f"Bearer {token}"}
        assert (
            await sandbox.http.get(f"{SIM}/control/behaviour", headers=right)
        ).status_code == 200
        paid = await sandbox.http.post(
            f"{SIM}/request-payment",
            headers=right,
            json={"sign_params": created["data"]["sign_params"],
                  "openid": sandbox.info["demo_openid"]},
        )  # fmt: skip
        assert paid.status_code == 200, paid.text


async def test_on_loopback_they_stay_open(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path / "data") as sandbox:
        assert (await sandbox.http.get(f"{SIM}/control/behaviour")).status_code == 200


async def test_without_a_token_off_loopback_they_are_closed() -> None:
    inner = Starlette(
        routes=[Route("/control/x", lambda r: PlainTextResponse("ok")),
                Route("/v3/y", lambda r: PlainTextResponse("v3"))]
    )  # fmt: skip
    app = Starlette(
        routes=[Mount("/sim", app=guard_simulator(inner, host="0.0.0.0", admin_token=""))]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/sim/control/x")).status_code == 403
        assert (await client.get("/sim/v3/y")).text == "v3"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("::", False), ("192.168.1.5", False), ("sandbox.example", False)],
)  # fmt: skip
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
