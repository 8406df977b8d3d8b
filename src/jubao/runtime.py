"""The composition root: ``Runtime`` (everything a running jubao process holds) and how it is
built from settings. Shared by ``jubao serve``, ``jubao worker`` and ``jubao sandbox``; the web
app (``jubao.web.app``) and the CLI (``jubao.cli``) sit above it, nothing below imports it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from jubao.background import Periodic
from jubao.channels.alipay import AlipayChannel, AlipayConfig
from jubao.channels.base import Channel
from jubao.channels.registry import ChannelRegistry
from jubao.channels.timed import TimedChannel
from jubao.channels.wechatpay import WechatPayChannel, WechatPayConfig
from jubao.config import Settings
from jubao.errors import SealingError
from jubao.merchants.directory import MerchantDirectory
from jubao.notify.dispatcher import Dispatcher
from jubao.observe.heartbeat import heartbeat_task
from jubao.payments.service import PaymentService
from jubao.reconciliation.service import Reconciler
from jubao.security.idempotency import RequestLedger
from jubao.security.keys import (
    load_or_create_master_key,
    private_key_pem,
    sealer_for,
    warn_if_unsealed,
)
from jubao.security.replay import ReplayGuard
from jubao.storage.database import Database, open_database

__all__ = [
    "Runtime",
    "alipay_channel",
    "attach_dispatcher",
    "build_runtime",
    "master_key_file",
    "production_channel",
    "production_channels",
    "require_sealed_secrets",
    "schedule_reconciliation",
    "with_master_key",
]


@dataclass
class Runtime:
    """Everything a running jubao process holds, built once at start-up."""

    settings: Settings
    db: Database
    merchants: MerchantDirectory
    payments: PaymentService
    channels: ChannelRegistry
    reconciler: Reconciler
    background: list[Periodic] = field(default_factory=list)
    dispatcher: Dispatcher | None = None  # merchant notifications, where this process sends them
    on_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def poke_dispatcher(self) -> None:
        """Wake this process's dispatcher (after a resend commits), if it runs one."""
        if self.dispatcher is not None:
            self.dispatcher.poke()

    async def start(self) -> None:
        for hook in self.on_start:
            await hook()
        for task in self.background:
            task.start()

    async def stop(self) -> None:
        for task in self.background:
            await task.stop()
        await self.payments.aclose()
        for hook in reversed(self.on_stop):
            await hook()
        await self.channels.aclose()
        await self.db.close()


def attach_dispatcher(runtime: Runtime) -> Dispatcher:
    """The runtime's notification dispatcher, created and hooked to its start/stop if it has none
    yet. Idempotent, so ``build_runtime`` and a test harness can both ask for one."""
    if runtime.dispatcher is not None:
        return runtime.dispatcher
    dispatcher = Dispatcher(runtime.db, runtime.settings)
    runtime.dispatcher = dispatcher
    runtime.on_start.append(dispatcher.start)
    runtime.on_stop.append(dispatcher.stop)
    # /readyz, /metrics and the console tell a missing dispatcher by its heartbeat
    runtime.background.append(heartbeat_task(runtime.db))
    return dispatcher


def schedule_reconciliation(runtime: Runtime) -> None:
    """The worker's morning reconciliation of yesterday (docs/reconciliation.md): checked every
    few minutes, run once per day and channel across every worker sharing the database."""
    hour = runtime.settings.reconciliation_hour
    runtime.background.append(
        Periodic(
            "reconciliation",
            runtime.settings.reconciliation_check_seconds,
            lambda: runtime.reconciler.run_due(hour),
        )
    )


def master_key_file(data_dir: Path) -> Path:
    """Where the sandbox keeps its generated master key (docs/security.md)."""
    return data_dir / "keys" / "master_key"


def with_master_key(settings: Settings, *, create: bool = False) -> Settings:
    """``settings`` with the master key every command seals and opens app secrets with:
    ``JUBAO_MASTER_KEY`` if set, else ``DATA_DIR/keys/master_key`` if that file exists (``create``:
    generate it first, as the sandbox does). Without either, the settings stay keyless."""
    if settings.master_key:
        return settings
    path = master_key_file(settings.data_dir)
    if create:
        return replace(settings, master_key=load_or_create_master_key(path.parent))
    if not path.is_file():
        return settings
    try:
        text = path.read_text("utf-8").strip()
    except OSError as exc:
        raise SealingError(f"cannot read the master key {path}: {exc.strerror}") from None
    return replace(settings, master_key=text) if text else settings


def require_sealed_secrets(settings: Settings) -> None:
    """A production process (``serve``, ``worker``) refuses to run keyless, which would store
    new app secrets in plaintext, unless the operator says so explicitly."""
    if not settings.master_key and not settings.allow_plaintext_secrets:
        raise SealingError(
            "no master key: set JUBAO_MASTER_KEY (`jubao secrets new-key` makes one) or put it "
            "in DATA_DIR/keys/master_key; JUBAO_ALLOW_PLAINTEXT_SECRETS=true runs without "
            "sealing app secrets (not recommended)"
        )


def wechat_required_fields(settings: Settings) -> tuple[str, ...]:
    """The WeChat settings ``serve`` and ``worker`` need: the public key and its id only in
    public-key mode (certificate mode downloads the platform certificates)."""
    if settings.wechat_platform_mode == "certificate":
        return _WECHAT_FIELDS[:5]
    return _WECHAT_FIELDS


def production_channel(settings: Settings) -> Channel:
    """The WeChat Pay channel configured from settings (keys read from files)."""
    missing = [name for name in wechat_required_fields(settings) if not getattr(settings, name)]
    if missing:
        names = ", ".join(f"JUBAO_{name.upper()}" for name in missing)
        raise SystemExit(f"missing WeChat Pay settings: {names}")
    if bool(settings.wechat_public_key_file) != bool(settings.wechat_public_key_id):
        raise SystemExit("JUBAO_WECHAT_PUBLIC_KEY_FILE and JUBAO_WECHAT_PUBLIC_KEY_ID go together")
    try:
        key_pem = private_key_pem(
            Path(settings.sp_private_key_file), settings.sp_private_key_passphrase
        )
    except SealingError as exc:
        raise SystemExit(exc.detail) from None
    public_key = settings.wechat_public_key_file
    return WechatPayChannel(
        WechatPayConfig(
            base_url=settings.wechat_base_url,
            sp_mchid=settings.sp_mchid,
            sp_appid=settings.sp_appid,
            private_key_pem=key_pem,
            serial_no=settings.sp_serial_no,
            apiv3_key=settings.apiv3_key,
            platform_public_key_pem=Path(public_key).read_bytes() if public_key else None,
            public_key_id=settings.wechat_public_key_id,
            timeout=settings.wechat_timeout_seconds,
            platform_mode=settings.wechat_platform_mode,
            rsa_threads=settings.rsa_threads,
        )
    )


_WECHAT_FIELDS = (
    "sp_mchid",
    "sp_appid",
    "sp_serial_no",
    "sp_private_key_file",
    "apiv3_key",
    "wechat_public_key_file",
    "wechat_public_key_id",
)
_ALIPAY_FIELDS = ("alipay_app_id", "alipay_private_key_file", "alipay_public_key_file")


def alipay_channel(settings: Settings) -> AlipayChannel | None:
    """The Alipay channel configured from settings, or ``None`` when none of its settings is
    set. Half a configuration stops the process, naming what is missing."""
    if not any(getattr(settings, name) for name in _ALIPAY_FIELDS):
        return None
    missing = [name for name in _ALIPAY_FIELDS if not getattr(settings, name)]
    if missing:
        names = ", ".join(f"JUBAO_{name.upper()}" for name in missing)
        raise SystemExit(f"missing Alipay settings: {names}")
    try:
        return AlipayChannel(
            AlipayConfig(
                gateway_url=settings.alipay_gateway_url,
                app_id=settings.alipay_app_id,
                app_private_key=Path(settings.alipay_private_key_file).read_text("ascii"),
                alipay_public_key=Path(settings.alipay_public_key_file).read_text("ascii"),
                timeout=settings.alipay_timeout_seconds,
                sys_service_provider_id=settings.alipay_sys_service_provider_id or None,
                oauth_authorize_url=settings.alipay_oauth_authorize_url,
                rsa_threads=settings.rsa_threads,
            )
        )
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SystemExit(f"Alipay settings: the key files cannot be used ({exc})") from None


def production_channels(settings: Settings) -> list[Channel]:
    """Every channel the settings configure (``serve`` and ``worker``): WeChat Pay when any of
    its settings is set or Alipay is not configured either (so a bare start names the missing
    WeChat settings), Alipay when its settings are."""
    alipay = alipay_channel(settings)
    wechat_wanted = alipay is None or any(getattr(settings, name) for name in _WECHAT_FIELDS)
    channels: list[Channel] = [production_channel(settings)] if wechat_wanted else []
    return [*channels, alipay] if alipay is not None else channels


async def build_runtime(
    settings: Settings, *channels: Channel, maintenance: bool = True
) -> Runtime:
    """A runtime reaching ``channels`` (each channel under its own name)."""
    registry = ChannelRegistry(TimedChannel(channel) for channel in channels)
    db = await open_database(settings.resolved_database_url)
    warn_if_unsealed(settings)
    merchants = MerchantDirectory(db, sealer=sealer_for(settings))
    payments = PaymentService(db, registry, merchants, settings)
    reconciler = Reconciler(db, registry, merchants, payments)
    runtime = Runtime(settings, db, merchants, payments, registry, reconciler)
    if maintenance:

        async def maintain() -> None:
            await payments.expire_due()
            await payments.reconcile_refunds()
            await payments.reconcile_pending()
            await payments.settle_payment_codes()
            await ReplayGuard(db).purge()  # strict-nonce rows older than 24 h
            await RequestLedger(db).purge()  # first answers of identical requests, after 24 h

        runtime.background.append(
            Periodic("maintenance", settings.maintenance_interval_seconds, maintain)
        )
        attach_dispatcher(runtime)
    return runtime
