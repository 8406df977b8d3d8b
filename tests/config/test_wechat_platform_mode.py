"""``JUBAO_WECHAT_PLATFORM_MODE``: a deployment verifies WeChat with the public key (default) or
with platform certificates; the standalone simulator writes a channel.env for the mode it signs in,
and ``serve``'s channel is built from it without a public key."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from jubao.channels.wechatpay import WechatPayChannel
from jubao.config import ConfigError, Settings
from jubao.config_check import warnings_for
from jubao.runtime import production_channel
from jubao.sandbox import build_standalone_simulator


def test_the_mode_is_validated() -> None:
    assert Settings.from_env(env={}).wechat_platform_mode == "public_key"
    chosen = Settings.from_env(env={"JUBAO_WECHAT_PLATFORM_MODE": "Certificate"})
    assert chosen.wechat_platform_mode == "certificate"
    with pytest.raises(ConfigError, match="JUBAO_WECHAT_PLATFORM_MODE"):
        Settings.from_env(env={"JUBAO_WECHAT_PLATFORM_MODE": "pubkey"})


def test_certificate_mode_needs_no_public_key() -> None:
    public = warnings_for(Settings(), {})
    assert any("JUBAO_WECHAT_PUBLIC_KEY_ID" in note for note in public)
    certificate = warnings_for(Settings(wechat_platform_mode="certificate"), {})
    assert any("JUBAO_SP_MCHID" in note for note in certificate)
    assert not any("JUBAO_WECHAT_PUBLIC_KEY" in note for note in certificate)


async def test_standalone_simulator_in_certificate_mode(tmp_path: Path) -> None:
    data_dir = tmp_path / "sim"
    configured = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{tmp_path}/db.sqlite3",
        wechat_platform_mode="certificate",
    )
    app = await build_standalone_simulator(configured)
    async with app.router.lifespan_context(app):
        pass
    settings = Settings.from_env(env={}, env_file=str(data_dir / "channel.env"))
    assert settings.wechat_platform_mode == "certificate"
    assert (settings.wechat_public_key_file, settings.wechat_public_key_id) == ("", "")
    channel = production_channel(settings)
    assert isinstance(channel, WechatPayChannel)
    await channel.aclose()
    with pytest.raises(SystemExit, match="WECHAT_PUBLIC_KEY"):
        production_channel(replace(settings, wechat_platform_mode="public_key"))
