"""Request models refuse inexact amounts; response models read exact amounts and ignore extras."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from jubao.client import (
    MinaRequest,
    MinaResponse,
    Order,
    OrderQueryRequest,
    Refund,
    RefundQueryRequest,
    RefundRequest,
    RefundStatistics,
    ServerTime,
)
from jubao.protocol import jsonwire


def mina(**amount: Any) -> MinaRequest:
    return MinaRequest(merchant_order_sn="M1", sub_openid="o1", store_id=1, **amount)


@pytest.mark.parametrize(
    ("amount", "fen"),
    [
        ({"total_fee": Decimal("0.01")}, 1),
        ({"total_fee": "12.3"}, 1230),
        ({"total_fee": "100"}, 10000),
        ({"total_fee": Decimal("1E+1")}, 1000),
        ({"total_fen": 3}, 3),
    ],
)
def test_mina_amount_inputs(amount: dict[str, Any], fen: int) -> None:
    request = mina(**amount)
    assert request.amount_fen == fen
    assert request.biz()["total_fee"] == Decimal(fen).scaleb(-2)


def test_float_amounts_are_refused_with_a_type_error() -> None:
    with pytest.raises(TypeError, match="float"):
        mina(total_fee=0.01)
    with pytest.raises(TypeError, match="float"):
        RefundRequest(order_sn="1", refund_money=0.01)  # type: ignore[arg-type]


def test_bare_int_yuan_and_bool_are_refused() -> None:
    with pytest.raises(TypeError, match="total_fen"):
        mina(total_fee=1)
    with pytest.raises(TypeError):
        mina(total_fen=True)
    with pytest.raises(TypeError):
        mina(total_fen=Decimal(1))


@pytest.mark.parametrize(
    "amount",
    [
        {"total_fee": "0.001"},
        {"total_fee": Decimal("0.015")},
        {"total_fee": "0"},
        {"total_fee": "-1"},
        {"total_fee": "1e2"},
        {"total_fee": " "},
        {"total_fee": Decimal("NaN")},
        {"total_fen": 0},
        {"total_fen": 1_000_000_001},
        {"total_fee": "0.01", "total_fen": 1},
        {},
    ],
)
def test_invalid_amounts_are_refused_with_a_value_error(amount: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        mina(**amount)


def test_refund_without_amount_means_the_whole_remainder() -> None:
    request = RefundRequest(merchant_order_sn="M1")
    assert request.amount_fen is None
    assert request.biz() == {"merchant_order_sn": "M1"}


def test_refund_biz() -> None:
    request = RefundRequest(order_sn="1", merchant_refund_sn="R1", refund_fen=1)
    assert jsonwire.dumps(request.biz()) == (
        '{"order_sn":"1","merchant_refund_sn":"R1","refund_money":0.01}'
    )


def test_order_references_are_required() -> None:
    with pytest.raises(ValueError, match="merchant_order_sn"):
        OrderQueryRequest()
    with pytest.raises(ValueError, match="refund_sn"):
        RefundQueryRequest(order_sn="1")
    with pytest.raises(ValueError, match="spaces"):
        MinaRequest(merchant_order_sn=" M1", sub_openid="o", store_id=1, total_fen=1)


def test_requests_are_frozen() -> None:
    request = OrderQueryRequest(order_sn="1")
    with pytest.raises(AttributeError):
        request.order_sn = "2"  # type: ignore[misc]


# ---- responses -----------------------------------------------------------------------------

ORDER_DATA = (
    '{"merchant_order_sn":"M1","order_sn":"20240101000000000001","trade_no":"20240101000000000001",'
    '"platform_order_no":"4200","trade_state":"SUCCESS","total_fee":0.03,"fee":0.00,'
    '"net_money":0.03,"buyer_pay_amount":0.03,"discount_money":0.00,"pay_time":1704067200,'
    '"store_id":5,"cashier_id":0,"device_no":"","body":"b","attach":"a","type":1,'
    '"user_id":"o1","user_logon_id":"","field_from_the_future":{"x":[1]}}'
)


def test_order_reads_exact_amounts_and_ignores_unknown_fields() -> None:
    order = Order.from_wire(jsonwire.loads(ORDER_DATA))
    assert order.total_fee == Decimal("0.03")
    assert str(order.total_fee) == "0.03"
    assert order.total_fee_fen == 3
    assert order.net_money_fen == 3
    assert order.fee_fen == 0
    assert order.pay_type == 1
    assert order.is_paid
    assert order.paid_at == datetime(2024, 1, 1, tzinfo=UTC)


def test_amount_given_as_text_or_int_is_read_exactly() -> None:
    data = {"merchant_order_sn": "M", "order_sn": "1", "trade_state": "USERPAYING"}
    assert Order.from_wire({**data, "total_fee": "1.5"}).total_fee_fen == 150
    assert Order.from_wire({**data, "total_fee": 2}).total_fee == Decimal("2.00")
    unpaid = Order.from_wire({**data, "total_fee": "1"})
    assert unpaid.paid_at is None
    assert not unpaid.is_paid


def test_mina_response_sign_params_round_trip() -> None:
    sign_params = {
        "appId": "wx1", "timeStamp": "1700000000", "nonceStr": "n", "package": "prepay_id=wx9",
        "signType": "RSA", "paySign": "c2ln", "store_id": 1,
    }  # fmt: skip
    response = MinaResponse.from_wire(
        {"prepay_id": "wx9", "order_sn": "1", "merchant_order_sn": "M", "sign_params": sign_params}
    )
    assert response.sign_params.pay_sign == "c2ln"
    expected = {key: value for key, value in sign_params.items() if key != "store_id"}
    assert response.sign_params.as_dict() == expected


def test_refund_and_statistics() -> None:
    refund = Refund.from_wire(
        json.loads(
            '{"order_sn":"1","merchant_order_sn":"M","trade_no":"1","refund_sn":"2",'
            '"merchant_refund_sn":"R","refund_money":"0.01","refund_status":"REFUND_SUCCESS",'
            '"refund_time":0}'
        )
    )
    assert refund.refund_money_fen == 1
    assert refund.refunded_at is None
    stats = RefundStatistics.from_wire(
        {"order_sn": "1", "total_fee": "0.03", "refund_num": 2, "can_refund": "0.01"}
    )
    assert (stats.total_fee_fen, stats.can_refund_fen, stats.refund_money_fen) == (3, 1, 0)


def test_server_time() -> None:
    assert ServerTime("1704067200").as_datetime() == datetime(2024, 1, 1, tzinfo=UTC)
    assert ServerTime("2024-01-01 00:00:00").as_datetime() is None
