"""The bill parser against a file written here in Alipay's published layout (not by the
simulator): GBK, ``#`` lines, the 25-column table, tab-padded cells, refund rows."""

from __future__ import annotations

import io
import zipfile

import pytest

from jubao.channels.alipay.statement import parse_bill_zip, parse_detail_csv

HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
    "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
    "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
    "退款批次号/请求号,服务费（元）,分润（元）,备注"
)
TRADE = (
    "2026010122001400000000000001\t,20260101000001\t,交易,咖啡,2026-01-01 09:00:00,"
    "2026-01-01 09:00:05,,,,,159****5620,12.30,12.30,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,"
    "-0.07,0.00,"
)
REFUND = (
    "2026010122001400000000000001\t,20260101000001\t,退款,咖啡,2026-01-01 09:00:00,"
    "2026-01-01 10:00:00,,,,,159****5620,12.30,-2.30,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,"
    "R20260101000001,0.01,0.00,"
)
TEXT = "\n".join(
    [
        "#支付宝交易记录明细查询",
        "#账号：[20880000000001010156]",
        "#-----------------------------------------业务明细列表----------------------------------------",
        HEADER,
        TRADE,
        REFUND,
        "#-----------------------------------------业务明细列表结束------------------------------------",
        "#交易合计：1笔，商家实收共12.30元",
    ]
)


def _zip(**files: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text.encode("gbk"))
    return buffer.getvalue()


def test_trade_and_refund_rows() -> None:
    data = _zip(
        **{"20880000000001010156_20260101_业务明细.csv": TEXT, "x_业务明细(汇总).csv": "#\n"}
    )
    payment, refund = parse_bill_zip(data, "2088000000000101")
    assert (
        payment.out_trade_no,
        payment.transaction_id,
        payment.total_fen,
        payment.refund_fen,
    ) == (
        "20260101000001",
        "2026010122001400000000000001",
        1230,
        0,
    )
    assert (refund.refund_fen, refund.out_refund_no, refund.total_fen) == (
        230,
        "R20260101000001",
        1230,
    )
    assert payment.occurred_at is not None and payment.occurred_at.hour == 9
    assert refund.merchant_id == "2088000000000101"


@pytest.mark.parametrize(
    "text",
    [
        TEXT.replace(HEADER, ""),  # no table header
        TEXT.replace("5620,12.30,12.30", "5620,1x.30,12.30"),  # a malformed amount
        TEXT.replace(",交易,", ",转账,"),  # an unknown row kind
        TEXT.replace(TRADE, TRADE.rsplit(",", 5)[0]),  # too few columns
    ],
)
def test_malformed_bills_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"bill|amount|kind"):
        parse_detail_csv(text)


def test_a_zip_without_its_detail_file_is_refused() -> None:
    with pytest.raises(ValueError, match="业务明细"):
        parse_bill_zip(_zip(**{"readme.txt": "x"}))
    with pytest.raises(ValueError, match="zip"):
        parse_bill_zip(b"not a zip")
