"""The real WeChat channel against the real simulator, in one process: the channel's HTTP goes
through ``httpx.ASGITransport`` into the simulator mounted as the sandbox mounts it, so every
request, answer, bill and notification crosses the wire format for real."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization

from jubao.channels.base import (
    ChannelBinding,
    PaymentRequest,
    QrContent,
    RefundRequest,
    WalletPackage,
)
from jubao.channels.simulator import Simulator
from jubao.channels.wechatpay import WechatPayChannel, WechatPayConfig
from jubao.kinds import ChannelName, Scene
from tests.simulator.support import (
    APIV3_KEY,
    OPENID,
    OTHER_SUB_MCHID,
    PREFIX,
    SERIAL_NO,
    SP_APPID,
    SP_MCHID,
    SUB_APPID,
    SUB_MCHID,
    FakeClock,
    Receiver,
    host_app,
    make_simulator,
    sp_private_key,
)

BASE_URL = f"http://sim.test{PREFIX}"
NOTIFY_URL = "https://jubao.example.com/channel/wechatpay/notify"
BINDING = ChannelBinding(ChannelName.WECHATPAY, SUB_MCHID, SUB_APPID)
OTHER_BINDING = ChannelBinding(ChannelName.WECHATPAY, OTHER_SUB_MCHID, None)

Tamper = Callable[[httpx.Request, httpx.Response], httpx.Response]


class _Transport(httpx.AsyncBaseTransport):
    """The simulator's ASGI app, with an optional man in the middle for the answers."""

    def __init__(self, inner: httpx.AsyncBaseTransport, tamper: Tamper | None) -> None:
        self._inner = inner
        self.tamper = tamper
        self.sent: list[httpx.Request] = []

    def count(self, path_suffix: str) -> int:
        """How many requests went to a path ending so (e.g. ``/v3/certificates``)."""
        return sum(1 for request in self.sent if request.url.path.endswith(path_suffix))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        response = await self._inner.handle_async_request(request)
        if self.tamper is None:
            return response
        await response.aread()
        return self.tamper(request, response)


@dataclass
class Simulated:
    sim: Simulator
    channel: WechatPayChannel
    clock: FakeClock
    receiver: Receiver
    transport: _Transport

    def payment(self, out_trade_no: str, total_fen: int, **changes: Any) -> PaymentRequest:
        values: dict[str, Any] = {
            "binding": BINDING,
            "scene": Scene.MINA,
            "out_trade_no": out_trade_no,
            "description": "聚宝测试, 咖啡",
            "total_fen": total_fen,
            "notify_url": NOTIFY_URL,
            "time_expire": self.clock() + timedelta(minutes=30),
            "payer_id": OPENID,
        }
        values.update(changes)
        return PaymentRequest(**values)

    async def pay(self, out_trade_no: str, total_fen: int) -> None:
        """A mini-program payment, paid by the test payer."""
        instruction = await self.channel.create_payment(self.payment(out_trade_no, total_fen))
        assert isinstance(instruction, WalletPackage)
        self.sim.request_payment(dict(instruction.params), OPENID)

    async def pay_by_qr(self, out_trade_no: str, total_fen: int, binding: ChannelBinding) -> None:
        request = self.payment(
            out_trade_no, total_fen, binding=binding, scene=Scene.NATIVE, payer_id=None
        )
        instruction = await self.channel.create_payment(request)
        assert isinstance(instruction, QrContent)
        self.sim.scan_and_pay(instruction.code)

    async def pay_and_notify(self, out_trade_no: str, total_fen: int) -> httpx.Request:
        """Pay; returns the TRANSACTION.SUCCESS notification WeChat sent about it."""
        before = len(self.receiver.received)
        await self.pay(out_trade_no, total_fen)
        await self.receiver.wait_for(before + 1)
        return self.receiver.received[before]

    async def refund(self, out_trade_no: str, out_refund_no: str, refund: int, total: int) -> None:
        await self.channel.refund(
            RefundRequest(BINDING, out_trade_no, out_refund_no, refund, total, NOTIFY_URL)
        )
        await self.sim.idle()  # settled (a few time-scaled milliseconds)


def channel_config(sim: Simulator, **overrides: Any) -> WechatPayConfig:
    values: dict[str, Any] = {
        "base_url": BASE_URL,
        "sp_mchid": SP_MCHID,
        "sp_appid": SP_APPID,
        "private_key_pem": sp_private_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        "serial_no": SERIAL_NO,
        "apiv3_key": APIV3_KEY,
        "platform_public_key_pem": sim.platform_public_key_pem,
        "public_key_id": sim.public_key_id,
    }
    values.update(overrides)
    return WechatPayConfig(**values)


@contextlib.asynccontextmanager
async def simulated(
    channel_overrides: dict[str, Any] | None = None, **sim_config: Any
) -> AsyncIterator[Simulated]:
    receiver = Receiver()
    clock = FakeClock()
    sim = make_simulator(receiver, clock=clock, **sim_config)
    await sim.start()
    transport = _Transport(httpx.ASGITransport(app=host_app(sim)), None)
    config = channel_config(sim, **(channel_overrides or {}))
    http = httpx.AsyncClient(transport=transport)
    channel = WechatPayChannel(config, http_client=http, clock=clock)
    try:
        yield Simulated(sim, channel, clock, receiver, transport)
    finally:
        await http.aclose()
        await sim.stop()
