"""The trade-bill parser against the layout of the reference (wechatpay-v3-more.md §8.3), written
out by hand here: header names, backtick-prefixed fields, summary lines, BOM and CRLF."""

from __future__ import annotations

import gzip
import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from jubao.channels.base import StatementLine
from jubao.channels.wechatpay.tradebill import (
    bill_text,
    parse_trade_bill,
    verify_sha1,
    yuan_to_fen,
)

CHINA = timezone(timedelta(hours=8))

ALL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
SUMMARY = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
PAYMENT = (
    "`2026-11-25 10:15:02,`wxsub0000000000001,`180023671,`176531292,`,"
    "`4200000001202611250123456789,`JB202611250001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,"
    "`OTHERS,`CNY,`12.34,`0.00,`0,`0,`0.00,`0.00,`,`,`咖啡, 大杯,`store=7,`0.07000,`0.60%,"
    "`12.34,`0.00,`"
)
SECOND_PAYMENT = (
    "`2026-11-25 11:00:00,`wxsp00000000000001,`180023671,`176531293,`,"
    "`4200000001202611259999999999,`JB202611250002,`oSPOPENID,`MICROPAY,`SUCCESS,"
    "`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,`0.00,`,`,`收银台,`,`0.00000,`0.60%,"
    "`0.01,`0.00,`"
)
REFUND = (
    "`2026-11-25 12:30:45,`wxsub0000000000001,`180023671,`176531292,`,"
    "`4200000001202611250123456789,`JB202611250001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`REFUND,"
    "`OTHERS,`CNY,`0.00,`0.00,`50300000012026112512345678901,`JR202611250001,`5.00,`0.00,"
    "`ORIGINAL,`SUCCESS,`咖啡, 大杯,`store=7,`-0.03000,`0.60%,`0.00,`5.00,`"
)
CLOSED_REFUND = REFUND.replace("`SUCCESS,`咖啡", "`CLOSED,`咖啡").replace(
    "`JR202611250001", "`JR202611250002"
)
TOTALS = "`3,`12.35,`5.00,`0.00,`0.04000,`12.35,`5.00"
ONE = "`1" + TOTALS[2:]  # the totals line of a one-line bill (only the count is checked)


def bill(*rows: str, totals: str = TOTALS, newline: str = "\n") -> str:
    return newline.join([ALL_HEADER, *rows, SUMMARY, totals]) + newline


def test_payments_and_refunds_of_the_all_layout() -> None:
    lines = parse_trade_bill(bill(PAYMENT, SECOND_PAYMENT, REFUND))
    assert lines == [
        StatementLine(
            out_trade_no="JB202611250001",
            transaction_id="4200000001202611250123456789",
            total_fen=1234,
            occurred_at=datetime(2026, 11, 25, 10, 15, 2, tzinfo=CHINA),
            merchant_id="176531292",
        ),
        StatementLine(
            out_trade_no="JB202611250002",
            transaction_id="4200000001202611259999999999",
            total_fen=1,
            occurred_at=datetime(2026, 11, 25, 11, 0, 0, tzinfo=CHINA),
            merchant_id="176531293",
        ),
        StatementLine(
            out_trade_no="JB202611250001",
            transaction_id="4200000001202611250123456789",
            total_fen=0,
            refund_fen=500,
            out_refund_no="JR202611250001",
            occurred_at=datetime(2026, 11, 25, 12, 30, 45, tzinfo=CHINA),
            merchant_id="176531292",
        ),
    ]


def test_bom_and_crlf_are_accepted() -> None:
    text = bill_text(("\ufeff" + bill(PAYMENT, SECOND_PAYMENT, REFUND, newline="\r\n")).encode())
    assert [line.total_fen for line in parse_trade_bill(text)] == [1234, 1, 0]


def test_a_closed_refund_moved_no_money() -> None:
    lines = parse_trade_bill(bill(PAYMENT, REFUND, CLOSED_REFUND, totals="`3" + TOTALS[2:]))
    assert [line.out_refund_no for line in lines] == [None, "JR202611250001"]


def test_columns_are_found_by_name() -> None:
    """The SUCCESS layout (20 columns, a 4-column summary) has no refund columns at all."""
    header = (
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
        "交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,"
        "费率备注"
    )
    row = (
        "`2026-11-25 10:15:02,`wxsub,`180023671,`176531292,`,`4200000001,`JB1,`oOPENID,`NATIVE,"
        "`SUCCESS,`OTHERS,`CNY,`88.88,`0.00,`商品,`,`0.53000,`0.60%,`88.88,`"
    )
    summary = "总交易单数,应结订单总金额,手续费总金额,订单总金额"
    text = "\n".join([header, row, summary, "`1,`88.88,`0.53000,`88.88"])
    (line,) = parse_trade_bill(text)
    assert (line.out_trade_no, line.total_fen, line.refund_fen) == ("JB1", 8888, 0)


def test_a_day_of_no_lines_is_empty() -> None:
    assert parse_trade_bill(bill(totals="`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00")) == []


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty"),
        (bill(PAYMENT, totals="`2" + TOTALS[2:]), "总交易单数"),
        (ALL_HEADER + "\n" + PAYMENT + "\n", "summary"),
        (bill(PAYMENT.replace("`12.34", "`12.3"), totals="`1" + TOTALS[2:]), "amount"),
        (bill(PAYMENT.replace("`SUCCESS", "`REVOKED"), totals="`1" + TOTALS[2:]), "交易状态"),
        (bill(PAYMENT.replace("`2026-11-25 10:15:02", "`25/11/2026"), totals=ONE), "交易时间"),
        (bill(PAYMENT.replace(",`OTHERS", ",OTHERS"), totals="`1" + TOTALS[2:]), "fields"),
        (bill(PAYMENT[1:], totals="`1" + TOTALS[2:]), "backtick"),
        (bill(PAYMENT).replace("商户订单号", "订单号", 1), "商户订单号"),
    ],
)
def test_malformed_bills_are_refused(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_trade_bill(text)


def test_amounts_are_exact() -> None:
    assert yuan_to_fen("0.01") == 1
    assert yuan_to_fen("-0.07") == -7
    assert yuan_to_fen("99999999.99") == 9_999_999_999
    for bad in ("1", "1.5", "1.005", "1e3", " 1.00", "１.00"):
        with pytest.raises(ValueError, match="malformed amount"):
            yuan_to_fen(bad)


def test_sha1_verification() -> None:
    content = bill(PAYMENT).encode()
    digest = hashlib.sha1(content).hexdigest()
    assert verify_sha1(content, digest) == content
    assert verify_sha1(content, digest.upper()) == content  # hex in any case
    # WeChat hashes the uncompressed bill; a gzipped download is unpacked first.
    assert verify_sha1(gzip.compress(content), digest) == content
    with pytest.raises(ValueError, match="does not match"):
        verify_sha1(content + b" ", digest)
    with pytest.raises(ValueError, match="not a SHA-1"):
        verify_sha1(content, "md5:" + digest)
