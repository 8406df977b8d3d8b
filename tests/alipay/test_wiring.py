"""The Alipay channel built from settings (``jubao serve`` / ``worker``), and real processes:
`jubao simulator --channel alipay` and the WeChat simulator as upstreams of `jubao serve`, a
merchant created and bound to Alipay with the CLI, paying through the standalone simulator."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from jubao.channels.alipay import AlipayChannel
from jubao.channels.alipay_simulator import generate_sandbox_keys
from jubao.config import Settings
from jubao.config_check import warnings_for
from jubao.kinds import ChannelName
from jubao.runtime import alipay_channel, production_channels
from jubao.sandbox_alipay import public_key_pem
from tests.support import fubei
from tests.support.cli import field, jubao_async
from tests.support.processes import Managed, managed, read_env
from tests.support.sandbox import running_sandbox
from tests.support.servers import free_port


def alipay_settings(tmp_path: Path, **more: str) -> dict[str, str]:
    keys = generate_sandbox_keys()
    private = tmp_path / "app_private_key.pem"
    public = tmp_path / "alipay_public_key.pem"
    private.write_text(keys.app_private_key)
    public.write_text(public_key_pem(keys.alipay_public_key))
    return {
        "JUBAO_ALIPAY_APP_ID": "2021000000000001",
        "JUBAO_ALIPAY_PRIVATE_KEY_FILE": str(private),
        "JUBAO_ALIPAY_PUBLIC_KEY_FILE": str(public),
        **more,
    }


def test_alipay_alone_is_a_complete_configuration(tmp_path: Path) -> None:
    settings = Settings.from_env(env=alipay_settings(tmp_path))
    channels = production_channels(settings)
    assert [channel.name for channel in channels] == [ChannelName.ALIPAY]
    assert isinstance(channels[0], AlipayChannel)
    assert not any("WeChat" in note for note in warnings_for(settings, {}))


def test_without_alipay_settings_there_is_no_alipay_channel(tmp_path: Path) -> None:
    assert alipay_channel(Settings(data_dir=tmp_path)) is None
    with pytest.raises(SystemExit, match="missing WeChat Pay settings"):
        production_channels(Settings(data_dir=tmp_path))


def test_half_an_alipay_configuration_names_what_is_missing(tmp_path: Path) -> None:
    env = alipay_settings(tmp_path)
    del env["JUBAO_ALIPAY_PUBLIC_KEY_FILE"]
    settings = Settings.from_env(env=env)
    with pytest.raises(SystemExit, match="JUBAO_ALIPAY_PUBLIC_KEY_FILE"):
        alipay_channel(settings)
    assert any("JUBAO_ALIPAY_PUBLIC_KEY_FILE" in note for note in warnings_for(settings, {}))


def test_a_key_file_that_is_not_a_key_stops_the_start(tmp_path: Path) -> None:
    env = alipay_settings(tmp_path)
    Path(env["JUBAO_ALIPAY_PRIVATE_KEY_FILE"]).write_text("not a key")
    with pytest.raises(SystemExit, match="key files cannot be used"):
        alipay_channel(Settings.from_env(env=env))


def test_a_bad_gateway_url_is_a_bad_setting(tmp_path: Path) -> None:
    from jubao.config import ConfigError

    with pytest.raises(ConfigError, match="JUBAO_ALIPAY_GATEWAY_URL"):
        Settings.from_env(env=alipay_settings(tmp_path, JUBAO_ALIPAY_GATEWAY_URL="ftp://x"))


async def test_serve_with_both_standalone_simulators(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database_url = f"sqlite:///{tmp_path}/jubao.sqlite3"
    base = {k: v for k, v in os.environ.items() if not k.startswith("JUBAO_")}
    common = {**base, "JUBAO_DATA_DIR": str(data_dir), "JUBAO_DATABASE_URL": database_url}
    wechat_port, alipay_port, gateway_port = free_port(), free_port(), free_port()
    with managed() as started:
        for name, port, extra, ready in (  # ready: it has written its lines of channel.env
            ("wechat", wechat_port, [], "/control/behaviour"),
            ("alipay", alipay_port, ["--channel", "alipay"], "/control/merchants"),
        ):
            sim = Managed(
                f"{name}-simulator",
                ["simulator", "--port", str(port), *extra],
                common,
                tmp_path / f"{name}.log",
                health_url=f"http://127.0.0.1:{port}{ready}",
            )
            sim.start()
            started.append(sim)
            await sim.wait_ready()
        channel_env = read_env(data_dir / "channel.env")
        # each simulator wrote its own lines, keeping the other's
        assert (
            channel_env["JUBAO_ALIPAY_GATEWAY_URL"] == f"http://127.0.0.1:{alipay_port}/gateway.do"
        )
        assert channel_env["JUBAO_SP_MCHID"]

        # a merchant made with the CLI, bound to Alipay with the CLI
        env = {"JUBAO_DATA_DIR": str(data_dir), "JUBAO_DATABASE_URL": database_url}
        created = await jubao_async(
            "merchant", "create", "--name", "M", "--sub-mchid", "1900000109",
            "--sub-appid", "wx0000000000000001", env=env,
        )  # fmt: skip
        assert created.exit_code == 0, created.output
        merchant_id = field(created.output, "merchant_id")
        app_id, secret = field(created.output, "app_id"), field(created.output, "app_secret")
        store = await jubao_async(
            "store", "create", "--merchant-id", merchant_id, "--name", "S", env=env
        )
        store_id = field(store.output, "store_id")
        bad = await jubao_async(
            "merchant", "bind-alipay", merchant_id, "--pid", "123", "--auth-token", "t", env=env
        )
        assert bad.exit_code != 0 and "--pid" in bad.output
        bound = await jubao_async(
            "merchant", "bind-alipay", merchant_id, "--pid", "2088000000000777",
            "--auth-token", "202611BBcli-token", env=env,
        )  # fmt: skip
        assert bound.exit_code == 0, bound.output
        listed = await jubao_async("merchant", "list", env=env)
        assert "alipay_pid=2088000000000777" in listed.output

        gateway = Managed(
            "serve",
            ["serve", "--env-file", str(data_dir / "channel.env")],
            {**common, "JUBAO_PORT": str(gateway_port), "JUBAO_ALLOW_PLAINTEXT_SECRETS": "true"},
            tmp_path / "serve.log",
            health_url=f"http://127.0.0.1:{gateway_port}/healthz",
        )
        gateway.start()
        started.append(gateway)
        await gateway.wait_ready()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway_port}") as http:
            biz = {
                "merchant_order_sn": "proc-ali-1",
                "total_fee": "0.05",
                "store_id": store_id,
                "auth_code": "280000000000990001",
            }
            content = fubei.body(app_id, secret, "openapi.payment.order.swipe", biz)
            answer = await http.post(
                "/gateway", content=content, headers={"Content-Type": "application/json"}
            )
        assert answer.status_code == 200, answer.text
        data = answer.json()
        assert data["result_code"] == 200, (data, gateway.log.read_text()[-2000:])
        assert data["data"]["trade_state"] == "SUCCESS" and data["data"]["type"] == 2
        # the standalone simulator learned the CLI's binding from the database
        async with httpx.AsyncClient() as http:
            trade = await http.get(
                f"http://127.0.0.1:{alipay_port}/control/trades/{data['data']['order_sn']}",
                params={"seller_id": "2088000000000777"},
            )
        assert trade.status_code == 200 and trade.json()["status"] == "TRADE_SUCCESS", trade.text


async def test_off_loopback_the_alipay_payer_and_controls_need_the_token(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path / "data", host="0.0.0.0") as sandbox:
        biz = {"merchant_order_sn": "guard-ali", "total_fee": "0.01", "type": 2}
        created = await sandbox.call(
            "openapi.payment.order.scan", {**biz, "store_id": sandbox.info["store_id"]}
        )
        assert created["result_code"] == 200, created  # the gateway.do API is not guarded
        qr = {"qr_code": created["data"]["qr_code"]}
        assert (await sandbox.http.post("/sim/alipay/payer/scan", json=qr)).status_code == 401
        assert (await sandbox.http.get("/sim/alipay/control/behaviour")).status_code == 401
        right = {"Authorization": f"Bearer {sandbox.settings.admin_token}"}
        paid = await sandbox.http.post("/sim/alipay/payer/scan", json=qr, headers=right)
        assert paid.status_code == 200 and paid.json()["resultCode"] == "9000", paid.text
