"""Both clients against the real sandbox (gateway + WeChat simulator over loopback HTTP):
mina -> simulated wx.requestPayment -> query SUCCESS -> refund -> refund query -> statistics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar

import pytest

from jubao.client import (
    AlipayH5Request,
    ApiError,
    CloseRequest,
    H5payRequest,
    MinaRequest,
    OrderQueryRequest,
    RefundQueryRequest,
    RefundRequest,
    RefundStatisticsRequest,
    ReverseRequest,
    ScanRequest,
    SignatureRejected,
    SwipeRequest,
)
from tests.client.adapters import KINDS, Kind, MerchantApi, open_client
from tests.support.waiting import wait_for

try:
    from tests.support.sandbox import RunningSandbox, running_sandbox
except ImportError as exc:  # pragma: no cover - only while the simulator is not in the tree
    pytest.skip(f"the sandbox is not available: {exc}", allow_module_level=True)

T = TypeVar("T")


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(
        tmp_path / "data", simulator_overrides={"time_scale": 0.05}
    ) as running:
        yield running


@pytest.fixture(params=KINDS)
async def client(
    request: pytest.FixtureRequest, sandbox: RunningSandbox
) -> AsyncIterator[MerchantApi]:
    kind: Kind = request.param
    async with open_client(
        kind,
        app_id=sandbox.info["app_id"],
        app_secret=sandbox.info["app_secret"],
        base_url=sandbox.url,
        backoff=0.05,
    ) as opened:
        yield opened


def mina_request(sandbox: RunningSandbox, merchant_order_sn: str, fen: int) -> MinaRequest:
    return MinaRequest(
        merchant_order_sn=merchant_order_sn,
        sub_openid=sandbox.info["demo_openid"],
        store_id=sandbox.info["store_id"],
        total_fen=fen,
        body="测试商品",
        attach="附加",
    )


async def test_pay_query_refund_lifecycle(client: MerchantApi, sandbox: RunningSandbox) -> None:
    request = mina_request(sandbox, "sdk-life-1", 3)
    created = await client.mina(request)
    assert created.sign_params.app_id == sandbox.info["sub_appid"]
    assert created.sign_params.package == f"prepay_id={created.prepay_id}"
    assert (await client.mina(request)).order_sn == created.order_sn  # idempotent replay

    paid = await sandbox.pay(created.sign_params.as_dict())
    assert paid.status_code == 200, paid.text

    query = OrderQueryRequest(merchant_order_sn="sdk-life-1")
    order = await wait_for(lambda: client.query(query), lambda o: o.is_paid)
    assert order.trade_state == "SUCCESS"
    assert order.order_sn == created.order_sn
    assert order.platform_order_no
    assert order.paid_at is not None
    assert (order.total_fee_fen, order.attach, order.body) == (3, "附加", "测试商品")

    first = RefundRequest(order_sn=created.order_sn, merchant_refund_sn="R-1", refund_fen=1)
    refund = await client.refund(first)
    assert refund.refund_money_fen == 1
    assert (await client.refund(first)).refund_sn == refund.refund_sn  # idempotent replay

    by_sn = RefundQueryRequest(order_sn=created.order_sn, merchant_refund_sn="R-1")
    settled = await wait_for(
        lambda: client.refund_query(by_sn), lambda r: r.refund_status != "REFUND_PROCESSING"
    )
    assert settled.refund_status == "REFUND_SUCCESS"
    assert settled.refund_sn == refund.refund_sn

    stats = await client.refund_statistics(RefundStatisticsRequest(merchant_order_sn="sdk-life-1"))
    assert (stats.refund_num, stats.can_refund_fen, stats.total_fee_fen) == (1, 2, 3)

    rest = await client.refund(RefundRequest(merchant_order_sn="sdk-life-1"))  # the remainder
    assert rest.refund_money_fen == 2
    with pytest.raises(ApiError) as caught:
        await client.refund(RefundRequest(merchant_order_sn="sdk-life-1", refund_fen=1))
    assert caught.value.sub_code in {"REFUND_EXCEEDS", "ORDER_NOT_PAID"}

    with pytest.raises(ApiError) as caught:
        await client.close_order(CloseRequest(order_sn=created.order_sn))
    assert caught.value.sub_code == "ORDER_PAID"


async def test_close_an_unpaid_order(client: MerchantApi, sandbox: RunningSandbox) -> None:
    created = await client.mina(mina_request(sandbox, "sdk-close-1", 1))
    closed = await client.close_order(CloseRequest(merchant_order_sn="sdk-close-1"))
    assert closed.order_sn == created.order_sn
    await client.close_order(CloseRequest(merchant_order_sn="sdk-close-1"))  # idempotent
    order = await client.query(OrderQueryRequest(order_sn=created.order_sn))
    assert order.trade_state == "CLOSED"


async def test_errors_and_server_time(client: MerchantApi, sandbox: RunningSandbox) -> None:
    with pytest.raises(ApiError) as caught:
        await client.query(OrderQueryRequest(merchant_order_sn="no-such-order"))
    assert caught.value.sub_code == "ORDER_NOT_FOUND"
    assert caught.value.result_code == 400
    server_time = (await client.get_time()).as_datetime()
    assert server_time is not None
    assert abs(server_time.timestamp() - time.time()) < 60


@pytest.mark.parametrize("kind", KINDS)
async def test_a_wrong_secret_is_rejected(kind: Kind, sandbox: RunningSandbox) -> None:
    async with open_client(
        kind, app_id=sandbox.info["app_id"], app_secret="0" * 32, base_url=sandbox.url
    ) as wrong:
        with pytest.raises(SignatureRejected):
            await wrong.get_time()


async def test_the_scenes_swipe_reverse_scan_h5pay(
    client: MerchantApi, sandbox: RunningSandbox
) -> None:
    store_id = sandbox.info["store_id"]
    paid = await client.swipe(
        SwipeRequest(
            merchant_order_sn="sdk-swipe-1",
            auth_code="134567890123450001",
            store_id=store_id,
            total_fen=250,
        )
    )
    assert (paid.trade_state, paid.total_fee_fen) == ("SUCCESS", 250)
    reversed_ = await client.reverse(ReverseRequest(order_sn=paid.order_sn))
    assert reversed_.trade_state in ("REVOKING", "REVOKED")
    query = OrderQueryRequest(order_sn=paid.order_sn)
    assert (await wait_for(lambda: client.query(query), lambda o: o.trade_state != "REVOKING")) \
        .trade_state == "REVOKED"  # fmt: skip

    with pytest.raises(ApiError) as caught:
        await client.swipe(
            SwipeRequest(
                merchant_order_sn="sdk-swipe-2",
                auth_code="134567890123452222",
                store_id=store_id,
                total_fen=1,
            )
        )
    assert caught.value.sub_code == "BALANCE_NOT_ENOUGH"

    qr = await client.scan(
        ScanRequest(merchant_order_sn="sdk-scan-1", store_id=store_id, total_fen=5)
    )
    assert qr.qr_code.startswith("weixin://wxpay/bizpayurl?pr=")

    h5 = await client.h5pay(
        H5payRequest(
            merchant_order_sn="sdk-h5-1",
            sub_open_id=sandbox.info["sub_open_id"],
            store_id=store_id,
            total_fen=7,
        )
    )
    assert h5.sign_params.package == f"prepay_id={h5.prepay_id}"
    assert h5.sign_params.app_id == sandbox.info["jsapi_sub_appid"]


async def test_alipay_h5_and_an_alipay_payment_code(
    client: MerchantApi, sandbox: RunningSandbox
) -> None:
    store_id = sandbox.info["store_id"]
    trade = await client.alipay_h5(
        AlipayH5Request(
            merchant_order_sn="sdk-ali-h5-1",
            buyer_id=sandbox.alipay_info["buyer_id"],
            store_id=store_id,
            total_fen=12,
        )
    )
    assert trade.prepay_id and trade.order_sn
    again = await client.alipay_h5(
        AlipayH5Request(
            merchant_order_sn="sdk-ali-h5-1",
            buyer_id=sandbox.alipay_info["buyer_id"],
            store_id=store_id,
            total_fen=12,
        )
    )
    assert again == trade  # an identical retry answers the same trade
    swiped = await client.swipe(
        SwipeRequest(
            merchant_order_sn="sdk-ali-swipe-1",
            auth_code="284567890123450001",
            store_id=store_id,
            total_fen=30,
        )
    )
    query = OrderQueryRequest(order_sn=swiped.order_sn)
    paid = await wait_for(lambda: client.query(query), lambda o: o.trade_state != "USERPAYING")
    assert (paid.trade_state, paid.pay_type) == ("SUCCESS", 2)
