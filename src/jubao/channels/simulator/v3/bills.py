"""Trade bills: ``GET /v3/bill/tradebill`` applies for a day's bill and answers its SHA-1 and a
short-lived ``download_url``; ``GET /v3/billdownload/file?token=`` serves the bytes, unsigned
(reference part 2, §8.1, §8.2 and §11). The bill is rendered once, at the application, so the
bytes downloaded are the bytes hashed."""

from __future__ import annotations

import gzip
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from jubao.channels.simulator.bills import BILL_TYPES, BillFormat, bill_rows, render_bill
from jubao.channels.simulator.errors import ApiError
from jubao.channels.simulator.ids import CHINA
from jubao.channels.simulator.v3.call import Answer, Call, Download
from jubao.channels.simulator.v3.checks import sub_appids

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = ["BillFile", "handle_download", "handle_tradebill"]

DOWNLOAD_PATH = "/v3/billdownload/file"
HISTORY_DAYS = 92  # "the last 3 months only"


@dataclass(frozen=True)
class BillFile:
    """A bill applied for: who may download it, until when, and its bytes."""

    sp_mchid: str
    expires_at: float
    content: bytes
    gzipped: bool


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_REQUEST", message)


def _bill_date(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(
            400, "PARAM_ERROR", "bill_date 格式应为 YYYY-MM-DD", detail={"field": "bill_date"}
        ) from None
    if len(text) != 10:
        raise ApiError(400, "PARAM_ERROR", "bill_date 格式应为 YYYY-MM-DD")
    return day


def _check_ready(sim: Simulator, day: date) -> None:
    """Future days and days older than three months are refused; a day's bill exists from the
    ready hour of the next day (at once when ``bill_ready_hour`` is ``None``)."""
    now = datetime.fromtimestamp(sim.now(), CHINA)
    today = now.date()
    if day > today:
        raise _invalid("bill_date 不能晚于今天")
    if day < today - timedelta(days=HISTORY_DAYS):
        raise _invalid("仅支持下载三个月以内的账单")
    ready_hour = sim.config.bill_ready_hour
    if ready_hour is None:
        return
    ready = datetime.combine(day + timedelta(days=1), datetime.min.time(), CHINA)
    if now < ready + timedelta(hours=ready_hour):
        raise ApiError(400, "STATEMENT_CREATING", "账单生成中，请稍后再试（次日生成）")


def handle_tradebill(sim: Simulator, call: Call) -> Answer:
    (text,) = call.require("bill_date")
    day = _bill_date(text)
    bill_type = call.query.get("bill_type") or "ALL"
    if bill_type not in BILL_TYPES:
        raise ApiError(400, "PARAM_ERROR", f"bill_type 仅支持 {', '.join(BILL_TYPES)}")
    tar_type = call.query.get("tar_type")
    if tar_type not in (None, "GZIP"):
        raise ApiError(400, "PARAM_ERROR", "tar_type 仅支持 GZIP")
    sub_mchid = call.query.get("sub_mchid") or None
    if sub_mchid is not None:
        try:
            sub_appids(sim, call.mchid, sub_mchid, status=403)
        except ApiError:
            raise ApiError(403, "NO_AUTH", f"子商户号 {sub_mchid} 不是本服务商的特约商户") from None
    _check_ready(sim, day)
    config = sim.config
    rows = bill_rows(
        day,
        (order for order in sim.state.orders() if order.sp_mchid == call.mchid),
        (refund for refund in sim.state.refunds.values() if refund.sp_mchid == call.mchid),
        sub_mchid=sub_mchid,
        rate_for=config.bill_fee_rates,
        default_rate=config.bill_fee_rate_percent,
    )
    if not any(bill_type == "ALL" or row.kind == bill_type for row in rows):
        raise ApiError(400, "NO_STATEMENT_EXIST", "当日无交易，账单不存在")
    content = render_bill(rows, bill_type, BillFormat(bom=config.bill_bom, crlf=config.bill_crlf))
    token = secrets.token_urlsafe(24)
    gzipped = tar_type == "GZIP"
    sim.bill_files[token] = BillFile(
        sp_mchid=call.mchid,
        expires_at=sim.now() + config.bill_url_seconds,
        content=gzip.compress(content, mtime=0) if gzipped else content,
        gzipped=gzipped,
    )
    return 200, {
        "hash_type": "SHA1",
        # WeChat names SHA-1; it checks the download against a hash that came signed.
        "hash_value": hashlib.sha1(content, usedforsecurity=False).hexdigest(),
        "download_url": f"{call.root_url}{DOWNLOAD_PATH}?token={token}",
    }


def handle_download(sim: Simulator, call: Call) -> Download:
    (token,) = call.require("token")
    found = sim.bill_files.get(token)
    if found is None or found.expires_at <= sim.now():
        sim.bill_files.pop(token, None)
        raise _invalid("下载链接已过期或无效，请重新申请账单")
    if found.sp_mchid != call.mchid:
        raise ApiError(403, "NO_AUTH", "下载者与账单申请者不一致")
    if found.gzipped:
        return Download(found.content, "application/x-gzip")
    return Download(found.content, "text/plain; charset=utf-8")
