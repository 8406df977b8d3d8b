"""Alipay's trade bill (``bill_type=trade``): a ``.csv.zip`` holding ``…_业务明细.csv`` (GBK), whose
``#`` lines are a header and footer around a table of 25 columns. Pure: bytes in, lines out."""

from __future__ import annotations

import csv
import io
import zipfile

from jubao.channels.alipay.amounts import yuan_to_fen
from jubao.channels.alipay.mapping import parse_time
from jubao.channels.base import StatementLine

__all__ = ["MAX_BILL_BYTES", "parse_bill_zip", "parse_detail_csv"]

MAX_BILL_BYTES = 64 * 1024 * 1024  # a zip bomb stops here
_TRADE_NO, _OUT_TRADE_NO, _KIND, _CREATED, _FINISHED = 0, 1, 2, 4, 5
_ORDER_AMOUNT, _RECEIVED = 11, 12
_REFUND_REQUEST = 21
_COLUMNS = 25


def parse_bill_zip(data: bytes, merchant_id: str | None = None) -> list[StatementLine]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ValueError("the bill is not a zip file") from exc
    with archive:
        details = [
            info
            for info in archive.infolist()
            if info.filename.endswith("业务明细.csv") or info.filename.endswith("_detail.csv")
        ]
        if len(details) != 1:
            raise ValueError("the bill holds no single 业务明细 file")
        if details[0].file_size > MAX_BILL_BYTES:
            raise ValueError("the bill is too large")
        text = archive.read(details[0]).decode("gbk")
    return parse_detail_csv(text, merchant_id)


def parse_detail_csv(text: str, merchant_id: str | None = None) -> list[StatementLine]:
    lines: list[StatementLine] = []
    rows = csv.reader(line for line in text.splitlines() if not line.startswith("#"))
    header_seen = False
    for row in rows:
        cells = [cell.strip() for cell in row]
        if not cells or not any(cells):
            continue
        if not header_seen:
            if cells[0] != "支付宝交易号":
                raise ValueError("the bill's table header is missing")
            header_seen = True
            continue
        if len(cells) < _COLUMNS:
            raise ValueError(f"a bill row has {len(cells)} columns, expected {_COLUMNS}")
        lines.append(_line(cells, merchant_id))
    if not header_seen:
        raise ValueError("the bill's table header is missing")
    return lines


def _line(cells: list[str], merchant_id: str | None) -> StatementLine:
    kind = cells[_KIND]
    occurred = parse_time(cells[_FINISHED] or cells[_CREATED])
    total = yuan_to_fen(cells[_ORDER_AMOUNT], signed=True)
    if kind == "交易":
        return StatementLine(
            out_trade_no=cells[_OUT_TRADE_NO],
            transaction_id=cells[_TRADE_NO],
            total_fen=total,
            occurred_at=occurred,
            merchant_id=merchant_id,
        )
    if kind == "退款":
        return StatementLine(
            out_trade_no=cells[_OUT_TRADE_NO],
            transaction_id=cells[_TRADE_NO],
            total_fen=abs(total),
            refund_fen=abs(yuan_to_fen(cells[_RECEIVED], signed=True)),
            out_refund_no=cells[_REFUND_REQUEST] or None,
            occurred_at=occurred,
            merchant_id=merchant_id,
        )
    raise ValueError(f"unknown bill row kind {kind!r}")
