"""Builds a ``Runtime`` (database, directory, service, channel, background work) from settings.
Shared by ``jubao serve``, ``jubao worker`` and ``jubao sandbox``."""

from __future__ import annotations

from pathlib import Path

from jubao.channels.base import Channel
from jubao.channels.timed import TimedChannel
from jubao.channels.wechatpay import WechatPayChannel, WechatPayConfig
from jubao.config import Settings
from jubao.errors import SealingError
from jubao.merchants.directory import MerchantDirectory
from jubao.notify.wiring import attach_dispatcher
from jubao.payments.service import PaymentService
from jubao.security.keys import private_key_pem, sealer_for, warn_if_unsealed
from jubao.security.replay import ReplayGuard
from jubao.storage.database import open_database
from jubao.web.app import Runtime
from jubao.web.background import Periodic

__all__ = ["build_runtime", "production_channel"]


def production_channel(settings: Settings) -> Channel:
    """The WeChat Pay channel configured from settings (keys read from files)."""
    missing = [
        name
        for name in (
            "sp_mchid",
            "sp_appid",
            "sp_serial_no",
            "sp_private_key_file",
            "apiv3_key",
            "wechat_public_key_file",
            "wechat_public_key_id",
        )
        if not getattr(settings, name)
    ]
    if missing:
        names = ", ".join(f"JUBAO_{name.upper()}" for name in missing)
        raise SystemExit(f"missing WeChat Pay settings: {names}")
    try:
        key_pem = private_key_pem(
            Path(settings.sp_private_key_file), settings.sp_private_key_passphrase
        )
    except SealingError as exc:
        raise SystemExit(exc.detail) from None
    return WechatPayChannel(
        WechatPayConfig(
            base_url=settings.wechat_base_url,
            sp_mchid=settings.sp_mchid,
            sp_appid=settings.sp_appid,
            private_key_pem=key_pem,
            serial_no=settings.sp_serial_no,
            apiv3_key=settings.apiv3_key,
            platform_public_key_pem=Path(settings.wechat_public_key_file).read_bytes(),
            public_key_id=settings.wechat_public_key_id,
            timeout=settings.wechat_timeout_seconds,
        )
    )


async def build_runtime(
    settings: Settings, channel: Channel, *, maintenance: bool = True
) -> Runtime:
    channel = TimedChannel(channel)
    db = await open_database(settings.resolved_database_url)
    warn_if_unsealed(settings)
    merchants = MerchantDirectory(db, sealer=sealer_for(settings))
    payments = PaymentService(db, channel, merchants, settings)
    runtime = Runtime(settings, db, merchants, payments, channel)
    if maintenance:

        async def maintain() -> None:
            await payments.expire_due()
            await payments.reconcile_refunds()
            await payments.reconcile_pending()
            await ReplayGuard(db).purge()  # strict-nonce rows older than 24 h

        runtime.background.append(
            Periodic("maintenance", settings.maintenance_interval_seconds, maintain)
        )
        attach_dispatcher(runtime)
    return runtime
