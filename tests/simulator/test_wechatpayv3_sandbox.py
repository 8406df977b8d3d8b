"""A third-party WeChat Pay v3 client (``wechatpayv3`` from PyPI) pointed at the sandbox's
simulator exactly as a user would set it up: API root = ``simulator_url`` from sandbox.json (the
simulator mounted at ``/sim/wechatpay``), keys from ``channel.env``. The client signs the path
relative to that root (``/v3/pay/partner/...``), as it would for WeChat, and the simulator
accepts it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from jubao.sandbox import load_sandbox_info
from tests.support.sandbox import running_sandbox

wechatpayv3 = pytest.importorskip("wechatpayv3")


def _channel_env(data_dir: Path) -> dict[str, str]:
    lines = (data_dir / "channel.env").read_text("utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line)


def _client(info: dict[str, Any], env: dict[str, str]) -> Any:
    client = wechatpayv3.WeChatPay(
        wechatpay_type=wechatpayv3.WeChatPayType.MINIPROG,
        mchid=info["sp_mchid"],
        private_key=Path(env["JUBAO_SP_PRIVATE_KEY_FILE"]).read_text("ascii"),
        cert_serial_no=env["JUBAO_SP_SERIAL_NO"],
        appid=info["sp_appid"],
        apiv3_key=env["JUBAO_APIV3_KEY"],
        notify_url="https://merchant.example/wechat/notify",
        partner_mode=True,
        public_key=Path(env["JUBAO_WECHAT_PUBLIC_KEY_FILE"]).read_text("ascii"),
        public_key_id=env["JUBAO_WECHAT_PUBLIC_KEY_ID"],
    )
    client._core._gate_way = info["simulator_url"]  # configuration: where "WeChat" is
    return client


async def test_wechatpayv3_with_the_sandbox_simulator_url_as_api_root(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path / "data") as sandbox:
        info = load_sandbox_info(sandbox.settings.data_dir)
        assert info["simulator_url"] == f"{sandbox.url}/sim/wechatpay"
        client = _client(info, _channel_env(sandbox.settings.data_dir))

        # wechatpayv3 verifies every 2xx answer's signature itself (it raises otherwise).
        code, text = await asyncio.to_thread(
            client.pay,
            description="第三方客户端",
            out_trade_no="wpv3-sandbox-1",
            amount={"total": 1},
            payer={"sub_openid": info["demo_openid"]},
            sub_mchid=info["sub_mchid"],
            sub_appid=info["sub_appid"],
        )
        assert code == 200, text
        prepay_id = json.loads(text)["prepay_id"]

        code, text = await asyncio.to_thread(
            client.query, out_trade_no="wpv3-sandbox-1", sub_mchid=info["sub_mchid"]
        )
        assert code == 200, text
        transaction = json.loads(text)
        assert transaction["trade_state"] == "NOTPAY"
        assert transaction["out_trade_no"] == "wpv3-sandbox-1"
        assert transaction["sub_mchid"] == info["sub_mchid"]
        assert transaction["amount"]["total"] == 1

        # The simulator really holds that order, with the prepay_id the client was given.
        state = await sandbox.http.get("/sim/wechatpay/control/transactions/wpv3-sandbox-1")
        assert state.status_code == 200, state.text
        assert [item["prepay_id"] for item in state.json()["prepays"]] == [prepay_id]
