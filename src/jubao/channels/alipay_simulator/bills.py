"""The trade bill (``bill_type=trade``) of one China day, in Alipay's layout: a zip holding
``<PID>0156_<yyyyMMdd>_业务明细.csv`` and ``…_业务明细(汇总).csv``, GBK, ``#`` header and footer
lines around a 25-column table. Refund rows carry negative amounts and the request number."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from datetime import date

from jubao.channels.alipay_simulator.models import Refund, Trade
from jubao.channels.alipay_simulator.rules import china_text, yuan

__all__ = ["COLUMNS", "bill_zip"]

COLUMNS = (
    "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号",
    "门店名称", "操作员", "终端号", "对方账户", "订单金额（元）", "商家实收（元）",
    "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）", "商家优惠（元）", "券核销金额（元）",
    "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号", "服务费（元）",
    "分润（元）", "备注",
)  # fmt: skip


def _trade_row(trade: Trade) -> list[str]:
    assert trade.paid_at is not None
    amount = yuan(trade.total_fen)
    return [
        trade.trade_no, trade.out_trade_no, "交易", trade.subject,
        china_text(trade.created_at), china_text(trade.paid_at), trade.store_id, "", "", "",
        trade.buyer_logon_id, amount, amount, "0.00", "0.00", "0.00", "0.00", "0.00", "",
        "0.00", "0.00", "", "0.00", "0.00", "",
    ]  # fmt: skip


def _refund_row(trade: Trade, refund: Refund) -> list[str]:
    return [
        trade.trade_no, trade.out_trade_no, "退款", trade.subject,
        china_text(trade.created_at), china_text(refund.at), trade.store_id, "", "", "",
        trade.buyer_logon_id, yuan(trade.total_fen), yuan(-refund.refund_fen), "0.00", "0.00",
        "0.00", "0.00", "0.00", "", "0.00", "0.00", refund.out_request_no, "0.00", "0.00",
        refund.reason,
    ]  # fmt: skip


def bill_zip(
    pid: str,
    day: date,
    trades: Iterable[Trade],
    refunds: Iterable[tuple[Trade, Refund]],
) -> tuple[str, bytes]:
    """``(file name, zip bytes)``; ``trades`` paid and ``refunds`` made on ``day``."""
    rows = [_trade_row(t) for t in trades] + [_refund_row(t, r) for t, r in refunds]
    rows.sort(key=lambda row: row[5])
    stem = f"{pid}0156_{day:%Y%m%d}"
    detail = io.StringIO()
    detail.write("#支付宝交易记录明细查询\n")
    detail.write(f"#账号：[{pid}0156]\n")
    detail.write(
        f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{day:%Y年%m月%d日} 23:59:59]\n"
    )
    detail.write(
        "#-----------------------------------------业务明细列表----------------------------------------\n"
    )
    writer = csv.writer(detail, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    detail.write(
        "#-----------------------------------------业务明细列表结束------------------------------------\n"
    )
    paid = sum(int(r[12].replace(".", "").replace("-", "")) for r in rows if r[2] == "交易")
    refunded = sum(int(r[12].replace(".", "").replace("-", "")) for r in rows if r[2] == "退款")
    detail.write(f"#交易合计：{sum(r[2] == '交易' for r in rows)}笔，商家实收共{yuan(paid)}元\n")
    detail.write(
        f"#退款合计：{sum(r[2] == '退款' for r in rows)}笔，商家实收共{yuan(-refunded)}元\n"
    )
    detail.write(f"#导出时间：[{day:%Y年%m月%d日} 23:59:59]\n")
    summary = (
        "#支付宝业务汇总查询\n"
        "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）\n"
        f"合计,,{sum(r[2] == '交易' for r in rows)},{sum(r[2] == '退款' for r in rows)},"
        f"{yuan(paid)},{yuan(paid - refunded)}\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}_业务明细.csv", detail.getvalue().encode("gbk"))
        archive.writestr(f"{stem}_业务明细(汇总).csv", summary.encode("gbk"))
    return f"{stem}.csv.zip", buffer.getvalue()
