"""Console test support: a runtime over a fake channel (no simulator needed), the console app
built around it, and a logged-in httpx client."""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from jubao.channels.base import (
    ChannelBinding,
    ChannelRefund,
    ChannelTransaction,
    NotificationAnswer,
    PaymentInstruction,
    PaymentRequest,
    RefundEvent,
    RefundRequest,
    RefundStatus,
    StatementLine,
    TradeStatus,
    TransactionEvent,
    WalletPackage,
)
from jubao.config import Settings
from jubao.errors import ChannelNotificationRejected
from jubao.kinds import ChannelName, Scene
from jubao.runtime import Runtime, attach_dispatcher, build_runtime
from jubao.sandbox import build_sandbox
from jubao.web.app import create_app
from jubao.web.console.routes import console_routes
from tests.support.sandbox import RunningSandbox
from tests.support.servers import free_port, serve_asgi

ADMIN_TOKEN = "console-test-token-0123456789"
PAYER_ROOT = "/fake"  # where a sandbox would mount its simulators
PAYER_PATH = f"{PAYER_ROOT}/wechatpay/request-payment"


class FakeChannel:
    """Answers like a channel that accepts everything: prepay ids, instant refunds."""

    name = ChannelName.WECHATPAY

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.prepaid: dict[str, str] = {}  # prepay_id -> out_trade_no
        self.amounts: dict[str, int] = {}  # out_trade_no -> total_fen
        self.statement: list[StatementLine] = []  # what fetch_statement answers

    def supports(self, scene: Scene) -> bool:
        return scene == Scene.MINA

    async def create_payment(self, request: PaymentRequest) -> PaymentInstruction:
        prepay_id = f"wx{next(self._ids):030d}"
        self.prepaid[prepay_id] = request.out_trade_no
        self.amounts[request.out_trade_no] = request.total_fen
        params = {
            "appId": request.binding.app_id or "",
            "timeStamp": "1700000000",
            "nonceStr": "nonce",
            "package": f"prepay_id={prepay_id}",
            "signType": "RSA",
            "paySign": "sig",
        }
        return WalletPackage(prepay_id, params)

    async def query(self, binding: ChannelBinding, out_trade_no: str) -> ChannelTransaction:
        return ChannelTransaction(out_trade_no, TradeStatus.PENDING)

    async def close(self, binding: ChannelBinding, out_trade_no: str) -> None:
        return None

    async def refund(self, request: RefundRequest) -> ChannelRefund:
        return ChannelRefund(
            request.out_refund_no, RefundStatus.SUCCESS, f"r-{request.out_refund_no}"
        )

    async def cancel(self, binding: ChannelBinding, out_trade_no: str) -> None:
        return None

    async def query_refund(
        self, binding: ChannelBinding, out_trade_no: str, out_refund_no: str
    ) -> ChannelRefund:
        return ChannelRefund(out_refund_no, RefundStatus.SUCCESS)

    async def fetch_statement(
        self, day: date, binding: ChannelBinding | None = None
    ) -> list[StatementLine]:
        return list(self.statement)

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> TransactionEvent | RefundEvent:
        raise ChannelNotificationRejected("the fake channel takes no callbacks")

    def notification_answer(self, accepted: bool, reason: str = "") -> NotificationAnswer:
        return NotificationAnswer(204 if accepted else 400)

    async def aclose(self) -> None:
        return None


def fake_payer(runtime: Runtime, channel: FakeChannel) -> Route:
    """What the simulator's request-payment does, in miniature: the payment is reported to the
    gateway (here: straight to the service) and answered."""

    async def pay(request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        match = re.fullmatch(r"prepay_id=(\w+)", body["sign_params"]["package"])
        out_trade_no = channel.prepaid.get(match.group(1)) if match else None
        if out_trade_no is None:
            return JSONResponse({"code": "PARAM_ERROR", "message": "unknown prepay_id"}, 400)
        transaction = ChannelTransaction(
            out_trade_no,
            TradeStatus.PAID,
            transaction_id=f"42000{out_trade_no}",
            success_time=datetime.now(UTC),
            payer_id=body["openid"],
            total_fen=channel.amounts[out_trade_no],
        )
        event = TransactionEvent("evt", transaction)
        await runtime.payments.handle_channel_event(ChannelName.WECHATPAY, event)
        return JSONResponse({"status": "SUCCESS"})

    return Route(PAYER_PATH, pay, methods=["POST"])


@dataclass
class ConsoleWorld:
    runtime: Runtime
    channel: FakeChannel
    app: Starlette
    app_id: str
    store_id: int


async def build_world(
    data_dir: Path,
    *,
    database_url: str = "",
    admin_token: str = ADMIN_TOKEN,
    payer_base: str = "http://testserver",
) -> ConsoleWorld:
    settings = Settings.from_env(
        env={}, data_dir=data_dir, database_url=database_url, admin_token=admin_token
    )
    channel = FakeChannel()
    runtime = await build_runtime(settings, channel, maintenance=False)
    merchant = await runtime.merchants.create_merchant("测试商户", "1900000001", "wx0123456789")
    new_app = await runtime.merchants.create_app(merchant.merchant_id, "http://127.0.0.1:9/cb")
    store = await runtime.merchants.create_store(merchant.merchant_id, "一号店")
    routes = [fake_payer(runtime, channel)]
    app = create_app(runtime, routes)
    if not any(getattr(route, "path", None) == "/console" for route in app.routes):
        app.router.routes.extend(console_routes(runtime, payer_url=payer_base + PAYER_ROOT))
    return ConsoleWorld(runtime, channel, app, new_app.app.app_id, store.store_id)


@contextlib.asynccontextmanager
async def client_for(world: ConsoleWorld) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def hidden(html: str, name: str) -> str:
    """The value of a hidden form field (the first one with that name)."""
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


async def log_in(client: httpx.AsyncClient, token: str = ADMIN_TOKEN) -> httpx.Response:
    page = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"csrf": hidden(page.text, "csrf"), "token": token, "next": "/console/"},
    )


# ---- the real sandbox, with the console and the notification dispatcher ----------------------


@contextlib.asynccontextmanager
async def running_console_sandbox(
    data_dir: Path, **overrides: Any
) -> AsyncIterator[RunningSandbox]:
    """``tests.support.sandbox.running_sandbox`` plus the console (mounted here unless the app
    already has it) and the notification dispatcher (attached unless the runtime has one)."""
    port = free_port()
    settings = Settings.from_env(
        env={}, data_dir=data_dir, port=port, notify_allow_private=True, **overrides
    )
    app, runtime, simulator, info = await build_sandbox(settings)
    if not any(getattr(route, "path", None) == "/console" for route in app.routes):
        payer_url = f"{settings.resolved_public_url}/sim"  # where the simulators are mounted
        app.router.routes.extend(console_routes(runtime, payer_url=payer_url))
    attach_dispatcher(runtime)
    async with serving(app, port):
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield RunningSandbox(
                url, info, runtime, simulator, settings, http, app.state.alipay_simulator
            )


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, port: int) -> AsyncIterator[None]:
    async with serve_asgi(app, port):
        yield


@dataclass
class Receiver:
    """A merchant's notification endpoint: answers ``success`` and keeps what it got."""

    url: str
    received: list[dict[str, str]]


@contextlib.asynccontextmanager
async def merchant_receiver() -> AsyncIterator[Receiver]:
    received: list[dict[str, str]] = []

    async def notify(request: Request) -> Response:
        form = await request.form()
        received.append({key: str(value) for key, value in form.items()})
        return PlainTextResponse("success")

    port = free_port()
    async with serving(Starlette(routes=[Route("/notify", notify, methods=["POST"])]), port):
        yield Receiver(f"http://127.0.0.1:{port}/notify", received)
