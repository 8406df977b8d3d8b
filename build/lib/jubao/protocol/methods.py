"""Business request schemas of the 1.0 methods jubao implements (reference section 5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jubao.errors import InvalidParameter
from jubao.money import Fen
from jubao.protocol import fields

__all__ = [
    "METHODS",
    "MINA",
    "MinaRequest",
    "OrderRef",
    "RefundQueryRequest",
    "RefundRequest",
    "parse_mina",
    "parse_order_ref",
    "parse_refund",
    "parse_refund_query",
]

MINA = "openapi.payment.order.mina"
QUERY = "openapi.payment.order.query"
CLOSE = "openapi.payment.order.close"
REFUND = "openapi.payment.order.refund"
REFUND_QUERY = "openapi.payment.order.refund.query"
REFUND_STATISTICS = "openapi.payment.refund.statistics"
GET_TIME = "openapi.get.time"
METHODS = (MINA, QUERY, CLOSE, REFUND, REFUND_QUERY, REFUND_STATISTICS, GET_TIME)


@dataclass(frozen=True, slots=True)
class MinaRequest:
    merchant_order_sn: str
    sub_openid: str
    total_fen: Fen
    store_id: int
    cashier_id: int | None
    call_back_url: str | None
    body: str | None
    attach: str | None

    def fingerprint(self) -> str:
        """What must match for a retry with the same merchant_order_sn to count as identical."""
        return "\x1f".join(
            str(part)
            for part in (
                self.sub_openid,
                self.total_fen,
                self.store_id,
                self.cashier_id or 0,
                self.call_back_url or "",
                self.body or "",
                self.attach or "",
            )
        )


def parse_mina(biz: dict[str, Any]) -> MinaRequest:
    merchant_order_sn = fields.text(
        biz, "merchant_order_sn", max_len=32, required=True, strip_check=True
    )
    sub_openid = fields.text(biz, "sub_openid", max_len=32, required=True, strip_check=True)
    total_fen = fields.money(biz, "total_fee", required=True)
    store_id = fields.integer(biz, "store_id", required=True, minimum=1)
    cashier_id = fields.integer(biz, "cashier_id", minimum=0)
    # The seed names it call_back_url; the Java SDK sends call_back.
    url_key = "call_back_url" if biz.get("call_back_url") not in (None, "") else "call_back"
    call_back_url = fields.text(biz, url_key, max_len=256)
    if call_back_url is not None and not call_back_url.startswith(("http://", "https://")):
        raise InvalidParameter(f"参数 {url_key} 必须是 http 或 https 地址")
    body = fields.text(biz, "body", max_len=128)
    attach = fields.text(biz, "attach", max_len=127)
    assert merchant_order_sn and sub_openid and total_fen and store_id  # required above
    return MinaRequest(
        merchant_order_sn=merchant_order_sn,
        sub_openid=sub_openid,
        total_fen=total_fen,
        store_id=store_id,
        cashier_id=cashier_id or None,
        call_back_url=call_back_url,
        body=body,
        attach=attach,
    )


@dataclass(frozen=True, slots=True)
class OrderRef:
    """One of merchant_order_sn / order_sn / trade_no ("三选一")."""

    merchant_order_sn: str | None = None
    order_sn: str | None = None
    trade_no: str | None = None


def parse_order_ref(biz: dict[str, Any]) -> OrderRef:
    ref = OrderRef(
        merchant_order_sn=fields.text(biz, "merchant_order_sn", max_len=32),
        order_sn=fields.text(biz, "order_sn", max_len=32),
        trade_no=fields.text(biz, "trade_no", max_len=32),
    )
    if not (ref.merchant_order_sn or ref.order_sn or ref.trade_no):
        raise InvalidParameter(
            "merchant_order_sn、order_sn、trade_no 必须传其中一个", sub_code="MISSING_PARAMETER"
        )
    return ref


@dataclass(frozen=True, slots=True)
class RefundRequest:
    order: OrderRef
    merchant_refund_sn: str | None
    refund_fen: Fen | None  # None: the whole remainder


def parse_refund(biz: dict[str, Any]) -> RefundRequest:
    return RefundRequest(
        order=parse_order_ref(biz),
        merchant_refund_sn=fields.text(biz, "merchant_refund_sn", max_len=32, strip_check=True),
        refund_fen=fields.money(biz, "refund_money"),
    )


@dataclass(frozen=True, slots=True)
class RefundQueryRequest:
    order: OrderRef
    refund_sn: str | None
    merchant_refund_sn: str | None


def parse_refund_query(biz: dict[str, Any]) -> RefundQueryRequest:
    request = RefundQueryRequest(
        order=parse_order_ref(biz),
        refund_sn=fields.text(biz, "refund_sn", max_len=32),
        merchant_refund_sn=fields.text(biz, "merchant_refund_sn", max_len=32),
    )
    if not (request.refund_sn or request.merchant_refund_sn):
        raise InvalidParameter(
            "refund_sn、merchant_refund_sn 必须传其中一个", sub_code="MISSING_PARAMETER"
        )
    return request
