"""Runs a real sandbox (gateway + simulator, real uvicorn on a loopback port) inside a test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from jubao.channels.alipay_simulator import AlipaySimulator
from jubao.channels.simulator import Simulator
from jubao.config import Settings
from jubao.runtime import Runtime
from jubao.sandbox import build_sandbox
from tests.support import fubei
from tests.support.servers import listening_socket, serve_asgi


@dataclass
class RunningSandbox:
    url: str
    info: dict[str, Any]
    runtime: Runtime
    simulator: Simulator
    settings: Settings
    http: httpx.AsyncClient
    alipay: AlipaySimulator

    @property
    def alipay_info(self) -> dict[str, Any]:
        """``sandbox.json``'s ``alipay`` object."""
        info: dict[str, Any] = self.info["alipay"]
        return info

    async def call(self, method: str, biz: dict[str, Any] | str, **extra: str) -> dict[str, Any]:
        """Sign as the demo merchant would (independent signer) and POST to /gateway."""
        return await self.call_as(
            self.info["app_id"], self.info["app_secret"], method, biz, **extra
        )

    async def call_as(
        self, app_id: str, app_secret: str, method: str, biz: dict[str, Any] | str, **extra: str
    ) -> dict[str, Any]:
        """The same with another app's credentials."""
        content = fubei.body(app_id, app_secret, method, biz, **extra)
        answer = await self.http.post(
            "/gateway", content=content, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def agent(self, method: str, biz: dict[str, Any] | str, **extra: str) -> dict[str, Any]:
        """Sign as the demo vendor (Open API 2.0, service-provider level) and POST to
        /gateway/agent; ``merchant_id`` is the demo merchant's unless ``biz`` names one."""
        if isinstance(biz, dict):
            biz = {"merchant_id": self.info["merchant_id"], **biz}
        return await self.agent_as(
            self.info["vendor_sn"], self.info["vendor_secret"], method, biz, "vendor_sn", **extra
        )

    async def agent_as(
        self,
        credential: str,
        secret: str,
        method: str,
        biz: dict[str, Any] | str,
        id_key: str = "app_id",
        **extra: str,
    ) -> dict[str, Any]:
        """POST to /gateway/agent signed by an app (``id_key="app_id"``) or a vendor."""
        content = fubei.body(credential, secret, method, biz, id_key=id_key, **extra)
        answer = await self.http.post(
            "/gateway/agent", content=content, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def mina(
        self, merchant_order_sn: str, total_fee: Any = "0.01", **biz: Any
    ) -> dict[str, Any]:
        return await self.call(
            "openapi.payment.order.mina",
            {
                "merchant_order_sn": merchant_order_sn,
                "sub_openid": self.info["demo_openid"],
                "total_fee": total_fee,
                "store_id": self.info["store_id"],
                **biz,
            },
        )

    async def pay(self, sign_params: dict[str, Any], openid: str | None = None) -> httpx.Response:
        return await self.http.post(
            "/sim/wechatpay/request-payment",
            json={"sign_params": sign_params, "openid": openid or self.info["demo_openid"]},
        )


@contextlib.asynccontextmanager
async def running_sandbox(
    data_dir: Path,
    simulator_overrides: dict[str, Any] | None = None,
    alipay_overrides: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[RunningSandbox]:
    # held from here on, so no parallel test takes the port the settings name
    with listening_socket() as sock:
        port = sock.getsockname()[1]
        settings = Settings.from_env(
            env={},
            data_dir=data_dir,
            port=port,
            notify_allow_private=True,
            **overrides,
        )
        app, runtime, simulator, info = await build_sandbox(
            settings, simulator_overrides=simulator_overrides, alipay_overrides=alipay_overrides
        )
        async with (
            serve_asgi(app, sock=sock) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):
            # the settings the sandbox runs with (its generated admin token and master key set)
            yield RunningSandbox(
                url, info, runtime, simulator, runtime.settings, http, app.state.alipay_simulator
            )
