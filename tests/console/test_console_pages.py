"""The console without a browser: sessions, CSRF, languages, pages over a fake channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from jubao.channels.base import ChannelTransaction, TradeStatus, TransactionEvent
from jubao.kinds import ApiVersion, ChannelName, Scene
from jubao.merchants.models import VendorAct
from jubao.money import Fen
from jubao.payments.requests import CreateOrder
from jubao.web.console.i18n import MESSAGES, Translator, choose_language
from tests.console.support import (
    ADMIN_TOKEN,
    ConsoleWorld,
    build_world,
    client_for,
    hidden,
    log_in,
)

PAGES = [
    "/console/",
    "/console/orders",
    "/console/merchants",
    "/console/vendors",
    "/console/orders/1",
    "/console/pay/1",
]
POSTS = [
    "/console/logout",
    "/console/merchants",
    "/console/vendors",
    "/console/vendors/x/rotate",
    "/console/stores",
    "/console/cashiers",
    "/console/orders/1/refund",
    "/console/orders/1/notifications/1/resend",
    "/console/pay/1",
]


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[ConsoleWorld]:
    """Each page test runs on SQLite and on PostgreSQL."""
    built = await build_world(tmp_path / "data", database_url=database_url)
    try:
        yield built
    finally:
        await built.runtime.stop()


@pytest.fixture
async def client(world: ConsoleWorld) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(world) as http:
        yield http


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> httpx.AsyncClient:
    answer = await log_in(client)
    assert answer.status_code == 303
    return client


async def create_order(world: ConsoleWorld, merchant_order_sn: str, fen: int, **extra: str) -> str:
    app = await world.runtime.merchants.app(world.app_id)
    assert app is not None
    request = CreateOrder(
        ChannelName.WECHATPAY, Scene.MINA, merchant_order_sn, Fen(fen), world.store_id,
        fingerprint=merchant_order_sn, payer_id="oPayer", body=extra.get("body"),
    )  # fmt: skip
    order = await world.runtime.payments.create(app, request)
    return order.order_sn


# ---- sessions -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
async def test_pages_require_a_session(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login?next=")


@pytest.mark.parametrize("path", POSTS)
async def test_posts_require_a_session(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.post(path, data={"csrf": "x", "name": "n"})
    assert answer.status_code == 403


async def test_wrong_token_is_refused(client: httpx.AsyncClient) -> None:
    answer = await log_in(client, token=ADMIN_TOKEN + "x")
    assert answer.status_code == 401
    assert "令牌不正确" in answer.text
    assert "jubao_console=" not in answer.headers.get("set-cookie", "")
    assert (await client.get("/console/")).status_code == 303


async def test_right_token_opens_a_session(client: httpx.AsyncClient) -> None:
    answer = await log_in(client)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/"
    cookie = next(
        value
        for value in answer.headers.get_list("set-cookie")
        if value.startswith("jubao_console=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Path=/console" in cookie
    page = await client.get("/console/")
    assert page.status_code == 200
    assert "今日订单" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_login_needs_its_form_token(client: httpx.AsyncClient) -> None:
    await client.get("/console/login")
    answer = await client.post("/console/login", data={"token": ADMIN_TOKEN, "csrf": "forged"})
    assert answer.status_code == 403
    assert "jubao_console=" not in answer.headers.get("set-cookie", "")


async def test_tampered_session_cookie_is_refused(admin: httpx.AsyncClient) -> None:
    value = admin.cookies["jubao_console"]
    expires, nonce, mac = value.split(".")
    admin.cookies.clear()
    admin.cookies.set("jubao_console", f"{int(expires) + 9999}.{nonce}.{mac}", path="/console")
    assert (await admin.get("/console/")).status_code == 303


async def test_logout_ends_the_session(admin: httpx.AsyncClient) -> None:
    page = await admin.get("/console/")
    answer = await admin.post("/console/logout", data={"csrf": hidden(page.text, "csrf")})
    assert answer.status_code == 303
    assert (await admin.get("/console/")).status_code == 303


async def test_empty_admin_token_disables_the_console(tmp_path: Path) -> None:
    world = await build_world(tmp_path / "data", admin_token="")
    try:
        async with client_for(world) as client:
            page = await client.get("/console/login")
            assert "控制台未启用" in page.text
            answer = await client.post("/console/login", data={"token": "", "csrf": "x" * 24})
            assert answer.status_code == 403
            assert "JUBAO_ADMIN_TOKEN" in answer.text
            assert (await client.get("/console/")).status_code == 303
    finally:
        await world.runtime.stop()


# ---- CSRF -------------------------------------------------------------------------------


async def test_post_without_csrf_is_refused(admin: httpx.AsyncClient, world: ConsoleWorld) -> None:
    form = {"name": "伪造商户", "sub_mchid": "1", "sub_appid": "wx1"}
    answer = await admin.post("/console/merchants", data=form)
    assert answer.status_code == 403
    answer = await admin.post("/console/merchants", data={**form, "csrf": "0" * 64})
    assert answer.status_code == 403
    merchants = await admin.get("/console/merchants")
    assert "伪造商户" not in merchants.text


async def test_refund_without_csrf_changes_nothing(
    admin: httpx.AsyncClient, world: ConsoleWorld
) -> None:
    order_sn = await create_order(world, "csrf-1", 100)
    answer = await admin.post(f"/console/orders/{order_sn}/refund", data={"amount": "1.00"})
    assert answer.status_code == 403
    assert "表单已过期" in answer.text


# ---- languages ------------------------------------------------------------------------------


def test_language_choice() -> None:
    assert choose_language(None, None) == "zh"
    assert choose_language(None, "en-US,en;q=0.9") == "en"
    assert choose_language(None, "fr-FR, zh-CN;q=0.8, en;q=0.5") == "zh"
    assert choose_language(None, "zh;q=0, en;q=0.1") == "en"
    assert choose_language("en", "zh-CN") == "en"
    assert choose_language("xx", "en") == "en"


def test_every_message_has_both_languages() -> None:
    for key, (zh, en) in MESSAGES.items():
        assert zh and en, key
        assert Translator("zh")(key) == zh or "{" in zh
    assert Translator("en").label("state", "SUCCESS") == "Paid"
    assert Translator("en").label("state", "SOMETHING_NEW") == "SOMETHING_NEW"


async def test_language_follows_the_browser_and_the_switch(admin: httpx.AsyncClient) -> None:
    english = await admin.get("/console/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Orders today" in english.text
    switch = await admin.get("/console/lang/zh", params={"next": "/console/orders"})
    assert switch.status_code == 303
    assert switch.headers["location"] == "/console/orders"
    chinese = await admin.get("/console/orders", headers={"Accept-Language": "en"})
    assert "商户订单号" in chinese.text
    away = await admin.get("/console/lang/en", params={"next": "https://evil.example/"})
    assert away.headers["location"] == "/console/"


# ---- pages ----------------------------------------------------------------------------------


async def test_orders_filter_search_and_paging(
    admin: httpx.AsyncClient, world: ConsoleWorld
) -> None:
    for number in range(23):
        await create_order(world, f"list-{number:02d}", 100 + number)
    first = await admin.get("/console/orders")
    assert "共 23 笔" in first.text
    assert first.text.count("data-order-sn=") == 20
    second = await admin.get("/console/orders", params={"page": "2"})
    assert second.text.count("data-order-sn=") == 3
    assert "list-00" in second.text
    found = await admin.get("/console/orders", params={"q": "list-07"})
    assert found.text.count("data-order-sn=") == 1
    assert "1.07" in found.text
    paid = await admin.get("/console/orders", params={"state": "SUCCESS"})
    assert "共 0 笔" in paid.text
    store = await admin.get("/console/orders", params={"store": str(world.store_id + 1)})
    assert "共 0 笔" in store.text
    old = await admin.get("/console/orders", params={"date": "2001-01-01"})
    assert "共 0 笔" in old.text


async def test_refund_refusal_is_shown(admin: httpx.AsyncClient, world: ConsoleWorld) -> None:
    order_sn = await create_order(world, "unpaid-1", 100)
    page = await admin.get(f"/console/orders/{order_sn}")
    answer = await admin.post(
        f"/console/orders/{order_sn}/refund",
        data={"csrf": hidden(page.text, "csrf"), "amount": "0.50", "refund_key": "k1"},
    )
    assert answer.status_code == 422
    assert "订单未支付成功，不能退款" in answer.text
    bad_amount = await admin.post(
        f"/console/orders/{order_sn}/refund",
        data={"csrf": hidden(page.text, "csrf"), "amount": "abc"},
    )
    assert bad_amount.status_code == 422
    assert "不是有效的金额" in bad_amount.text


async def test_text_is_escaped(admin: httpx.AsyncClient, world: ConsoleWorld) -> None:
    order_sn = await create_order(world, "xss-1", 100, body="<script>alert(1)</script>")
    page = await admin.get(f"/console/orders/{order_sn}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_secrets_shown_once(admin: httpx.AsyncClient, world: ConsoleWorld) -> None:
    merchants = await admin.get("/console/merchants")
    csrf = hidden(merchants.text, "csrf")
    created = await admin.post(
        "/console/merchants",
        data={"csrf": csrf, "name": "新商户", "sub_mchid": "1900000009", "sub_appid": "wx9"},
    )
    assert created.status_code == 200
    app_id = created.text.split('id="app-id">')[1].split("<")[0]
    secret = created.text.split('id="app-secret">')[1].split("<")[0]
    app = await world.runtime.merchants.app(app_id)
    assert app is not None and app.app_secret == secret
    listing = await admin.get("/console/merchants")
    assert app_id in listing.text and secret not in listing.text
    rotated = await admin.post(f"/console/apps/{app_id}/rotate", data={"csrf": csrf})
    new_secret = rotated.text.split('id="app-secret">')[1].split("<")[0]
    assert new_secret != secret
    world.runtime.merchants.forget(app_id)
    app = await world.runtime.merchants.app(app_id)
    assert app is not None and app.app_secret == new_secret


async def test_stores_and_cashiers_are_created(
    admin: httpx.AsyncClient, world: ConsoleWorld
) -> None:
    page = await admin.get("/console/merchants")
    csrf = hidden(page.text, "csrf")
    merchant_id = page.text.split('data-merchant-id="')[1].split('"')[0]
    made = await admin.post(
        "/console/stores", data={"csrf": csrf, "merchant_id": merchant_id, "name": "二号店"}
    )
    assert made.status_code == 303
    empty = await admin.post("/console/stores", data={"csrf": csrf, "merchant_id": merchant_id})
    assert empty.status_code == 422
    assert "请填写 门店名称" in empty.text
    listing = await admin.get("/console/merchants")
    store_id = listing.text.split('data-store-id="')[2].split('"')[0]
    made = await admin.post(
        "/console/cashiers", data={"csrf": csrf, "store_id": store_id, "name": "小王"}
    )
    assert made.status_code == 303
    listing = await admin.get("/console/merchants")
    assert "二号店" in listing.text and "小王" in listing.text


async def test_dashboard_counts_today(admin: httpx.AsyncClient, world: ConsoleWorld) -> None:
    await create_order(world, "dash-1", 100)
    await create_order(world, "dash-2", 250)
    page = await admin.get("/console/")
    assert '<strong id="today-orders">2</strong>' in page.text
    assert '<strong id="success-rate">0.0%</strong>' in page.text
    assert page.text.count('class="bar"') == 7


async def test_a_merchant_is_bound_to_alipay_from_the_console(
    admin: httpx.AsyncClient, world: ConsoleWorld
) -> None:
    app = await world.runtime.merchants.app(world.app_id)
    assert app is not None
    merchant_id = app.merchant.merchant_id
    page = await admin.get("/console/merchants")
    csrf = hidden(page.text, "csrf")
    missing = await admin.post(
        f"/console/merchants/{merchant_id}/alipay", data={"csrf": csrf, "pid": "2088000000000042"}
    )
    assert missing.status_code == 422
    bound = await admin.post(
        f"/console/merchants/{merchant_id}/alipay",
        data={"csrf": csrf, "pid": "2088000000000042", "auth_token": "202611BBtoken42"},
    )
    assert bound.status_code == 303
    merchant = await world.runtime.merchants.merchant(merchant_id)
    assert merchant is not None
    alipay = merchant.channel(ChannelName.ALIPAY)
    assert alipay is not None and alipay.auth_token == "202611BBtoken42"
    listing = await admin.get("/console/merchants")
    assert "2088000000000042" in listing.text and "202611BBtoken42" not in listing.text
    unknown = await admin.post(
        "/console/merchants/999999/alipay",
        data={"csrf": csrf, "pid": "2088000000000042", "auth_token": "t"},
    )
    assert unknown.status_code == 404
    forged = await admin.post(
        f"/console/merchants/{merchant_id}/alipay",
        data={"csrf": "forged", "pid": "2088000000000099", "auth_token": "t"},
    )
    assert forged.status_code in (400, 403)


async def test_vendors_created_with_the_secret_shown_once(
    admin: httpx.AsyncClient, world: ConsoleWorld
) -> None:
    page = await admin.get("/console/vendors")
    assert page.status_code == 200 and "还没有服务商" in page.text
    csrf = hidden(page.text, "csrf")
    empty = await admin.post("/console/vendors", data={"csrf": csrf, "name": ""})
    assert empty.status_code == 422 and "请填写 服务商名称" in empty.text
    created = await admin.post("/console/vendors", data={"csrf": csrf, "name": "好服务商"})
    assert created.status_code == 200
    vendor_sn = created.text.split('id="vendor-sn">')[1].split("<")[0]
    secret = created.text.split('id="vendor-secret">')[1].split("<")[0]
    vendor = await world.runtime.merchants.vendor(vendor_sn)
    assert vendor is not None and vendor.vendor_secret == secret and vendor.name == "好服务商"
    listing = await admin.get("/console/vendors")
    assert f'data-vendor-sn="{vendor_sn}"' in listing.text and secret not in listing.text

    # a merchant of that vendor, created in the console, shows its vendor
    made = await admin.post(
        "/console/merchants",
        data={
            "csrf": csrf, "name": "服务商的店", "sub_mchid": "1900000010", "sub_appid": "wx10",
            "vendor_sn": vendor_sn,
        },
    )  # fmt: skip
    assert made.status_code == 200
    merchants = await admin.get("/console/merchants")
    assert f'<span class="vendor-sn">{vendor_sn}</span>' in merchants.text
    unknown = await admin.post(
        "/console/merchants",
        data={"csrf": csrf, "name": "x", "sub_mchid": "1", "sub_appid": "wx", "vendor_sn": "no"},
    )
    assert unknown.status_code == 422 and "所属服务商 无效" in unknown.text
    assert ">1</td>" in (await admin.get("/console/vendors")).text  # one merchant

    rotated = await admin.post(f"/console/vendors/{vendor_sn}/rotate", data={"csrf": csrf})
    new_secret = rotated.text.split('id="vendor-secret">')[1].split("<")[0]
    assert new_secret != secret
    assert (
        await admin.post("/console/vendors/nope/rotate", data={"csrf": csrf})
    ).status_code == 404
    english = await admin.get("/console/vendors", headers={"Accept-Language": "en"})
    assert "Vendors" in english.text


async def test_orders_show_their_api_generation(
    admin: httpx.AsyncClient, world: ConsoleWorld
) -> None:
    app = await world.runtime.merchants.app(world.app_id)
    assert app is not None
    v2 = CreateOrder(
        ChannelName.WECHATPAY, Scene.MINA, "gen-2", Fen(100), world.store_id,
        fingerprint="gen-2", payer_id="oPayer", api=ApiVersion.V2,
    )  # fmt: skip
    v2_sn = (await world.runtime.payments.create(app, v2)).order_sn
    v1_sn = await create_order(world, "gen-1", 100)
    listing = await admin.get("/console/orders")
    rows = {
        sn: listing.text.split(f'data-order-sn="{sn}"')[1].split("</tr>")[0]
        for sn in (v1_sn, v2_sn)
    }
    assert '<td class="api">1.0</td>' in rows[v1_sn]
    assert '<td class="api">2.0</td>' in rows[v2_sn]
    detail = await admin.get(f"/console/orders/{v2_sn}")
    assert '<span id="order-api">2.0</span>' in detail.text
    assert f"app_id {world.app_id}" in detail.text


async def test_a_vendors_order_is_refunded_from_the_console(
    admin: httpx.AsyncClient, world: ConsoleWorld
) -> None:
    directory = world.runtime.merchants
    app = await directory.app(world.app_id)
    assert app is not None
    created = await directory.create_vendor("服务商")
    await directory.assign_vendor(app.merchant.merchant_id, created.vendor.vendor_sn)
    merchant = await directory.merchant(app.merchant.merchant_id)
    assert merchant is not None
    request = CreateOrder(
        ChannelName.WECHATPAY, Scene.MINA, "vendor-1", Fen(300), world.store_id,
        fingerprint="vendor-1", payer_id="oPayer", api=ApiVersion.V2,
    )  # fmt: skip
    order = await world.runtime.payments.create(VendorAct(created.vendor, merchant), request)
    paid = ChannelTransaction(
        order.order_sn, TradeStatus.PAID, transaction_id="4200vendor", total_fen=300,
        success_time=datetime.now(UTC), payer_id="oPayer",
    )  # fmt: skip
    await world.runtime.payments.handle_channel_event(
        ChannelName.WECHATPAY, TransactionEvent("evt", paid)
    )
    page = await admin.get(f"/console/orders/{order.order_sn}")
    assert f"vendor_sn {created.vendor.vendor_sn}" in page.text
    refunded = await admin.post(
        f"/console/orders/{order.order_sn}/refund",
        data={"csrf": hidden(page.text, "csrf"), "amount": "1.00"},
    )
    assert refunded.status_code == 303, refunded.text
    assert "notice=refunded" in refunded.headers["location"]
