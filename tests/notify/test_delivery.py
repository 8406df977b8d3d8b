"""Delivery end to end: a paid order's outbox row, the dispatcher, a real HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from jubao import httppool
from jubao.config import Settings
from jubao.httppool import PinnedAiohttpClient
from jubao.kinds import ApiVersion, ChannelName, Scene
from jubao.merchants import repository as merchant_repo
from jubao.notify import repository as repo
from jubao.notify.dispatcher import Dispatcher
from jubao.notify.urlguard import UrlGuard
from jubao.payments import repository as payment_repo
from jubao.payments import views_v2
from jubao.storage.database import Database, open_database
from jubao.storage.sql import Tx, fetch_all
from tests.notify.support import (
    SECRET,
    Answer,
    Receiver,
    Shop,
    attempts,
    fast_settings,
    free_port,
    notification,
    notifications_of,
    now_ms,
    open_shop,
    running_receiver,
    settle,
    settle_over,
    wait_until,
)
from tests.notify.tls import tls_merchant


def reference_verify(form: dict[str, str], secret: str) -> bool:
    """The merchant's recipe (reference 8.3), written here from the text, not from jubao."""
    base = (
        f"data={form['data']}&result_code={form['result_code']}"
        f"&result_message={form['result_message']}"
    )
    expected = hashlib.md5((base + secret).encode("utf-8")).hexdigest().upper()
    return hmac.compare_digest(expected, form["sign"])


@dataclass
class World:
    db: Database
    shop: Shop
    receiver: Receiver


async def deliver_once(db: Database, settings: Settings) -> int:
    """One dispatcher pass (claim, deliver, record), then stop; how many were attempted."""
    dispatcher = Dispatcher(db, settings)
    try:
        return await dispatcher.run_once()
    finally:
        await dispatcher.stop()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = await open_database(f"sqlite:///{tmp_path}/db.sqlite3")
    try:
        async with running_receiver() as receiver:
            shop = await open_shop(db, callback_url=receiver.callback_url)
            yield World(db, shop, receiver)
    finally:
        await db.close()


async def test_delivered_first_time_with_a_form_the_merchant_recipe_verifies(world: World) -> None:
    notification_id = await world.shop.paid_order(callback_url=None)  # the app's default URL
    dispatcher = Dispatcher(world.db, fast_settings())
    try:
        row = await settle(dispatcher.run_once, world.db, notification_id)
    finally:
        await dispatcher.stop()

    assert row["status"] == "DELIVERED" and row["attempts"] == 1
    assert row["delivered_at"] is not None and row["lease_owner"] is None
    [hit] = world.receiver.hits
    assert hit.headers["content-type"] == "application/x-www-form-urlencoded"
    assert hit.headers["host"] == world.receiver.url.removeprefix("http://")
    assert set(hit.form) == {"result_code", "result_message", "data", "sign"}
    assert hit.form["result_code"] == "200" and hit.form["result_message"] == "成功"
    assert reference_verify(hit.form, SECRET)
    assert not reference_verify(hit.form, SECRET[:-1] + "0")
    data = hit.data
    assert data["trade_state"] == "SUCCESS" and data["total_fee"] == 12.34
    assert data["attach"] == "a&b=c 成功"  # survives form encoding byte for byte
    [attempt] = await world.db.read(lambda: attempts(notification_id))
    assert attempt["http_status"] == 200 and attempt["response_head"] == "success"
    assert attempt["error"] is None and attempt["duration_ms"] >= 0


async def test_fail_fail_success_is_delivered_on_the_third_attempt(world: World) -> None:
    world.receiver.answer(Answer(body="fail"), Answer(500, "oops"), Answer(body="success"))
    notification_id = await world.shop.paid_order(world.receiver.callback_url)
    dispatcher = Dispatcher(world.db, fast_settings())
    try:
        row = await settle(dispatcher.run_once, world.db, notification_id)
    finally:
        await dispatcher.stop()

    assert row["status"] == "DELIVERED" and row["attempts"] == 3
    history = await world.db.read(lambda: attempts(notification_id))
    assert [(a["http_status"], a["response_head"]) for a in history] == [
        (200, "fail"),
        (500, "oops"),
        (200, "success"),
    ]
    assert [a["error"] for a in history] == ["not acknowledged", "HTTP 500", None]
    assert len(world.receiver.hits) == 3
    # each retry waited for its turn in the schedule (50 ms)
    assert history[1]["started_at"] - history[0]["started_at"] >= 50
    assert history[2]["started_at"] - history[1]["started_at"] >= 50


async def test_a_receiver_slower_than_the_timeout_is_a_recorded_timeout(world: World) -> None:
    world.receiver.answer(Answer(delay=1.0), Answer())
    notification_id = await world.shop.paid_order(world.receiver.callback_url)
    assert await deliver_once(world.db, fast_settings(notify_timeout_seconds=0.2)) == 1

    row = await world.db.read(lambda: notification(notification_id))
    assert row["status"] == "PENDING" and row["attempts"] == 1
    [attempt] = await world.db.read(lambda: attempts(notification_id))
    assert attempt["http_status"] is None and "timeout" in attempt["error"]
    assert 150 <= attempt["duration_ms"] < 900


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(world: World) -> None:
    world.receiver.answer(Answer(302))
    notification_id = await world.shop.paid_order(world.receiver.callback_url)
    assert await deliver_once(world.db, fast_settings()) == 1

    row = await world.db.read(lambda: notification(notification_id))
    assert row["status"] == "PENDING" and row["attempts"] == 1
    [attempt] = await world.db.read(lambda: attempts(notification_id))
    assert attempt["http_status"] == 302 and attempt["error"] == "HTTP 302"
    assert world.receiver.redirect_target_hits == 0


@pytest.mark.parametrize(
    ("body", "acknowledged"),
    [
        ("SUCCESS ", True),
        ("\n Success\r\n", True),
        ("success", True),
        ("ok", False),
        ("successful", False),
        ("", False),
        ('{"result":"success"}', False),
    ],
)
async def test_acknowledgement_is_success_in_any_case_trimmed(
    world: World, body: str, acknowledged: bool
) -> None:
    world.receiver.answer(Answer(body=body))
    notification_id = await world.shop.paid_order(world.receiver.callback_url)
    dispatcher = Dispatcher(world.db, fast_settings())
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.stop()
    row = await world.db.read(lambda: notification(notification_id))
    assert (row["status"] == "DELIVERED") is acknowledged


async def test_a_non_2xx_success_body_is_not_an_acknowledgement(world: World) -> None:
    world.receiver.answer(Answer(503, "success"))
    notification_id = await world.shop.paid_order(world.receiver.callback_url)
    dispatcher = Dispatcher(world.db, fast_settings())
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.stop()
    row = await world.db.read(lambda: notification(notification_id))
    assert row["status"] == "PENDING"


async def test_every_attempt_failing_ends_failed_after_one_plus_len_schedule(
    world: World,
) -> None:
    world.receiver.answer(Answer(body="fail"))
    notification_id = await world.shop.paid_order(world.receiver.callback_url)
    settings = fast_settings(notify_schedule=(0.02, 0.02, 0.02, 0.02))
    dispatcher = Dispatcher(world.db, settings)
    try:
        row = await settle(dispatcher.run_once, world.db, notification_id)
        assert await dispatcher.run_once() == 0  # FAILED is final: never claimed again
    finally:
        await dispatcher.stop()

    assert row["status"] == "FAILED" and row["attempts"] == 5
    assert row["delivered_at"] is None and row["lease_owner"] is None
    assert len(await world.db.read(lambda: attempts(notification_id))) == 5
    assert len(world.receiver.hits) == 5


async def test_resend_starts_a_fresh_schedule_and_is_on_the_timeline(world: World) -> None:
    world.receiver.answer(Answer(body="fail"))
    notification_id = await world.shop.paid_order(world.receiver.callback_url)
    settings = fast_settings(notify_schedule=(0.02,))
    dispatcher = Dispatcher(world.db, settings)
    try:
        failed = await settle(dispatcher.run_once, world.db, notification_id)
        assert failed["status"] == "FAILED" and failed["attempts"] == 2

        resent = await world.db.write(lambda: repo.resend(notification_id, now_ms()))
        assert resent is not None
        assert resent.status == "PENDING" and resent.attempts == 0
        assert len(resent.attempts_log) == 2  # history is kept

        world.receiver.answer(Answer(body="fail"), Answer(body="success"))
        row = await settle(dispatcher.run_once, world.db, notification_id)
    finally:
        await dispatcher.stop()
    assert row["status"] == "DELIVERED" and row["attempts"] == 2  # the new schedule's count
    assert len(await world.db.read(lambda: attempts(notification_id))) == 4

    def events() -> Tx[list[str]]:
        rows = (
            yield fetch_all(
                "SELECT kind FROM order_events WHERE order_id = ? ORDER BY event_id",
                row["order_id"],
            )
        ).rows
        return [r["kind"] for r in rows]

    assert (await world.db.read(events))[-1] == "NOTIFY_RESEND"
    assert await world.db.write(lambda: repo.resend(10**9, now_ms())) is None


async def test_a_private_address_is_refused_without_any_connection(world: World) -> None:
    notification_id = await world.shop.paid_order(world.receiver.callback_url)
    assert await deliver_once(world.db, fast_settings(notify_allow_private=False)) == 1

    assert world.receiver.hits == []
    row = await world.db.read(lambda: notification(notification_id))
    assert row["status"] == "PENDING" and row["attempts"] == 1  # retried later, in case DNS moves
    [attempt] = await world.db.read(lambda: attempts(notification_id))
    assert attempt["http_status"] is None
    assert attempt["error"].startswith("refused:") and "loopback" in attempt["error"]


async def test_a_host_resolving_to_a_private_address_is_refused(world: World) -> None:
    async def rebinding_dns(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]  # one bad address is enough

    url = world.receiver.callback_url.replace("127.0.0.1", "merchant.example")
    notification_id = await world.shop.paid_order(url)
    dispatcher = Dispatcher(world.db, fast_settings(), guard=UrlGuard(resolver=rebinding_dns))
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.stop()
    [attempt] = await world.db.read(lambda: attempts(notification_id))
    assert "merchant.example resolves to 127.0.0.1: loopback" in attempt["error"]
    assert world.receiver.hits == []


async def test_the_connection_goes_to_the_vetted_address_with_the_original_host(
    world: World,
) -> None:
    lookups: list[str] = []

    async def dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    port = world.receiver.url.rsplit(":", 1)[1]
    notification_id = await world.shop.paid_order(f"http://shop.invalid:{port}/notify")
    guard = UrlGuard(allow_private=True, resolver=dns)
    dispatcher = Dispatcher(world.db, fast_settings(), guard=guard)
    try:
        row = await settle(dispatcher.run_once, world.db, notification_id)
    finally:
        await dispatcher.stop()
    # shop.invalid cannot resolve for real: the request reached the receiver only via the pin
    assert row["status"] == "DELIVERED"
    assert lookups == ["shop.invalid"]
    assert world.receiver.hits[0].headers["host"] == f"shop.invalid:{port}"


async def test_only_the_head_of_a_long_answer_is_kept(world: World) -> None:
    world.receiver.answer(Answer(body="é" * 50_000))
    notification_id = await world.shop.paid_order(world.receiver.callback_url)
    dispatcher = Dispatcher(world.db, fast_settings())
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.stop()
    [attempt] = await world.db.read(lambda: attempts(notification_id))
    assert attempt["response_head"] == "é" * 128  # 256 bytes, decoded leniently


async def test_the_current_secret_signs_each_attempt(world: World) -> None:
    world.receiver.answer(Answer(body="fail"), Answer())
    notification_id = await world.shop.paid_order(world.receiver.callback_url)
    dispatcher = Dispatcher(world.db, fast_settings())
    rotated = "f" * 32
    try:
        await dispatcher.run_once()
        await world.db.write(lambda: merchant_repo.update_app_secret(world.shop.app_id, rotated))
        await settle(dispatcher.run_once, world.db, notification_id)
    finally:
        await dispatcher.stop()
    first, second = world.receiver.hits
    assert reference_verify(first.form, SECRET)
    assert reference_verify(second.form, rotated) and not reference_verify(second.form, SECRET)


async def test_the_running_loop_delivers_when_poked(world: World) -> None:
    dispatcher = Dispatcher(world.db, fast_settings(), poll_interval=30)  # only a poke wakes it
    await dispatcher.start()
    try:
        notification_id = await world.shop.paid_order(world.receiver.callback_url)
        dispatcher.poke()

        async def delivered() -> bool:
            row = await world.db.read(lambda: notification(notification_id))
            return bool(row["status"] == "DELIVERED")

        await wait_until(delivered, within=3)
    finally:
        await dispatcher.stop()


async def test_a_batch_of_notifications_is_delivered_concurrently(world: World) -> None:
    world.receiver.answer(Answer(delay=0.3))
    ids = [await world.shop.paid_order(world.receiver.callback_url) for _ in range(6)]
    dispatcher = Dispatcher(world.db, fast_settings(notify_concurrency=4))
    try:
        began = time.monotonic()
        first = await dispatcher.run_once()
        elapsed = time.monotonic() - began
        second = await dispatcher.run_once()
    finally:
        await dispatcher.stop()
    assert (first, second) == (4, 2)
    assert elapsed < 0.9  # four 0.3 s answers side by side, not one after another
    assert max(world.receiver.max_in_flight.values()) == 1  # ...each order only once at a time

    def statuses() -> Tx[list[str]]:
        rows = (yield fetch_all("SELECT status FROM notifications")).rows
        return [r["status"] for r in rows]

    assert await world.db.read(statuses) == ["DELIVERED"] * len(ids)


async def test_https_is_pinned_with_the_original_name_as_sni(world: World) -> None:
    seen: list[httpx.Request] = []

    def merchant(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="success")

    async def dns(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    notification_id = await world.shop.paid_order("https://Merchant.Example/notify?k=1")
    client = httpx.AsyncClient(transport=httpx.MockTransport(merchant))
    guard = UrlGuard(resolver=dns)
    row = await settle_over(client, world.db, fast_settings(), notification_id, guard)
    assert row["status"] == "DELIVERED"
    [request] = seen
    assert str(request.url) == "https://93.184.216.34/notify?k=1"
    assert request.headers["host"] == "merchant.example"
    assert request.extensions["sni_hostname"] == "merchant.example"
    assert request.headers["connection"] == "close"


async def test_nothing_listening_is_a_recorded_connection_error(world: World) -> None:
    port = free_port()  # bound then released: nothing listens there
    notification_id = await world.shop.paid_order(f"http://127.0.0.1:{port}/notify")
    dispatcher = Dispatcher(world.db, fast_settings())
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.stop()
    [attempt] = await world.db.read(lambda: attempts(notification_id))
    assert attempt["http_status"] is None and attempt["error"].startswith("ConnectError")


async def test_a_vendors_order_is_signed_with_the_vendors_current_secret(world: World) -> None:
    """Open API 2.0: the notification of an order a vendor created carries the 2.0 layout and
    the vendor's secret; a rotation applies to the attempts after it."""
    shop, db = world.shop, world.db
    await db.write(lambda: merchant_repo.insert_vendor("2026000000000000001a", "v", "s" * 32, 0))
    await db.write(
        lambda: merchant_repo.set_merchant_vendor(shop.merchant_id, "2026000000000000001a")
    )
    order = payment_repo.NewOrder(
        order_sn="20240101120009999999", merchant_id=shop.merchant_id, app_id="",
        merchant_order_sn="v2-1", fingerprint="f", store_id=shop.store_id, cashier_id=0,
        channel=ChannelName.WECHATPAY, scene=Scene.JSAPI, channel_merchant_id="1900000109",
        channel_app_id="wxsub", payer_id="o", total_fen=101, body=None, attach=None,
        call_back_url=world.receiver.callback_url, expire_at=now_ms() + 60_000,
        api_version=ApiVersion.V2, vendor_sn="2026000000000000001a",
    )  # fmt: skip
    await db.write(lambda: payment_repo.insert_order(order, now_ms()))
    facts = payment_repo.PaymentFacts(
        ChannelName.WECHATPAY, order.order_sn, "4200000009", now_ms(), None, 101, None, "t"
    )
    await db.write(lambda: payment_repo.mark_paid(facts, now_ms(), views_v2.order_view))
    [row] = await db.read(lambda: notifications_of(order.order_sn))
    assert row["vendor_sn"] == "2026000000000000001a" and row["app_id"] == ""
    notification_id = int(row["notification_id"])

    assert await deliver_once(db, fast_settings()) == 1
    first = world.receiver.hits[-1]
    assert reference_verify(first.form, "s" * 32) and not reference_verify(first.form, SECRET)
    assert first.data["order_status"] == "SUCCESS" and first.data["total_amount"] == 1.01

    await db.write(lambda: merchant_repo.update_vendor_secret("2026000000000000001a", "t" * 32))
    await db.write(lambda: repo.resend(notification_id, now_ms()))
    assert await deliver_once(db, fast_settings()) == 1
    assert reference_verify(world.receiver.hits[-1].form, "t" * 32)


async def test_production_posts_over_aiohttp_the_request_httpx_sent(world: World) -> None:
    """The dispatcher's own client (``PinnedAiohttpClient``) and an injected httpx client put the
    same head and form on the wire; the tests above run over the former."""
    assert isinstance(Dispatcher(world.db, fast_settings())._pool, PinnedAiohttpClient)
    world.receiver.answer(Answer(body="fail"), Answer())
    notification_id = await world.shop.paid_order(world.receiver.callback_url)
    assert await deliver_once(world.db, fast_settings(notify_schedule=(0.0,))) == 1
    settings = fast_settings(notify_schedule=(0.0,))
    row = await settle_over(httpx.AsyncClient(), world.db, settings, notification_id)
    assert row["status"] == "DELIVERED"
    lean, plain = world.receiver.hits
    assert lean.form == plain.form and lean.path == plain.path == "/notify"
    assert lean.headers == plain.headers
    assert lean.headers["user-agent"] == "jubao-notify/1.0"


async def test_https_is_verified_for_the_original_name_and_never_kept_alive(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def dns(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    guard = UrlGuard(allow_private=True, resolver=dns)
    async with (
        tls_merchant("merchant.example", tmp_path / "good") as merchant,
        tls_merchant("elsewhere.example", tmp_path / "bad") as impostor,
    ):
        trusted = ssl.create_default_context()
        for server in (merchant, impostor):  # both certificates are trusted; names differ
            trusted.load_verify_locations(cadata=server.certificate_pem)
        monkeypatch.setattr(httppool, "shared_ssl_context", lambda: trusted)
        good = [
            await world.shop.paid_order(f"https://Merchant.Example:{merchant.port}/notify")
            for _ in range(2)
        ]
        bad = await world.shop.paid_order(f"https://merchant.example:{impostor.port}/notify")
        dispatcher = Dispatcher(world.db, fast_settings(), guard=guard)
        try:
            await dispatcher.run_once()
        finally:
            await dispatcher.stop()

    for notification_id in good:
        row = await world.db.read(lambda n=notification_id: notification(n))  # type: ignore[misc]
        assert row["status"] == "DELIVERED"
    assert merchant.server_names == ["merchant.example"] * 2  # one TLS connection each
    assert all(f"Host: merchant.example:{merchant.port}".encode() in h for h in merchant.heads)
    [attempt] = await world.db.read(lambda: attempts(bad))
    assert attempt["http_status"] is None and attempt["error"].startswith("ConnectError")
    assert "certificate" in attempt["error"]
    assert impostor.heads == []  # the form never went to a server not proven to be the merchant


async def test_one_claim_signs_each_apps_notifications_with_that_apps_secret(world: World) -> None:
    """Secrets are read once per claim and signer: rows of two apps in one claim each carry
    their own app's signature."""
    other = await open_shop(world.db, callback_url=world.receiver.callback_url)
    other.counter = 1000  # order numbers apart from the first shop's
    other_secret = "e" * 32
    await world.db.write(lambda: merchant_repo.update_app_secret(other.app_id, other_secret))
    for shop in (world.shop, other, world.shop, other):
        await shop.paid_order(world.receiver.callback_url)
    assert await deliver_once(world.db, fast_settings()) == 4

    by_app: dict[str, list[bool]] = {}
    for hit in world.receiver.hits:
        secret = SECRET if int(hit.data["order_sn"][-7:]) < 1000 else other_secret
        by_app.setdefault(secret, []).append(reference_verify(hit.form, secret))
    assert by_app == {SECRET: [True, True], other_secret: [True, True]}
