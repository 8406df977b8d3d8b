"""Open API 2.0 request models (exact biz_content, checks at construction) and response models
(recorded shapes from the reference, text/number leniency, enums, finish_time)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from jubao.client.reading import ShapeError
from jubao.client.v2 import (
    CallbackConfig,
    CallbackConfigRequest,
    ClosedOrder,
    CloseRequest,
    CreatedOrder,
    CreateOrderRequest,
    FixedQrcode,
    FixedQrcodeRequest,
    Order,
    OrderQueryRequest,
    OrderStatus,
    PayRequest,
    PayType,
    QrcodeOrder,
    QrcodeOrderRequest,
    Refund,
    RefundQueryRequest,
    RefundRequest,
    RefundStatus,
    WapOrder,
    WapOrderRequest,
)
from jubao.protocol import jsonwire


def wire(biz: dict[str, Any]) -> str:
    return jsonwire.dumps(biz)


# ---- requests -------------------------------------------------------------------------------


def test_pay_request_biz_content() -> None:
    request = PayRequest(
        merchant_id=189160, merchant_order_sn="P1", auth_code="134567890123450001",
        total_amount=Decimal("0.10"), store_id=5, body="测试商品", attach="a",
        notify_url="https://m.test/n",
    )  # fmt: skip
    assert wire(request.biz()) == (
        '{"merchant_id":189160,"merchant_order_sn":"P1","auth_code":"134567890123450001",'
        '"total_amount":0.10,"store_id":5,"body":"测试商品","attach":"a",'
        '"notify_url":"https://m.test/n"}'
    )
    assert request.amount_fen == 10


def test_create_request_biz_content_and_pay_type() -> None:
    request = CreateOrderRequest(
        merchant_order_sn="C1", pay_type=PayType.ALIPAY, user_id="2088000000000001",
        total_fen=123, sub_appid=None,
    )  # fmt: skip
    assert wire(request.biz()) == (
        '{"merchant_order_sn":"C1","pay_type":"alipay","user_id":"2088000000000001",'
        '"total_amount":1.23}'
    )
    as_text = CreateOrderRequest(merchant_order_sn="C1", pay_type="wxpay", user_id="o",
                                 total_amount="1", sub_appid="wxsub")  # fmt: skip
    assert as_text.biz()["pay_type"] == "wxpay"
    assert as_text.biz()["sub_appid"] == "wxsub"
    assert as_text.biz()["total_amount"] == Decimal("1.00")


@pytest.mark.parametrize("pay_type", ["unionpay", "WXPAY", "1", ""])
def test_create_accepts_only_wxpay_or_alipay(pay_type: str) -> None:
    with pytest.raises(ValueError, match="pay_type must be"):
        CreateOrderRequest(merchant_order_sn="C1", pay_type=pay_type, user_id="o", total_fen=1)


def test_new_orders_check_their_fields() -> None:
    with pytest.raises(ValueError, match="total_amount"):
        PayRequest(merchant_order_sn="P1", auth_code="1345")
    with pytest.raises(TypeError, match="float"):
        PayRequest(merchant_order_sn="P1", auth_code="1345", total_amount=0.01)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two decimals"):
        PayRequest(merchant_order_sn="P1", auth_code="1345", total_amount=Decimal("0.001"))
    with pytest.raises(ValueError, match="not both"):
        PayRequest(merchant_order_sn="P1", auth_code="1345", total_amount="1", total_fen=100)
    with pytest.raises(ValueError, match="digits"):
        PayRequest(merchant_order_sn="P1", auth_code="13x5", total_fen=1)
    with pytest.raises(ValueError, match="spaces"):
        PayRequest(merchant_order_sn=" P1", auth_code="1345", total_fen=1)
    with pytest.raises(ValueError, match="merchant_id"):
        PayRequest(merchant_id=0, merchant_order_sn="P1", auth_code="1345", total_fen=1)
    with pytest.raises(ValueError, match="user_id"):
        CreateOrderRequest(merchant_order_sn="C1", pay_type="wxpay", user_id="", total_fen=1)
    with pytest.raises(ValueError, match="expired_time"):
        FixedQrcodeRequest(merchant_order_sn="F1", total_fen=1, expired_time=0)
    with pytest.raises(ValueError, match="expired_time"):
        QrcodeOrderRequest(merchant_order_sn="Q1", total_fen=1, expired_time=-1)
    with pytest.raises(ValueError, match="pay_type must be wxpay or alipay"):
        QrcodeOrderRequest(merchant_order_sn="Q1", total_fen=1, pay_type="unionpay")


def test_qrcode_fixed_qrcode_and_wap_biz_content() -> None:
    assert wire(QrcodeOrderRequest(merchant_order_sn="Q1", total_fen=5).biz()) == (
        '{"merchant_order_sn":"Q1","total_amount":0.05}'
    )
    assert (
        QrcodeOrderRequest(merchant_order_sn="Q1", total_fen=5, pay_type="wxpay").biz()["pay_type"]
        == "wxpay"
    )
    assert wire(
        QrcodeOrderRequest(
            merchant_order_sn="Q1", total_fen=5, pay_type="alipay", body="b", expired_time=120
        ).biz()
    ) == ('{"merchant_order_sn":"Q1","pay_type":"alipay","total_amount":0.05,"body":"b",'
          '"expired_time":120}')  # fmt: skip
    assert wire(
        FixedQrcodeRequest(
            merchant_id=3, merchant_order_sn="F1", total_amount="8.8", store_id=2, expired_time=600
        ).biz()
    ) == (
        '{"merchant_id":3,"merchant_order_sn":"F1","total_amount":8.80,"store_id":2,'
        '"expired_time":600}'
    )
    assert wire(
        WapOrderRequest(
            merchant_order_sn="W1", total_fen=100, user_ip="10.0.0.1",
            return_url="https://m.test/back",
        ).biz()
    ) == (
        '{"merchant_order_sn":"W1","total_amount":1.00,"user_ip":"10.0.0.1",'
        '"return_url":"https://m.test/back"}'
    )  # fmt: skip


def test_order_references() -> None:
    assert OrderQueryRequest(ins_order_sn="I1").biz() == {"ins_order_sn": "I1"}
    assert CloseRequest(merchant_id=9, merchant_order_sn="M").biz() == {
        "merchant_id": 9,
        "merchant_order_sn": "M",
    }
    with pytest.raises(ValueError, match="ins_order_sn"):
        OrderQueryRequest()
    with pytest.raises(ValueError, match="order_sn"):
        CloseRequest()
    with pytest.raises(ValueError, match="refund_sn"):
        RefundQueryRequest(order_sn="1")


def test_refund_request_requires_an_amount() -> None:
    request = RefundRequest(
        merchant_order_sn="M", merchant_refund_sn="R1", refund_amount="0.02", handler="op1"
    )
    assert wire(request.biz()) == (
        '{"merchant_order_sn":"M","merchant_refund_sn":"R1","refund_amount":0.02,"handler":"op1"}'
    )
    assert RefundRequest(order_sn="1", refund_fen=3).amount_fen == 3
    with pytest.raises(ValueError, match="refund_amount"):
        RefundRequest(order_sn="1")
    with pytest.raises(TypeError, match="refund_fen"):
        RefundRequest(order_sn="1", refund_amount=1)  # type: ignore[arg-type]


def test_callback_config_request() -> None:
    request = CallbackConfigRequest(
        merchant_id=1, callback_url="https://m.test/pay", refund_callback_url="https://m.test/r"
    )
    assert list(request.biz()) == ["merchant_id", "callback_url", "refund_callback_url"]
    with pytest.raises(ValueError, match="callback_url"):
        CallbackConfigRequest()
    with pytest.raises(ValueError, match="http"):
        CallbackConfigRequest(callback_url="ftp://m.test/pay")


# ---- responses: shapes recorded from the reference (section 6, 8.2) ---------------------------

QUERY_DATA = (
    '{"order_sn":"20220402145448212108","merchant_order_sn":"20220402145448123",'
    '"ins_order_sn":"1000220402145448212108","channel_order_sn":"4200001420202204023372548",'
    '"merchant_id":189160,"cashier_id":0,"order_status":"SUCCESS","pay_type":"wxpay",'
    '"total_amount":0.01,"net_amount":0.01,"buyer_pay_amount":0.01,"fee":0.00,"store_id":145827,'
    '"user_id":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o","finish_time":"20220402145452","device_no":"",'
    '"attach":"","payment_list":[],"alipay_extend_params":null,"is_can_part_refund":1,'
    '"sub_code":null}'
)


def test_order_from_a_recorded_query_answer() -> None:
    order = Order.from_wire(jsonwire.loads(QUERY_DATA))
    assert order.order_status is OrderStatus.SUCCESS and order.is_paid
    assert order.pay_type is PayType.WXPAY
    assert (order.total_amount, order.total_amount_fen) == (Decimal("0.01"), 1)
    assert (order.fee_fen, order.net_amount_fen, order.buyer_pay_amount_fen) == (0, 1, 1)
    assert order.ins_order_sn == "1000220402145448212108"
    assert order.channel_order_sn == "4200001420202204023372548"
    assert (order.merchant_id, order.store_id) == (189160, 145827)
    assert order.finish_time == datetime(2022, 4, 2, 6, 54, 52, tzinfo=UTC)  # 14:54:52 in China
    assert order.is_can_part_refund is True
    assert order.payment_list == ()


def test_order_reads_numbers_as_text_and_text_as_numbers() -> None:
    lenient: dict[str, Any] = {
        "order_sn": 20220402145448212108, "merchant_order_sn": 123, "order_status": "USERPAYING",
        "total_amount": "12.5", "fee": "0", "store_id": "145827", "merchant_id": "189160",
        "finish_time": 20220402145452, "is_can_part_refund": "0", "pay_type": "",
        "payment_list": '[{"type":"CHANNEL_DISCOUNT","amount":"0.50"}]', "brand_new": {"x": 1},
    }  # fmt: skip
    order = Order.from_wire(lenient)
    assert (order.order_sn, order.merchant_order_sn) == ("20220402145448212108", "123")
    assert (order.total_amount_fen, order.fee_fen, order.store_id) == (1250, 0, 145827)
    assert order.merchant_id == 189160
    assert order.finish_time is not None and order.finish_time.hour == 14
    assert order.is_can_part_refund is False
    assert order.pay_type is None  # an aggregated code not yet scanned
    assert order.payment_list[0].type == "CHANNEL_DISCOUNT"
    assert order.payment_list[0].amount_fen == 50


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("order_status", "PAID", "unknown value"),
        ("pay_type", "bitcoin", "unknown value"),
        ("total_amount", "0.001", "whole number of fen"),
        ("total_amount", 0.5, "amount"),  # a float never comes out of jsonwire
        ("finish_time", "2022-04-02 14:54:52", "yyyyMMddHHmmss"),
        ("finish_time", "20221340000000", "not a valid time"),
        ("is_can_part_refund", "yes", "1 or 0"),
        ("order_sn", None, "missing"),
    ],
)
def test_malformed_orders_are_shape_errors(field: str, value: object, message: str) -> None:
    data = {**jsonwire.loads(QUERY_DATA), field: value}
    with pytest.raises(ShapeError, match=message):
        Order.from_wire(data)


SIGN_PACKAGE = {
    "appId": "wxsub", "timeStamp": "1700000000", "nonceStr": "abc", "package": "prepay_id=wx1",
    "signType": "RSA", "paySign": "c2ln",
}  # fmt: skip


def test_created_order_with_a_sign_package_object_or_json_text() -> None:
    data: dict[str, Any] = {
        "order_sn": "1", "merchant_order_sn": "C1", "prepay_id": "wx1", "merchant_id": 3,
        "pay_type": "wxpay", "total_amount": Decimal("0.01"), "store_id": 2, "user_id": "o",
        "sign_package": SIGN_PACKAGE,
    }  # fmt: skip
    created = CreatedOrder.from_wire(data)
    assert created.sign_package is not None
    assert created.sign_package.as_dict() == SIGN_PACKAGE
    as_text = CreatedOrder.from_wire({**data, "sign_package": jsonwire.dumps(SIGN_PACKAGE)})
    assert as_text == created
    alipay = CreatedOrder.from_wire(
        {**data, "pay_type": "alipay", "prepay_id": "2024010122001", "sign_package": None}
    )
    assert (alipay.pay_type, alipay.prepay_id, alipay.sign_package) == (
        PayType.ALIPAY, "2024010122001", None,
    )  # fmt: skip
    with pytest.raises(ShapeError, match="sign_package"):
        CreatedOrder.from_wire({**data, "sign_package": "{not json"})


def test_refund_answers() -> None:
    refund = Refund.from_wire(
        {
            "handler": "op1", "refund_amount": "0.02", "device_no": "", "order_sn": "1",
            "refund_status": "REFUND_PROCESSING", "refund_sn": "9", "merchant_order_sn": "M",
            "merchant_refund_sn": "R1",
        }
    )  # fmt: skip
    assert (refund.refund_amount_fen, refund.refund_status) == (2, RefundStatus.REFUND_PROCESSING)
    assert not refund.is_settled and refund.finish_time is None
    settled = Refund.from_wire(
        {"order_sn": "1", "refund_sn": "9", "refund_amount": Decimal("0.02"),
             "buyer_refund_amount": Decimal("0.02"),
         "refund_status": "REFUND_SUCCESS", "finish_time": "20240101120000"}
    )  # fmt: skip
    assert settled.is_settled and settled.buyer_refund_amount == Decimal("0.02")
    assert settled.finish_time == datetime(2024, 1, 1, 4, 0, tzinfo=UTC)
    with pytest.raises(ShapeError, match="unknown value"):
        Refund.from_wire({"order_sn": "1", "refund_sn": "9", "refund_amount": 1,
                          "refund_status": "REFUND_FAILER"})  # fmt: skip


def test_close_qrcode_fixed_qrcode_wap_and_callback_answers() -> None:
    closed = ClosedOrder.from_wire(
        {"order_sn": "1", "merchant_order_sn": "M", "order_status": "CLOSED", "device_no": ""}
    )
    assert closed.order_status is OrderStatus.CLOSED
    qr = QrcodeOrder.from_wire(
        {"order_sn": "1", "qrcode_url": "http://gw/qr/abc", "store_id": "2", "cashier_id": 0}
    )
    assert (qr.content, qr.store_id) == ("http://gw/qr/abc", 2)
    wallet = QrcodeOrder.from_wire({"order_sn": "1", "trade_no": "x", "qr_code": "weixin://x"})
    assert (wallet.content, wallet.trade_no) == ("weixin://x", "x")
    with pytest.raises(ShapeError, match="qrcode_url"):
        QrcodeOrder.from_wire({"order_sn": "1"})
    fixed = FixedQrcode.from_wire({"qrcode_url": "http://gw/qr/f", "merchant_order_sn": "F1"})
    assert fixed.qrcode_url == "http://gw/qr/f"
    wap = WapOrder.from_wire({"html": "<form action='x'></form>", "order_sn": "1"})
    assert wap.html.startswith("<form")
    bound = CallbackConfig.from_wire(
        {"bind_status": "1", "merchant_id": 189160, "agent_id": 7, "resp_message": ""}
    )
    assert bound.is_bound and (bound.merchant_id, bound.agent_id) == (189160, "7")
    assert not CallbackConfig.from_wire({"bind_status": 2, "resp_message": "地址不可达"}).is_bound
