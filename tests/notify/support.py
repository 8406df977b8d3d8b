"""Test support: a real merchant receiver (uvicorn on a loopback port) and a paid order whose
notification row is written by the real transition (``mark_paid``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from jubao.config import Settings
from jubao.kinds import ChannelName, Scene
from jubao.merchants import repository as merchant_repo
from jubao.notify.dispatcher import Dispatcher
from jubao.notify.urlguard import UrlGuard
from jubao.payments import repository as payment_repo
from jubao.payments.views import order_view
from jubao.storage.database import Database
from jubao.storage.sql import Row, Tx, fetch_all, fetch_one
from tests.support.servers import serve_asgi

SECRET = "1809d9615714ab8fdc90d0d838a0f2e1"


def fast_settings(**overrides: Any) -> Settings:
    """Tiny schedule and timeout so a whole retry history takes well under a second."""
    values: dict[str, Any] = {
        "notify_schedule": (0.05, 0.05, 0.05),
        "notify_timeout_seconds": 1.0,
        "notify_allow_private": True,
        "notify_lease_seconds": 5.0,
        "notify_concurrency": 8,
    }
    values.update(overrides)
    return dataclasses.replace(Settings(), **values)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = "success"
    delay: float = 0.0
    hold: bool = False  # wait until the test opens ``Receiver.gate``


@dataclass
class Hit:
    path: str
    form: dict[str, str]
    headers: dict[str, str]

    @property
    def data(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.form["data"])
        return parsed


@dataclass
class Receiver:
    """A merchant's notify endpoint. ``script`` answers in order; the last answer repeats."""

    url: str = ""
    script: list[Answer] = field(default_factory=lambda: [Answer()])
    hits: list[Hit] = field(default_factory=list)
    redirect_target_hits: int = 0
    in_flight: Counter[str] = field(default_factory=Counter)
    max_in_flight: Counter[str] = field(default_factory=Counter)
    first_hit: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def answer(self, *answers: Answer) -> None:
        self.script = list(answers)

    @property
    def callback_url(self) -> str:
        return f"{self.url}/notify"

    async def _notify(self, request: Request) -> Response:
        raw = (await request.body()).decode("utf-8")
        form = {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}
        hit = Hit(request.url.path, form, dict(request.headers))
        self.hits.append(hit)
        self.first_hit.set()
        key = str(hit.data.get("order_sn"))
        self.in_flight[key] += 1
        self.max_in_flight[key] = max(self.max_in_flight[key], self.in_flight[key])
        answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        try:
            if answer.delay:
                await asyncio.sleep(answer.delay)
            if answer.hold:
                await self.gate.wait()
            if answer.status in (301, 302, 303, 307, 308):
                return RedirectResponse(f"{self.url}/target", status_code=answer.status)
            return Response(answer.body, status_code=answer.status, media_type="text/plain")
        finally:
            self.in_flight[key] -= 1

    async def _target(self, request: Request) -> Response:
        self.redirect_target_hits += 1
        return Response("success")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(
        routes=[
            Route("/notify", receiver._notify, methods=["POST"]),
            # several callbacks on one receiver (Open API 2.0: pay and refund callbacks)
            Route("/notify/{name}", receiver._notify, methods=["POST"]),
            Route("/target", receiver._target, methods=["GET", "POST"]),
        ]
    )
    async with serve_asgi(app, lifespan="off") as url:
        receiver.url = url
        yield receiver


@dataclass
class Shop:
    """A merchant with one app and one store, able to produce paid orders."""

    db: Database
    merchant_id: int
    app_id: str
    store_id: int
    counter: int = 0

    async def paid_order(self, callback_url: str | None, total_fen: int = 1234) -> int:
        """Create and pay an order; return the id of the notification the payment wrote."""
        self.counter += 1
        order_sn = f"2024010112000{self.counter:07d}"
        order = payment_repo.NewOrder(
            order_sn=order_sn, merchant_id=self.merchant_id, app_id=self.app_id,
            merchant_order_sn=f"mo-{order_sn}", fingerprint="f", store_id=self.store_id,
            cashier_id=0, channel=ChannelName.WECHATPAY, scene=Scene.MINA,
            channel_merchant_id="1900000109", channel_app_id="wxsub", payer_id="o-payer",
            total_fen=total_fen, body="goods", attach="a&b=c 成功", call_back_url=callback_url,
            expire_at=now_ms() + 3_600_000,
        )  # fmt: skip
        await self.db.write(lambda: payment_repo.insert_order(order, now_ms()))
        facts = payment_repo.PaymentFacts(
            ChannelName.WECHATPAY, order_sn, "4200000001", now_ms(), None, total_fen, None, "t"
        )
        outcome, _ = await self.db.write(
            lambda: payment_repo.mark_paid(facts, now_ms(), order_view)
        )
        assert outcome == "paid"
        rows = await self.db.read(lambda: notifications_of(order_sn))
        assert len(rows) == 1
        return int(rows[0]["notification_id"])


async def open_shop(db: Database, callback_url: str | None = None) -> Shop:
    merchant = await db.write(lambda: merchant_repo.insert_merchant("shop", "1900000109", "wx", 0))
    app_id = f"2024{merchant.merchant_id:016d}"
    await db.write(
        lambda: merchant_repo.insert_app(app_id, merchant.merchant_id, SECRET, callback_url, 0)
    )
    store = await db.write(lambda: merchant_repo.insert_store(merchant.merchant_id, "s", 0))
    return Shop(db, merchant.merchant_id, app_id, store.store_id)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def notifications_of(order_sn: str) -> Tx[list[Row]]:
    return (
        yield fetch_all(
            "SELECT n.* FROM notifications n JOIN orders o ON o.order_id = n.order_id "
            "WHERE o.order_sn = ?",
            order_sn,
        )
    ).rows


def notification(notification_id: int) -> Tx[Row]:
    row = (
        yield fetch_one("SELECT * FROM notifications WHERE notification_id = ?", notification_id)
    ).first
    assert row is not None
    return row


def attempts(notification_id: int) -> Tx[list[Row]]:
    return (
        yield fetch_all(
            "SELECT * FROM notification_attempts WHERE notification_id = ? ORDER BY attempt_id",
            notification_id,
        )
    ).rows


async def wait_until(
    check: Callable[[], Awaitable[bool]], within: float = 5.0, step: float = 0.02
) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(step)


async def settle(
    run_once: Callable[[], Awaitable[int]], db: Database, notification_id: int, within: float = 5
) -> Row:
    """Run a dispatcher pass by pass until the notification leaves PENDING."""

    async def done() -> bool:
        await run_once()
        row = await db.read(lambda: notification(notification_id))
        return bool(row["status"] != "PENDING")

    await wait_until(done, within)
    return await db.read(lambda: notification(notification_id))


async def settle_over(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    notification_id: int,
    guard: UrlGuard | None = None,
) -> Row:
    """``settle`` with a dispatcher that posts through ``client`` (the tests' transport seam);
    both are closed after."""
    dispatcher = Dispatcher(db, settings, http_client=client, guard=guard)
    try:
        return await settle(dispatcher.run_once, db, notification_id)
    finally:
        await dispatcher.stop()
        await client.aclose()
