"""WeChat Pay's trade bill (交易账单, ``GET /v3/bill/tradebill``): its hash check and its CSV.
Pure: bytes in, ``StatementLine``s out.

Layout: a header line naming the columns, one line per payment (交易状态 ``SUCCESS``) or refund
(``REFUND``), a summary header (``总交易单数,…``) and one totals line. Data and totals lines start
every field with a backtick, empty fields too, and are never quoted: a line is split on ``,```
after its first backtick, so a comma inside 商品名称 or 商户数据包 survives. Columns are found by
name (older layouts order them differently). A UTF-8 BOM and ``\\r\\n`` line ends occur.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import zlib
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from jubao.channels.base import StatementLine

__all__ = ["MAX_BILL_BYTES", "bill_text", "parse_trade_bill", "verify_sha1", "yuan_to_fen"]

MAX_BILL_BYTES = 64 * 1024 * 1024  # a day's bill of a large provider; a gzip bomb stops here
CHINA = timezone(timedelta(hours=8))
_YUAN = re.compile(r"(-?)([0-9]{1,12})\.([0-9]{2})")
_SHA1_HEX = re.compile(r"[0-9a-fA-F]{40}")
_GZIP_MAGIC = b"\x1f\x8b"
_REQUIRED = ("交易时间", "特约商户号", "微信订单号", "商户订单号", "交易状态", "订单金额")
_SUMMARY_FIRST = "总交易单数"


def yuan_to_fen(text: str) -> int:
    """``"12.34"`` -> ``1234``, exactly (never through float); a bill prints two decimals."""
    match = _YUAN.fullmatch(text)
    if match is None:
        raise ValueError(f"malformed amount {text[:24]!r}")
    minus, whole, decimals = match.groups()
    fen = int(whole) * 100 + int(decimals)
    return -fen if minus else fen


def verify_sha1(content: bytes, hash_value: str) -> bytes:
    """The bill's bytes once their SHA-1 matches ``hash_value`` (hex, any case), or
    ``ValueError``. WeChat hashes the uncompressed bill: a gzipped download is unpacked (bounded)
    and checked, and, leniently, so are the raw bytes."""
    if not _SHA1_HEX.fullmatch(hash_value):
        raise ValueError("hash_value is not a SHA-1 hex digest")
    expected = hash_value.lower()
    candidates = [content]
    if content.startswith(_GZIP_MAGIC):
        candidates.insert(0, _gunzip(content))
    for candidate in candidates:
        # SHA-1 is WeChat's choice; the digest it is compared with came in a signed answer.
        digest = hashlib.sha1(candidate, usedforsecurity=False).hexdigest()
        if hmac.compare_digest(digest, expected):
            return candidate
    raise ValueError("the bill's SHA-1 does not match hash_value")


def _gunzip(content: bytes) -> bytes:
    unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = unpacker.decompress(content, MAX_BILL_BYTES + 1)
    except zlib.error as exc:
        raise ValueError(f"the bill is not valid gzip ({exc})") from None
    if len(data) > MAX_BILL_BYTES:
        raise ValueError("the bill is too large")
    return data


def bill_text(content: bytes) -> str:
    """The bill as text: UTF-8, a BOM dropped."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("the bill is not UTF-8") from None


def _fields(line: str) -> list[str]:
    if not line.startswith("`"):
        raise ValueError(f"a bill line does not start with a backtick: {line[:40]!r}")
    return line[1:].split(",`")


def parse_trade_bill(text: str) -> list[StatementLine]:
    """Every payment and refund line of a trade bill (ALL, SUCCESS or REFUND layout). A refund
    line's ``total_fen`` is 0: the bill does not repeat the order's amount on it. A refund WeChat
    closed (退款状态 ``CLOSED``) moved no money and is left out."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines:
        raise ValueError("the bill is empty")
    header = lines[0].lstrip("\ufeff").split(",")
    missing = [name for name in _REQUIRED if name not in header]
    if missing:
        raise ValueError(f"the bill's header lacks {', '.join(missing)}")
    details = lines[1:]
    end = next((i for i, line in enumerate(details) if line.startswith(_SUMMARY_FIRST)), None)
    if end is None or len(details) != end + 2:
        raise ValueError("the bill's summary (总交易单数) is missing or followed by more lines")
    totals = dict(zip(details[end].split(","), _fields(details[end + 1]), strict=False))
    if totals.get(_SUMMARY_FIRST) != str(end):  # a cut bill is refused, not half-read
        raise ValueError(f"the bill's 总交易单数 says {totals.get(_SUMMARY_FIRST)!r}, it has {end}")
    found: list[StatementLine] = []
    for text_line in details[:end]:
        cells = _fields(text_line)
        if len(cells) != len(header):
            raise ValueError(f"a bill line has {len(cells)} fields, the header {len(header)}")
        line = _line(dict(zip(header, cells, strict=True)))
        if line is not None:
            found.append(line)
    return found


def _line(row: Mapping[str, str]) -> StatementLine | None:
    state = row["交易状态"]
    out_trade_no, transaction_id = row["商户订单号"], row["微信订单号"]
    occurred = _time(row["交易时间"])
    merchant_id = row["特约商户号"] or None
    if state == "SUCCESS":
        return StatementLine(
            out_trade_no=out_trade_no,
            transaction_id=transaction_id,
            total_fen=yuan_to_fen(row["订单金额"]),
            occurred_at=occurred,
            merchant_id=merchant_id,
        )
    if state == "REFUND":
        if "商户退款单号" not in row:
            raise ValueError("a refund line in a bill without refund columns")
        if row.get("退款状态") == "CLOSED":
            return None
        # The amount requested, as jubao asked for it (退款金额 is net of coupons).
        requested = row.get("申请退款金额") or row.get("退款金额") or ""
        return StatementLine(
            out_trade_no=out_trade_no,
            transaction_id=transaction_id,
            total_fen=0,
            refund_fen=abs(yuan_to_fen(requested)),
            out_refund_no=row["商户退款单号"] or None,
            occurred_at=occurred,
            merchant_id=merchant_id,
        )
    raise ValueError(f"unknown 交易状态 {state[:16]!r} in the bill")


def _time(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    except ValueError:
        raise ValueError(f"malformed 交易时间 {text[:24]!r}") from None
