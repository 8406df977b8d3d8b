"""One ``Operation`` per Open API call: the method name, the ``biz_content`` object, whether a
retry is safe, and how to read the answer's ``data``.

Safe to retry (the gateway replays or changes nothing on a repeat): queries, refund query, refund
statistics, get time, close (closing a closed order succeeds again), reverse (idempotent),
auth.auth, mina, swipe, scan and h5pay (protected by the required ``merchant_order_sn``: an
identical retry replays, a swipe never submits the code twice), and refund *only when* the caller
gave ``merchant_refund_sn``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from jubao.client.request_models import (
    AlipayH5Request,
    AuthRequest,
    CloseRequest,
    H5payRequest,
    MinaRequest,
    OrderQueryRequest,
    RefundQueryRequest,
    RefundRequest,
    RefundStatisticsRequest,
    ReverseRequest,
    ScanRequest,
    SwipeRequest,
)
from jubao.client.response_models import (
    AlipayH5Response,
    AuthUrl,
    CloseResponse,
    H5payResponse,
    MinaResponse,
    Order,
    Refund,
    RefundStatistics,
    ReverseResponse,
    ScanResponse,
    ServerTime,
)

__all__ = [
    "ALIPAY_H5",
    "AUTH",
    "CLOSE",
    "GET_TIME",
    "H5PAY",
    "MINA",
    "QUERY",
    "REFUND",
    "REFUND_QUERY",
    "REFUND_STATISTICS",
    "REVERSE",
    "SCAN",
    "SWIPE",
    "Operation",
    "alipay_h5",
    "auth_url",
    "close_order",
    "get_time",
    "h5pay",
    "mina",
    "query",
    "raw_call",
    "refund",
    "refund_query",
    "refund_statistics",
    "reverse",
    "scan",
    "swipe",
]

T = TypeVar("T")

# The wire names; the same strings as jubao.protocol.methods (the test suite checks they agree).
MINA = "openapi.payment.order.mina"
QUERY = "openapi.payment.order.query"
CLOSE = "openapi.payment.order.close"
REFUND = "openapi.payment.order.refund"
REFUND_QUERY = "openapi.payment.order.refund.query"
REFUND_STATISTICS = "openapi.payment.refund.statistics"
GET_TIME = "openapi.get.time"
SWIPE = "openapi.payment.order.swipe"
SCAN = "openapi.payment.order.scan"
H5PAY = "openapi.payment.order.h5pay"
REVERSE = "openapi.payment.order.reverse"
AUTH = "openapi.payment.auth.auth"
ALIPAY_H5 = "openapi.payment.Alipay.H5"


@dataclass(frozen=True, slots=True)
class Operation(Generic[T]):
    method: str
    biz: Mapping[str, Any]
    safe_to_retry: bool
    parse: Callable[[Mapping[str, Any]], T]


def mina(request: MinaRequest) -> Operation[MinaResponse]:
    return Operation(MINA, request.biz(), True, MinaResponse.from_wire)


def swipe(request: SwipeRequest) -> Operation[Order]:
    # the gateway replays an identical swipe and never submits the code twice
    return Operation(SWIPE, request.biz(), True, Order.from_wire)


def scan(request: ScanRequest) -> Operation[ScanResponse]:
    return Operation(SCAN, request.biz(), True, ScanResponse.from_wire)


def h5pay(request: H5payRequest) -> Operation[H5payResponse]:
    return Operation(H5PAY, request.biz(), True, H5payResponse.from_wire)


def alipay_h5(request: AlipayH5Request) -> Operation[AlipayH5Response]:
    return Operation(ALIPAY_H5, request.biz(), True, AlipayH5Response.from_wire)


def reverse(request: ReverseRequest) -> Operation[ReverseResponse]:
    return Operation(REVERSE, request.biz(), True, ReverseResponse.from_wire)


def auth_url(request: AuthRequest) -> Operation[AuthUrl]:
    return Operation(AUTH, request.biz(), True, AuthUrl.from_wire)


def query(request: OrderQueryRequest) -> Operation[Order]:
    return Operation(QUERY, request.biz(), True, Order.from_wire)


def close_order(request: CloseRequest) -> Operation[CloseResponse]:
    return Operation(CLOSE, request.biz(), True, CloseResponse.from_wire)


def refund(request: RefundRequest) -> Operation[Refund]:
    return Operation(REFUND, request.biz(), bool(request.merchant_refund_sn), Refund.from_wire)


def refund_query(request: RefundQueryRequest) -> Operation[Refund]:
    return Operation(REFUND_QUERY, request.biz(), True, Refund.from_wire)


def refund_statistics(request: RefundStatisticsRequest) -> Operation[RefundStatistics]:
    return Operation(REFUND_STATISTICS, request.biz(), True, RefundStatistics.from_wire)


def get_time() -> Operation[ServerTime]:
    return Operation(GET_TIME, {}, True, ServerTime.from_wire)


def _as_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    return dict(data)


def raw_call(
    method: str, biz: Mapping[str, Any], *, safe_to_retry: bool
) -> Operation[dict[str, Any]]:
    """Any method, for what the SDK does not model yet: the answer's ``data`` as a dict."""
    return Operation(method, dict(biz), safe_to_retry, _as_dict)
