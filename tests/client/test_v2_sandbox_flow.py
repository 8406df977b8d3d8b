"""Both 2.0 clients (sync and async) at both credential levels against the real sandbox: the
gateway's ``/gateway/agent`` with the WeChat and Alipay simulators over loopback HTTP.

pay (payment code) -> query three ways -> refund -> refund query; create (WeChat JSAPI, paid
through the simulator; Alipay JSAPI) -> close; the cashier codes (``qrcode``, ``fixed_qrcode``)
and their page; typed 2.0 errors; callback config and 2.0 notifications verified with the
secret of whoever created the order."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from jubao.client import (
    ApiError,
    ChannelRefused,
    MerchantNotFound,
    NumberAlreadyUsed,
    SignatureRejected,
)
from jubao.client.v2 import (
    NOTIFICATION_ACK,
    AppCredentials,
    CallbackConfigRequest,
    CloseRequest,
    CreateOrderRequest,
    Credentials,
    FixedQrcode,
    FixedQrcodeRequest,
    OrderQueryRequest,
    OrderStatus,
    PaymentNotification,
    PayRequest,
    PayType,
    QrcodeOrder,
    QrcodeOrderRequest,
    RefundNotification,
    RefundQueryRequest,
    RefundRequest,
    RefundStatus,
    VendorCredentials,
    WapOrderRequest,
    parse_notification,
)
from tests.client.adapters_v2 import KINDS, Kind, V2Api, open_v2_client
from tests.support.servers import serve_asgi
from tests.support.waiting import wait_for

try:
    from tests.support.sandbox import RunningSandbox, running_sandbox
except ImportError as exc:  # pragma: no cover - only while the simulator is not in the tree
    pytest.skip(f"the sandbox is not available: {exc}", allow_module_level=True)

Level = Literal["merchant", "vendor"]
LEVELS: tuple[Level, ...] = ("merchant", "vendor")
PAYS_AT_ONCE = "134567890123450001"  # a WeChat payment code the sandbox pays at once
NO_MONEY = "134567890123452222"  # ... whose payer has no money
PASSWORD = "134567890123451111"  # ... whose payer enters a password first (about 5 s, scaled)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(
        tmp_path / "data", simulator_overrides={"time_scale": 0.05}
    ) as running:
        yield running


def credentials(sandbox: RunningSandbox, level: Level) -> Credentials:
    info = sandbox.info
    if level == "vendor":
        return VendorCredentials(
            info["vendor_sn"], info["vendor_secret"], merchant_id=int(info["merchant_id"])
        )
    return AppCredentials(info["app_id"], info["app_secret"])


def secret_of(sandbox: RunningSandbox, level: Level) -> str:
    key = "vendor_secret" if level == "vendor" else "app_secret"
    secret: str = sandbox.info[key]
    return secret


@pytest.fixture(params=[(kind, level) for kind in KINDS for level in LEVELS], ids=str)
async def leveled(
    request: pytest.FixtureRequest, sandbox: RunningSandbox
) -> AsyncIterator[tuple[V2Api, Level]]:
    kind: Kind
    level: Level
    kind, level = request.param
    async with open_v2_client(
        kind, credentials(sandbox, level), sandbox.url, backoff=0.05
    ) as opened:
        yield opened, level


async def test_pay_query_refund_lifecycle(
    leveled: tuple[V2Api, Level], sandbox: RunningSandbox
) -> None:
    client, level = leveled
    request = PayRequest(
        merchant_order_sn=f"v2-pay-{level}",
        auth_code=PAYS_AT_ONCE,
        total_fen=3,
        store_id=sandbox.info["store_id"],
        body="测试商品",
        attach="附加",
    )
    paid = await client.pay(request)
    assert (paid.order_status, paid.pay_type, paid.total_amount_fen) == (
        OrderStatus.SUCCESS, PayType.WXPAY, 3,
    )  # fmt: skip
    assert paid.merchant_id == int(sandbox.info["merchant_id"])
    assert paid.finish_time is not None and paid.channel_order_sn
    assert (await client.pay(request)).order_sn == paid.order_sn  # identical retry: a replay

    by_sn = await client.query(OrderQueryRequest(order_sn=paid.order_sn))
    by_ins = await client.query(OrderQueryRequest(ins_order_sn=paid.ins_order_sn))
    by_merchant = await client.query(OrderQueryRequest(merchant_order_sn=request.merchant_order_sn))
    assert by_sn == by_ins == by_merchant
    assert (by_sn.attach, by_sn.body, by_sn.is_can_part_refund) == ("附加", "测试商品", True)
    one_point_o = await sandbox.call("openapi.payment.order.query", {"order_sn": paid.order_sn})
    assert one_point_o["data"]["trade_state"] == "SUCCESS"  # one order, two views

    first = RefundRequest(order_sn=paid.order_sn, merchant_refund_sn="R-1", refund_fen=1)
    refund = await client.refund(first)
    assert refund.refund_amount_fen == 1
    assert (await client.refund(first)).refund_sn == refund.refund_sn  # idempotent replay
    settled = await wait_for(
        lambda: client.refund_query(RefundQueryRequest(refund_sn=refund.refund_sn)),
        lambda r: r.is_settled,
    )
    assert settled.refund_status is RefundStatus.REFUND_SUCCESS
    assert settled.finish_time is not None
    by_merchant_refund_sn = await client.refund_query(
        RefundQueryRequest(merchant_refund_sn="R-1", order_sn=paid.order_sn)
    )
    assert by_merchant_refund_sn.refund_sn == refund.refund_sn

    with pytest.raises(ApiError) as caught:
        await client.refund(RefundRequest(order_sn=paid.order_sn, refund_fen=3))
    assert caught.value.sub_code == "REFUND_EXCEEDS"
    with pytest.raises(ApiError) as caught:
        await client.close_order(CloseRequest(order_sn=paid.order_sn))
    assert caught.value.sub_code in {"ORDER_PAID", "CLOSE_NOT_SUPPORTED"}


async def test_a_payer_who_enters_a_password(
    leveled: tuple[V2Api, Level], sandbox: RunningSandbox
) -> None:
    client, level = leveled
    waiting = await client.pay(
        PayRequest(merchant_order_sn=f"v2-pw-{level}", auth_code=PASSWORD, total_fen=250)
    )
    assert (waiting.order_status, waiting.finish_time) == (OrderStatus.USERPAYING, None)
    paid = await wait_for(
        lambda: client.query(OrderQueryRequest(order_sn=waiting.order_sn)), lambda o: o.is_paid
    )
    assert (paid.order_status, paid.total_amount_fen) == (OrderStatus.SUCCESS, 250)
    assert paid.finish_time is not None


async def test_create_wechat_and_alipay_then_close(
    leveled: tuple[V2Api, Level], sandbox: RunningSandbox
) -> None:
    client, level = leveled
    store_id = sandbox.info["store_id"]
    wechat = CreateOrderRequest(
        merchant_order_sn=f"v2-wx-{level}",
        pay_type=PayType.WXPAY,
        user_id=sandbox.info["sub_open_id"],
        total_fen=7,
        store_id=store_id,
    )
    created = await client.create(wechat)
    assert created.pay_type is PayType.WXPAY
    assert created.sign_package is not None
    assert created.sign_package.package == f"prepay_id={created.prepay_id}"
    assert (await client.create(wechat)) == created  # identical retry: the same package
    paid = await sandbox.pay(created.sign_package.as_dict(), openid=sandbox.info["sub_open_id"])
    assert paid.status_code == 200, paid.text
    order = await wait_for(
        lambda: client.query(OrderQueryRequest(order_sn=created.order_sn)), lambda o: o.is_paid
    )
    assert order.order_status is OrderStatus.SUCCESS

    alipay = await client.create(
        CreateOrderRequest(
            merchant_order_sn=f"v2-ali-{level}",
            pay_type="alipay",
            user_id=sandbox.alipay_info["buyer_id"],
            total_fen=12,
            store_id=store_id,
        )
    )
    assert (alipay.pay_type, alipay.sign_package) == (PayType.ALIPAY, None)
    assert alipay.prepay_id
    closed = await client.close_order(CloseRequest(merchant_order_sn=f"v2-ali-{level}"))
    assert (closed.order_sn, closed.order_status) == (alipay.order_sn, OrderStatus.CLOSED)
    await client.close_order(CloseRequest(order_sn=alipay.order_sn))  # again: still fine
    order = await client.query(OrderQueryRequest(order_sn=alipay.order_sn))
    assert order.order_status is OrderStatus.CLOSED


async def test_wap_create(leveled: tuple[V2Api, Level], sandbox: RunningSandbox) -> None:
    client, level = leveled
    wap = await client.wap_create(
        WapOrderRequest(
            merchant_order_sn=f"v2-wap-{level}",
            total_fen=9,
            store_id=sandbox.info["store_id"],
            return_url="https://merchant.test/back",
        )
    )
    assert wap.html.startswith(("http://", "https://", "<form"))
    order = await client.query(OrderQueryRequest(merchant_order_sn=f"v2-wap-{level}"))
    assert (order.order_sn, order.pay_type) == (wap.order_sn, PayType.ALIPAY)


async def scan_elsewhere(url: str) -> httpx.Response:
    """The cashier page as a phone's camera app opens it: no wallet in the User-Agent."""
    async with httpx.AsyncClient() as http:
        return await http.get(url, headers={"User-Agent": "Mozilla/5.0 (X11; Linux) Firefox/120"})


def assert_asks_for_a_wallet(shown: httpx.Response) -> None:
    assert shown.status_code == 200, shown.text
    assert "请使用微信或支付宝扫码付款" in shown.text
    assert "Please scan this code with WeChat or Alipay to pay" in shown.text


async def test_cashier_codes_and_their_page(
    leveled: tuple[V2Api, Level], sandbox: RunningSandbox
) -> None:
    client, level = leveled
    page_prefix = f"{sandbox.settings.resolved_public_url}/qr/"
    fixed_request = FixedQrcodeRequest(
        merchant_order_sn=f"v2-fixed-{level}",
        total_amount="8.80",
        store_id=sandbox.info["store_id"],
        body="早餐",
        expired_time=300,
    )
    fixed = await client.fixed_qrcode(fixed_request)
    assert isinstance(fixed, FixedQrcode)
    assert fixed.merchant_order_sn == f"v2-fixed-{level}"
    assert fixed.qrcode_url.startswith(page_prefix)
    assert_asks_for_a_wallet(await scan_elsewhere(fixed.qrcode_url))
    assert await client.fixed_qrcode(fixed_request) == fixed  # identical retry: the same code
    with pytest.raises(NumberAlreadyUsed) as conflict:
        await client.fixed_qrcode(dataclasses.replace(fixed_request, total_amount="8.81"))
    assert (conflict.value.result_code, conflict.value.sub_code) == (2, "ORDER_SN_CONFLICT")

    qrcode_request = QrcodeOrderRequest(merchant_order_sn=f"v2-qr-{level}", total_fen=5)
    qrcode = await client.qrcode(qrcode_request)
    assert isinstance(qrcode, QrcodeOrder)
    assert qrcode.qrcode_url.startswith(page_prefix)
    assert qrcode.content == qrcode.qr_code == qrcode.qrcode_url != fixed.qrcode_url
    assert qrcode.trade_no == qrcode.order_sn and len(qrcode.order_sn) == 20
    assert qrcode.merchant_order_sn == f"v2-qr-{level}"
    assert (qrcode.store_id, qrcode.cashier_id) == (sandbox.info["store_id"], 0)  # the first store
    assert_asks_for_a_wallet(await scan_elsewhere(qrcode.content))
    assert await client.qrcode(qrcode_request) == qrcode
    with pytest.raises(NumberAlreadyUsed) as conflict:
        await client.qrcode(dataclasses.replace(qrcode_request, pay_type=PayType.ALIPAY))
    assert conflict.value.result_code == 2
    # a merchant_order_sn an order already has is not free for a code either
    await client.pay(
        PayRequest(merchant_order_sn=f"v2-qr-paid-{level}", auth_code=PAYS_AT_ONCE, total_fen=1)
    )
    with pytest.raises(NumberAlreadyUsed):
        await client.qrcode(
            QrcodeOrderRequest(merchant_order_sn=f"v2-qr-paid-{level}", total_fen=1)
        )


async def test_typed_errors(leveled: tuple[V2Api, Level], sandbox: RunningSandbox) -> None:
    client, level = leveled
    with pytest.raises(ApiError) as caught:
        await client.query(OrderQueryRequest(merchant_order_sn="no-such-order"))
    assert (caught.value.result_code, caught.value.sub_code) == (400, "ORDER_NOT_FOUND")
    with pytest.raises(ChannelRefused) as refused:
        await client.pay(
            PayRequest(merchant_order_sn=f"v2-poor-{level}", auth_code=NO_MONEY, total_fen=1)
        )
    assert (refused.value.result_code, refused.value.sub_code) == (60303, "BALANCE_NOT_ENOUGH")
    await client.pay(
        PayRequest(merchant_order_sn=f"v2-used-{level}", auth_code=PAYS_AT_ONCE, total_fen=1)
    )
    with pytest.raises(NumberAlreadyUsed) as conflict:  # the same number for another order
        await client.pay(
            PayRequest(merchant_order_sn=f"v2-used-{level}", auth_code=PAYS_AT_ONCE, total_fen=2)
        )
    assert conflict.value.result_code == 2


@pytest.mark.parametrize("kind", KINDS)
async def test_a_vendor_only_acts_for_its_own_merchants(
    kind: Kind, sandbox: RunningSandbox
) -> None:
    async with open_v2_client(kind, credentials(sandbox, "vendor"), sandbox.url) as client:
        with pytest.raises(MerchantNotFound) as caught:
            await client.query(OrderQueryRequest(merchant_id=987654321, order_sn="1"))
    assert (caught.value.result_code, caught.value.result_message) == (1004, "商户不存在")


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("kind", KINDS)
async def test_a_wrong_secret_is_rejected(
    kind: Kind, level: Level, sandbox: RunningSandbox
) -> None:
    info = sandbox.info
    wrong: Credentials = (
        VendorCredentials(info["vendor_sn"], "0" * 32, merchant_id=int(info["merchant_id"]))
        if level == "vendor"
        else AppCredentials(info["app_id"], "0" * 32)
    )
    async with open_v2_client(kind, wrong, sandbox.url) as client:
        with pytest.raises(SignatureRejected):
            await client.query(OrderQueryRequest(order_sn="1"))


@contextlib.asynccontextmanager
async def notification_inbox() -> AsyncIterator[tuple[str, asyncio.Queue[bytes]]]:
    """A merchant's callback endpoint: each raw body is queued and acknowledged."""
    bodies: asyncio.Queue[bytes] = asyncio.Queue()

    async def receive(request: Request) -> PlainTextResponse:
        bodies.put_nowait(await request.body())
        return PlainTextResponse(NOTIFICATION_ACK)

    app = Starlette(routes=[Route("/notify", receive, methods=["POST"])])
    async with serve_asgi(app) as url:
        yield f"{url}/notify", bodies


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("kind", KINDS)
async def test_callback_config_and_2_0_notifications(
    kind: Kind, level: Level, sandbox: RunningSandbox
) -> None:
    secret = secret_of(sandbox, level)
    async with (
        notification_inbox() as (url, bodies),
        open_v2_client(kind, credentials(sandbox, level), sandbox.url) as client,
    ):
        config = await client.callback_config(
            CallbackConfigRequest(callback_url=url, refund_callback_url=url)
        )
        assert config.is_bound
        assert config.merchant_id == int(sandbox.info["merchant_id"])
        assert config.agent_id == sandbox.info["vendor_sn"]  # the merchant's service provider
        paid = await client.pay(
            PayRequest(merchant_order_sn=f"v2-notify-{kind}", auth_code=PAYS_AT_ONCE, total_fen=5)
        )
        payment = parse_notification(await asyncio.wait_for(bodies.get(), 30), secret)
        assert isinstance(payment, PaymentNotification)
        assert (payment.order_sn, payment.total_amount_fen) == (paid.order_sn, 5)
        assert payment.order_status is OrderStatus.SUCCESS
        assert payment.merchant_id == int(sandbox.info["merchant_id"])

        await client.refund(
            RefundRequest(order_sn=paid.order_sn, merchant_refund_sn="NR-1", refund_fen=2)
        )
        refund = parse_notification(await asyncio.wait_for(bodies.get(), 30), secret)
        assert isinstance(refund, RefundNotification)
        assert (refund.merchant_refund_sn, refund.refund_amount_fen) == ("NR-1", 2)
        assert refund.refund_status is RefundStatus.REFUND_SUCCESS
