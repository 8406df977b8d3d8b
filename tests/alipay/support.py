"""The Alipay test world: the simulator served by uvicorn on a loopback port, a merchant's
notify_url served beside it, and an ``AlipayChannel`` pointed at the simulator."""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from jubao.channels.alipay import AlipayChannel, AlipayConfig
from jubao.channels.alipay_simulator import (
    AlipayMerchant,
    AlipaySandboxKeys,
    AlipaySimulator,
    AlipaySimulatorConfig,
    create_alipay_simulator_app,
    generate_sandbox_keys,
)
from jubao.channels.base import ChannelBinding, PaymentRequest, RefundEvent, TransactionEvent
from jubao.errors import ChannelNotificationRejected
from jubao.kinds import ChannelName, Scene
from tests.support.servers import serve_asgi

ISV_APP_ID = "2021000000000001"
MERCHANT_PID = "2088000000000101"
MERCHANT_TOKEN = "202601BB8c3e3a8bc25a4d7b1f3f4b1a0f1a2X01"
MERCHANT_APP_ID = "2021000000000101"
OTHER_PID = "2088000000000102"
OTHER_TOKEN = "202601BB0000000000000000000000000000aX02"
PREFIX = "/sim/alipay"


@functools.cache
def sandbox_keys() -> AlipaySandboxKeys:
    return generate_sandbox_keys()


class OffsetClock:
    """The real clock plus an offset tests move forward (background sleeps stay real)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class Receiver:
    """The merchant's notify_url. It answers ``answers`` in turn, then the channel's own answer
    (``success`` once the notification verifies)."""

    channel: AlipayChannel | None = None
    answers: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    events: list[TransactionEvent | RefundEvent] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        self.bodies.append(body)
        if self.answers:
            return Response(self.answers.pop(0), 200, media_type="text/plain")
        assert self.channel is not None
        try:
            self.events.append(self.channel.parse_notification(request.headers, body))
            answer = self.channel.notification_answer(True)
        except ChannelNotificationRejected as error:
            self.rejected.append(error.message)
            answer = self.channel.notification_answer(False, error.message)
        return Response(answer.body, answer.status, media_type=answer.media_type)


@dataclass
class World:
    sim: AlipaySimulator
    channel: AlipayChannel
    receiver: Receiver
    clock: OffsetClock
    base_url: str  # the simulator's root
    notify_url: str
    http: httpx.AsyncClient
    binding: ChannelBinding = field(
        default_factory=lambda: ChannelBinding(
            ChannelName.ALIPAY, MERCHANT_PID, auth_token=MERCHANT_TOKEN
        )
    )

    async def control(self, verb: str, path: str, /, **payload: Any) -> Any:
        answer = await self.http.request(
            verb, self.base_url + path, json=payload if payload else None
        )
        return answer.status_code, answer.json()

    def payment(self, scene: Scene, total_fen: int = 1234, **changes: Any) -> PaymentRequest:
        values: dict[str, Any] = {
            "binding": self.binding,
            "scene": scene,
            "out_trade_no": new_out_trade_no(),
            "description": "测试商品",
            "total_fen": total_fen,
            "notify_url": self.notify_url,
            "time_expire": self.clock() + timedelta(minutes=30),
        }
        values.update(changes)
        return PaymentRequest(**values)


def new_out_trade_no() -> str:
    return "2026" + "".join(str(secrets.randbelow(10)) for _ in range(16))


def payment_code(suffix: str = "0") -> str:
    """An Alipay payment code (18 digits from 28); ``suffix`` picks the payer. The default ends in
    0, a payer who pays at once: random last four digits were 2222 etc. once in 2,500 codes."""
    body = "".join(str(secrets.randbelow(10)) for _ in range(16 - len(suffix)))
    return "28" + body + suffix


def simulator_config(
    data_dir: Path | None, clock: Callable[[], datetime] | None = None, **changes: Any
) -> AlipaySimulatorConfig:
    keys = sandbox_keys()
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "app_id": ISV_APP_ID,
        "app_public_key": keys.app_public_key,
        "alipay_private_key": keys.alipay_private_key,
        "merchants": [
            AlipayMerchant(MERCHANT_PID, MERCHANT_TOKEN, MERCHANT_APP_ID),
            AlipayMerchant(OTHER_PID, OTHER_TOKEN),
        ],
        "notify_schedule": (240, 600, 600, 3600),
        "time_scale": 0.0005,
        "password_delay_seconds": 0.3 / 0.0005,
        "clock": clock,
    }
    values.update(changes)
    return AlipaySimulatorConfig(**values)


def channel_config(gateway_url: str, **changes: Any) -> AlipayConfig:
    keys = sandbox_keys()
    values: dict[str, Any] = {
        "gateway_url": gateway_url,
        "app_id": ISV_APP_ID,
        "app_private_key": keys.app_private_key,
        "alipay_public_key": keys.alipay_public_key,
        "timeout": 5.0,
    }
    values.update(changes)
    return AlipayConfig(**values)


@contextlib.asynccontextmanager
async def world(data_dir: Path | None = None, **sim_changes: Any) -> AsyncIterator[World]:
    clock = OffsetClock()
    receiver = Receiver()
    sim = AlipaySimulator(simulator_config(data_dir, clock, **sim_changes))
    host = Starlette(
        routes=[
            Mount(PREFIX, app=create_alipay_simulator_app(sim)),
            Route("/merchant/alipay/notify", receiver.endpoint, methods=["POST"]),
        ]
    )
    await sim.start()
    try:
        async with (
            serve_asgi(host, lifespan="off") as url,
            httpx.AsyncClient() as http,
            httpx.AsyncClient() as channel_http,
        ):
            # An injected httpx client, the seam most tests use (test_lean_transport and
            # test_channel_failures build channels over their own lean client).
            channel = AlipayChannel(
                channel_config(f"{url}{PREFIX}/gateway.do"), http_client=channel_http, clock=clock
            )
            receiver.channel = channel
            try:
                yield World(
                    sim,
                    channel,
                    receiver,
                    clock,
                    url + PREFIX,
                    f"{url}/merchant/alipay/notify",
                    http,
                )
            finally:
                await channel.aclose()
    finally:
        await sim.stop()
