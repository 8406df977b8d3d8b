"""The sandbox's Alipay: the Alipay simulator (mounted at ``/sim/alipay``, or standalone), the
keys the ISV app and "Alipay" sign with (generated on first start, kept in ``DATA_DIR/keys``),
the real ``AlipayChannel`` reaching the simulator over HTTP, and the demo merchant's binding."""

from __future__ import annotations

import base64
import json
import secrets
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from jubao.channels.alipay import AlipayChannel, AlipayConfig
from jubao.channels.alipay_simulator import (
    AlipayMerchant,
    AlipaySimulator,
    AlipaySimulatorConfig,
    generate_sandbox_keys,
)
from jubao.config import Settings
from jubao.kinds import ChannelName
from jubao.merchants.directory import MerchantDirectory
from jubao.merchants.models import Merchant, MerchantChannel
from jubao.sandbox_learning import answer_again_after_learning
from jubao.secure_files import create_secret_file, private_dir, write_secret_file

__all__ = [
    "ALIPAY_PREFIX",
    "DEMO_BUYER_ID",
    "AlipayBindings",
    "AlipayCredentials",
    "alipay_channel_env",
    "bind_demo_merchant",
    "load_or_create_alipay_credentials",
    "sandbox_alipay_channel",
    "sandbox_alipay_simulator",
]

ALIPAY_PREFIX = "/sim/alipay"
DEMO_BUYER_ID = "2088000000000042"  # a test buyer (user_id) for Alipay.H5


@dataclass(frozen=True)
class AlipayCredentials:
    """The ISV app at the (simulated) Alipay: its app_id and PID, and both key pairs."""

    app_id: str
    isv_pid: str
    app_private_key: str = field(repr=False)  # PKCS#1 PEM
    app_public_key: str  # bare base64, as Alipay's portal shows it
    alipay_private_key: str = field(repr=False)
    alipay_public_key: str


def _digits(count: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(count))


def load_or_create_alipay_credentials(folder: Path) -> AlipayCredentials:
    """``DATA_DIR/keys/alipay.json`` (mode 600), generated on first start; never committed."""
    private_dir(folder, narrow=True)
    path = folder / "alipay.json"
    if not path.exists():
        keys = generate_sandbox_keys()
        data = {
            "app_id": "2021" + _digits(12),
            "isv_pid": "2088" + _digits(12),
            "app_private_key": keys.app_private_key,
            "app_public_key": keys.app_public_key,
            "alipay_private_key": keys.alipay_private_key,
            "alipay_public_key": keys.alipay_public_key,
        }
        create_secret_file(path, json.dumps(data, indent=2))
    return AlipayCredentials(**json.loads(path.read_text("utf-8")))


def public_key_pem(bare: str) -> str:
    """A bare base64 SubjectPublicKeyInfo as PEM (what most SDKs take)."""
    body = "\n".join(textwrap.wrap("".join(bare.split()), 64))
    base64.b64decode(body.replace("\n", ""), validate=True)  # refuse anything else early
    return f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"


def sandbox_alipay_simulator(
    settings: Settings, credentials: AlipayCredentials, overrides: dict[str, Any] | None = None
) -> AlipaySimulator:
    return AlipaySimulator(
        AlipaySimulatorConfig(
            data_dir=settings.data_dir / "alipay_simulator",
            app_id=credentials.app_id,
            app_public_key=credentials.app_public_key,
            alipay_private_key=credentials.alipay_private_key,
            isv_pid=credentials.isv_pid,
            **{
                "same_day_bills": True,  # today reconciles at once
                "authorising_buyer": DEMO_BUYER_ID,
                **(overrides or {}),
            },
        )
    )


def authorize_url(gateway_url: str) -> str:
    """The simulator's user-authorisation page, beside its ``gateway.do``."""
    return gateway_url.removesuffix("/gateway.do") + "/oauth2/publicAppAuthorize.htm"


def sandbox_alipay_channel(
    settings: Settings, credentials: AlipayCredentials, gateway_url: str
) -> AlipayChannel:
    return AlipayChannel(
        AlipayConfig(
            gateway_url=gateway_url,
            app_id=credentials.app_id,
            app_private_key=credentials.app_private_key,
            alipay_public_key=credentials.alipay_public_key,
            timeout=settings.alipay_timeout_seconds,
            oauth_authorize_url=authorize_url(gateway_url),
        )
    )


async def bind_demo_merchant(directory: MerchantDirectory, merchant_id: int) -> MerchantChannel:
    """The demo merchant's Alipay binding (a PID and an app_auth_token), made once."""
    merchant = await directory.merchant(merchant_id)
    bound = merchant.channel(ChannelName.ALIPAY) if merchant is not None else None
    if bound is not None:
        return bound
    binding = MerchantChannel(
        ChannelName.ALIPAY,
        "2088" + _digits(12),
        auth_token=f"202611BB{secrets.token_hex(16)}",
    )
    await directory.bind_channel(merchant_id, binding)
    return binding


def alipay_sandbox_info(
    credentials: AlipayCredentials, simulator_url: str, binding: MerchantChannel
) -> dict[str, Any]:
    """``sandbox.json``'s ``alipay`` object: what a client of the simulator needs."""
    return {
        "gateway_url": f"{simulator_url}/gateway.do",
        "simulator_url": simulator_url,
        "app_id": credentials.app_id,
        "app_private_key": credentials.app_private_key,
        "alipay_public_key": public_key_pem(credentials.alipay_public_key),
        "pid": binding.channel_merchant_id,
        "app_auth_token": binding.auth_token,
        "buyer_id": DEMO_BUYER_ID,
    }


def alipay_channel_env(
    data_dir: Path, gateway_url: str, credentials: AlipayCredentials
) -> dict[str, str]:
    """The ``JUBAO_ALIPAY_*`` settings with which ``jubao serve`` and ``jubao worker`` use this
    simulator as their Alipay; the key files are written beside the others."""
    keys = (data_dir / "keys").resolve()
    private_file = keys / "alipay_app_private_key.pem"
    public_file = keys / "alipay_public_key.pem"
    write_secret_file(private_file, credentials.app_private_key)
    write_secret_file(public_file, public_key_pem(credentials.alipay_public_key))
    return {
        "JUBAO_ALIPAY_GATEWAY_URL": gateway_url,
        "JUBAO_ALIPAY_OAUTH_AUTHORIZE_URL": authorize_url(gateway_url),
        "JUBAO_ALIPAY_APP_ID": credentials.app_id,
        "JUBAO_ALIPAY_PRIVATE_KEY_FILE": str(private_file),
        "JUBAO_ALIPAY_PUBLIC_KEY_FILE": str(public_file),
    }


class AlipayBindings:
    """Teaches the Alipay simulator the merchants bound to Alipay in jubao's database (their PID
    and app_auth_token): all at start, and again when a call names a token it does not know."""

    def __init__(self, simulator: AlipaySimulator, merchants: MerchantDirectory) -> None:
        self._simulator = simulator
        self._directory = merchants
        self._known: set[str] = set()

    def learn(self, merchant: Merchant) -> None:
        bound = merchant.channel(ChannelName.ALIPAY)
        if bound is None or not bound.auth_token or bound.auth_token in self._known:
            return
        self._simulator.register_merchant(
            AlipayMerchant(bound.channel_merchant_id, bound.auth_token)
        )
        self._known.add(bound.auth_token)

    async def sync(self) -> bool:
        """Register every bound merchant in the database; whether any was new."""
        known = len(self._known)
        for merchant in await self._directory.list_merchants():
            self.learn(merchant)
        return len(self._known) > known

    def answering(self, app: ASGIApp) -> ASGIApp:
        return answer_again_after_learning(app, _names_unknown_token, self.sync)


def _names_unknown_token(status: int, body: bytes) -> bool:
    return status == 200 and b"aop.invalid-app-auth-token" in body
