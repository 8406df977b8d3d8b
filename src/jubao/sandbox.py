"""``jubao sandbox``: the gateway, the WeChat Pay and Alipay simulators and a demo merchant in
one process.

The channels are the real WeChat Pay and Alipay clients; they reach the simulators over HTTP under
``/sim/wechatpay`` and ``/sim/alipay`` exactly as they would reach WeChat and Alipay. Keys are
generated on first start and kept in the data dir; restarting keeps every order.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from jubao.channels.alipay_simulator import create_alipay_simulator_app
from jubao.channels.simulator import Simulator, SimulatorConfig, SpMerchant, create_simulator_app
from jubao.channels.wechatpay import WechatPayChannel, WechatPayConfig
from jubao.config import Settings
from jubao.kinds import ChannelName
from jubao.merchants.directory import MerchantDirectory
from jubao.merchants.models import Merchant, MerchantChannel
from jubao.private_keys import load_proven
from jubao.runtime import Runtime, build_runtime, with_master_key
from jubao.sandbox_alipay import (
    ALIPAY_PREFIX,
    AlipayBindings,
    alipay_channel_env,
    alipay_sandbox_info,
    bind_demo_merchant,
    load_or_create_alipay_credentials,
    sandbox_alipay_channel,
    sandbox_alipay_simulator,
)
from jubao.sandbox_learning import answer_again_after_learning
from jubao.secure_files import (
    create_secret_file,
    private_dir,
    update_secret_file,
    write_secret_file,
)
from jubao.security.keys import sealer_for
from jubao.security.simulator_guard import guard_simulator
from jubao.storage.database import open_database
from jubao.web.app import create_app

__all__ = ["SandboxCredentials", "build_sandbox", "load_sandbox_info"]

SIM_PREFIX = "/sim/wechatpay"
DEMO_OPENID = "oDemoPayer0000000000000000001"
DEMO_OPEN_ID = "oDemoPayerSp00000000000000001"
"""The test payer's openid under the service provider's official account (``open_id``)."""
DEMO_SUB_OPEN_ID = "oDemoPayerOa00000000000000001"
"""The test payer's openid under the demo merchant's official account (``sub_open_id``)."""


@dataclass(frozen=True)
class SandboxCredentials:
    """The service provider's identity at the (simulated) WeChat Pay."""

    sp_mchid: str
    sp_appid: str
    serial_no: str
    apiv3_key: str
    private_key_pem: bytes
    public_key_pem: bytes


def _alnum(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def load_or_create_credentials(folder: Path) -> SandboxCredentials:
    private_dir(folder, narrow=True)
    meta_file = folder / "sp.json"
    key_file = folder / "sp_private_key.pem"
    if not meta_file.exists() or not key_file.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        write_secret_file(
            key_file,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        meta = {
            "sp_mchid": "1900" + f"{secrets.randbelow(10**6):06d}",
            "sp_appid": "wx" + secrets.token_hex(8),
            "serial_no": secrets.token_hex(20).upper(),
            "apiv3_key": _alnum(32),
        }
        write_secret_file(meta_file, json.dumps(meta, indent=2))
    meta = json.loads(meta_file.read_text("utf-8"))
    private_pem = key_file.read_bytes()
    private_key = load_proven(private_pem)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SandboxCredentials(
        meta["sp_mchid"], meta["sp_appid"], meta["serial_no"], meta["apiv3_key"], private_pem,
        public_pem,
    )  # fmt: skip


async def _ensure_demo_merchant(
    runtime: Runtime, settings: Settings, credentials: SandboxCredentials
) -> dict[str, Any]:
    info_file = settings.data_dir / "sandbox.json"
    if info_file.exists():
        info: dict[str, Any] = json.loads(info_file.read_text("utf-8"))
        if await runtime.merchants.app(info["app_id"]) is not None:
            return await _ensure_official_account(runtime, info)
    directory = runtime.merchants
    merchant = await directory.create_merchant(
        "演示商户", "1900" + f"{secrets.randbelow(10**6):06d}", "wx" + secrets.token_hex(8)
    )
    new_app = await directory.create_app(merchant.merchant_id)
    store = await directory.create_store(merchant.merchant_id, "演示门店")
    cashier = await directory.create_cashier(store.store_id, "演示收银员")
    base = settings.resolved_public_url
    info = {
        "gateway_url": f"{base}/gateway",
        "app_id": new_app.app.app_id,
        "app_secret": new_app.app_secret,
        "merchant_id": merchant.merchant_id,
        "store_id": store.store_id,
        "cashier_id": cashier.cashier_id,
        "sub_mchid": merchant.sub_mchid,
        "sub_appid": merchant.sub_appid,
        "sp_mchid": credentials.sp_mchid,
        "sp_appid": credentials.sp_appid,
        "demo_openid": DEMO_OPENID,
        "simulator_url": f"{base}{SIM_PREFIX}",
        "sp_public_key": credentials.public_key_pem.decode("ascii"),
    }
    return await _ensure_official_account(runtime, info)


async def _ensure_demo_vendor(runtime: Runtime, info: dict[str, Any]) -> dict[str, Any]:
    """The demo service provider (Open API 2.0), owning the demo merchant; added to sandboxes
    made before it existed."""
    directory = runtime.merchants
    if info.get("vendor_sn") and await directory.vendor(info["vendor_sn"]) is not None:
        return info
    new_vendor = await directory.create_vendor("演示服务商")
    await directory.assign_vendor(int(info["merchant_id"]), new_vendor.vendor.vendor_sn)
    base = info["gateway_url"].removesuffix("/gateway")
    return {
        **info,
        "gateway_agent_url": f"{base}/gateway/agent",
        "vendor_sn": new_vendor.vendor.vendor_sn,
        "vendor_secret": new_vendor.vendor_secret,
    }


async def _ensure_official_account(runtime: Runtime, info: dict[str, Any]) -> dict[str, Any]:
    """The demo merchant's official account (its ``jsapi_app_id``, for ``h5pay`` and
    ``auth.auth``) and the test payer's openids; added to sandboxes made before it existed."""
    if info.get("jsapi_sub_appid"):
        return info
    jsapi_sub_appid = "wx" + secrets.token_hex(8)
    binding = MerchantChannel(
        ChannelName.WECHATPAY,
        info["sub_mchid"],
        mina_app_id=info["sub_appid"],
        jsapi_app_id=jsapi_sub_appid,
    )
    await runtime.merchants.bind_channel(int(info["merchant_id"]), binding)
    return {
        **info,
        "jsapi_sub_appid": jsapi_sub_appid,
        "open_id": DEMO_OPEN_ID,
        "sub_open_id": DEMO_SUB_OPEN_ID,
    }


def _sandbox_admin_token(folder: Path) -> str:
    """The sandbox's console/admin token: generated once, kept with its keys."""
    private_dir(folder, narrow=True)
    token_file = folder / "admin_token"
    if not token_file.exists():
        create_secret_file(token_file, secrets.token_urlsafe(24))
    return token_file.read_text("utf-8").strip()


def load_sandbox_info(data_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((data_dir / "sandbox.json").read_text("utf-8"))
    return data


def _simulator(
    settings: Settings, credentials: SandboxCredentials, overrides: dict[str, Any] | None
) -> Simulator:
    return Simulator(
        SimulatorConfig(
            data_dir=settings.data_dir / "simulator",
            merchants=[
                SpMerchant(
                    sp_mchid=credentials.sp_mchid,
                    sp_appids=[credentials.sp_appid],
                    api_public_key_pem=credentials.public_key_pem,
                    api_serial_no=credentials.serial_no,
                    apiv3_key=credentials.apiv3_key,
                    sub_merchants={},
                )
            ],
            # The sandbox publishes a day's trade bill at once (WeChat: the next morning), and
            # signs as the deployment verifies (JUBAO_WECHAT_PLATFORM_MODE).
            **{
                "bill_ready_hour": None,
                "platform_mode": settings.wechat_platform_mode,
                **(overrides or {}),
            },
        )
    )


class SubMerchantBindings:
    """Teaches the simulator jubao's sub-merchants. Merchants live in jubao's database and are
    often created by another process (``jubao merchant create`` against the same data dir, another
    gateway), so the simulator reads them all at start and again whenever a request names a
    sub-merchant it does not know yet (``answering``); no restart, no polling."""

    def __init__(self, simulator: Simulator, sp_mchid: str, merchants: MerchantDirectory) -> None:
        self._simulator = simulator
        self._sp_mchid = sp_mchid
        self._directory = merchants
        self._known: set[tuple[str, str]] = set()

    def learn(self, merchant: Merchant) -> None:
        wechat = merchant.channel(ChannelName.WECHATPAY)
        if wechat is None:
            return
        for appid in (wechat.mina_app_id, wechat.jsapi_app_id, None):
            key = (wechat.channel_merchant_id, appid or "")
            if key not in self._known:
                self._simulator.register_sub_merchant(self._sp_mchid, key[0], appid)
                self._known.add(key)

    async def sync(self) -> bool:
        """Register every merchant in the database; whether any was new."""
        known = len(self._known)
        for merchant in await self._directory.list_merchants():
            self.learn(merchant)
        return len(self._known) > known

    def answering(self, app: ASGIApp) -> ASGIApp:
        """``app`` (the simulator's), answering a request refused with ``MCH_NOT_EXISTS`` once
        more after learning new merchants from the database."""
        return answer_again_after_learning(app, _names_unknown_merchant, self.sync)


def _platform_keys(simulator: Simulator) -> dict[str, Any]:
    """How the sandbox's channel verifies its simulator: the mode the simulator signs in."""
    if simulator.config.platform_mode == "certificate":
        return {"platform_mode": "certificate"}
    return {
        "platform_public_key_pem": simulator.platform_public_key_pem,
        "public_key_id": simulator.public_key_id,
    }


def _names_unknown_merchant(status: int, body: bytes) -> bool:
    return status in (400, 404) and b'"MCH_NOT_EXISTS"' in body


def write_channel_env(
    data_dir: Path, base_url: str, credentials: SandboxCredentials, simulator: Simulator
) -> Path:
    """Write ``DATA_DIR/channel.env``: the ``JUBAO_*`` settings with which ``jubao serve`` and
    ``jubao worker`` use this simulator as their WeChat Pay (see docs/deploy.md)."""
    keys = (data_dir / "keys").resolve()
    public_key_file = keys / "wechatpay_public_key.pem"
    write_secret_file(public_key_file, simulator.platform_public_key_pem)
    certificate_mode = simulator.config.platform_mode == "certificate"
    env = {
        "JUBAO_WECHAT_BASE_URL": base_url,
        "JUBAO_SP_MCHID": credentials.sp_mchid,
        "JUBAO_SP_APPID": credentials.sp_appid,
        "JUBAO_SP_SERIAL_NO": credentials.serial_no,
        "JUBAO_SP_PRIVATE_KEY_FILE": str(keys / "sp_private_key.pem"),
        "JUBAO_APIV3_KEY": credentials.apiv3_key,
        # Certificate mode: no public key, the certificates come from /v3/certificates.
        "JUBAO_WECHAT_PUBLIC_KEY_FILE": "" if certificate_mode else str(public_key_file),
        "JUBAO_WECHAT_PUBLIC_KEY_ID": "" if certificate_mode else simulator.public_key_id,
        "JUBAO_WECHAT_PLATFORM_MODE": simulator.config.platform_mode,
    }
    return update_channel_env(data_dir, env)


def update_channel_env(data_dir: Path, env: dict[str, str]) -> Path:
    """Set ``env`` in ``DATA_DIR/channel.env``, keeping the other channel's lines (each simulator
    writes its own settings there, standalone or in the sandbox)."""
    path = data_dir / "channel.env"

    def change(text: str) -> str:
        kept = [
            line + "\n"
            for line in text.splitlines()
            if line.strip() and line.split("=", 1)[0] not in env
        ]
        return "".join(kept) + "".join(f"{key}={value}\n" for key, value in env.items())

    update_secret_file(path, change)
    return path


async def build_standalone_simulator(
    settings: Settings,
    *,
    channel: str = "wechatpay",
    simulator_overrides: dict[str, Any] | None = None,
) -> Starlette:
    """``jubao simulator``: one channel's simulator alone (``wechatpay`` or ``alipay``), as the
    upstream of ``jubao serve`` and ``jubao worker`` processes. It learns merchant bindings from
    jubao's database, since merchants are created there."""
    private_dir(settings.data_dir)
    db = await open_database(settings.resolved_database_url)
    # bindings carry sealed tokens: open them with the data dir's master key, as every command
    merchants = MerchantDirectory(db, sealer=sealer_for(with_master_key(settings)))
    if channel == "alipay":
        credentials_a = load_or_create_alipay_credentials(settings.data_dir / "keys")
        alipay = sandbox_alipay_simulator(settings, credentials_a, simulator_overrides)
        gateway_url = f"{settings.resolved_public_url}/gateway.do"
        update_channel_env(
            settings.data_dir, alipay_channel_env(settings.data_dir, gateway_url, credentials_a)
        )
        learned = AlipayBindings(alipay, merchants)
        start, stop, sync = alipay.start, alipay.stop, learned.sync
        simulator_app = learned.answering(create_alipay_simulator_app(alipay))
    else:
        credentials = load_or_create_credentials(settings.data_dir / "keys")
        simulator = _simulator(settings, credentials, simulator_overrides)
        write_channel_env(settings.data_dir, settings.resolved_public_url, credentials, simulator)
        bindings = SubMerchantBindings(simulator, credentials.sp_mchid, merchants)
        start, stop, sync = simulator.start, simulator.stop, bindings.sync
        simulator_app = bindings.answering(create_simulator_app(simulator))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await start()
        await sync()
        try:
            yield
        finally:
            await stop()
            await db.close()

    simulator_app = guard_simulator(
        simulator_app, host=settings.host, admin_token=settings.admin_token
    )
    return Starlette(routes=[Mount("/", app=simulator_app)], lifespan=lifespan)


async def build_sandbox(
    settings: Settings,
    *,
    simulator_overrides: dict[str, Any] | None = None,
    alipay_overrides: dict[str, Any] | None = None,
) -> tuple[Starlette, Runtime, Simulator, dict[str, Any]]:
    """Everything ``jubao sandbox`` serves. Returns the app, its runtime, the WeChat Pay
    simulator and the demo merchant's details (also written to ``DATA_DIR/sandbox.json``); the
    Alipay simulator is ``app.state.alipay_simulator``."""
    private_dir(settings.data_dir)
    if not settings.admin_token:
        settings = replace(settings, admin_token=_sandbox_admin_token(settings.data_dir / "keys"))
    settings = with_master_key(settings, create=True)  # sealed app secrets, key with the others
    credentials = load_or_create_credentials(settings.data_dir / "keys")
    simulator = _simulator(settings, credentials, simulator_overrides)
    simulator_url = f"{settings.resolved_public_url}{SIM_PREFIX}"
    settings = replace(  # the official-account OAuth goes to the simulator too
        settings,
        sp_appid=credentials.sp_appid,
        wechat_oauth_authorize_url=f"{simulator_url}/connect/oauth2/authorize",
        wechat_oauth_token_url=f"{simulator_url}/sns/oauth2/access_token",
    )
    channel = WechatPayChannel(
        WechatPayConfig(
            base_url=f"{settings.resolved_public_url}{SIM_PREFIX}",
            sp_mchid=credentials.sp_mchid,
            sp_appid=credentials.sp_appid,
            private_key_pem=credentials.private_key_pem,
            serial_no=credentials.serial_no,
            apiv3_key=credentials.apiv3_key,
            timeout=settings.wechat_timeout_seconds,
            **_platform_keys(simulator),
        )
    )
    alipay_credentials = load_or_create_alipay_credentials(settings.data_dir / "keys")
    alipay = sandbox_alipay_simulator(settings, alipay_credentials, alipay_overrides)
    alipay_url = f"{settings.resolved_public_url}{ALIPAY_PREFIX}"
    alipay_channel = sandbox_alipay_channel(
        settings, alipay_credentials, f"{alipay_url}/gateway.do"
    )
    runtime = await build_runtime(settings, channel, alipay_channel)
    write_channel_env(
        settings.data_dir, f"{settings.resolved_public_url}{SIM_PREFIX}", credentials, simulator
    )
    update_channel_env(
        settings.data_dir,
        alipay_channel_env(settings.data_dir, f"{alipay_url}/gateway.do", alipay_credentials),
    )
    info = await _ensure_demo_vendor(
        runtime, await _ensure_demo_merchant(runtime, settings, credentials)
    )
    simulator.set_payer_openid(credentials.sp_appid, info["open_id"])
    simulator.set_payer_openid(info["jsapi_sub_appid"], info["sub_open_id"])
    simulator.set_payer_openid(info["sub_appid"], info["demo_openid"])
    alipay_binding = await bind_demo_merchant(runtime.merchants, info["merchant_id"])
    info["alipay"] = alipay_sandbox_info(alipay_credentials, alipay_url, alipay_binding)
    info["console_url"] = f"{settings.resolved_public_url}/console"
    info["simulators_url"] = f"{settings.resolved_public_url}/sim"  # the sandbox payer's
    info["admin_token"] = settings.admin_token
    info_file = settings.data_dir / "sandbox.json"
    write_secret_file(info_file, json.dumps(info, ensure_ascii=False, indent=2))

    bindings = SubMerchantBindings(simulator, credentials.sp_mchid, runtime.merchants)

    async def start_simulator() -> None:
        await simulator.start()
        await bindings.sync()

    runtime.on_start.append(start_simulator)
    runtime.on_stop.append(simulator.stop)
    runtime.merchants.on_merchant_created.append(bindings.learn)
    alipay_bindings = AlipayBindings(alipay, runtime.merchants)

    async def start_alipay() -> None:
        await alipay.start()
        await alipay_bindings.sync()

    runtime.on_start.append(start_alipay)
    runtime.on_stop.append(alipay.stop)
    control = {"host": settings.host, "admin_token": settings.admin_token}
    app = create_app(
        runtime,
        [
            Mount(
                SIM_PREFIX,
                app=guard_simulator(bindings.answering(create_simulator_app(simulator)), **control),
            ),
            Mount(
                ALIPAY_PREFIX,
                app=guard_simulator(
                    alipay_bindings.answering(create_alipay_simulator_app(alipay)), **control
                ),
            ),
        ],
        payer_url=info["simulators_url"],
    )
    app.state.alipay_simulator = alipay  # for tests and tools holding the app
    return app, runtime, simulator, info
