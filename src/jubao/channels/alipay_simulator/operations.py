"""The OpenAPI methods, one function each: ``(simulator, call, biz) -> (code, answer fields)``.
A business refusal raises ``GatewayError`` (40004 + ``ACQ.*``)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jubao.channels.alipay_simulator.bills import bill_zip
from jubao.channels.alipay_simulator.errors import GatewayError, business, invalid_parameter
from jubao.channels.alipay_simulator.models import PAID_STATES, UNSCANNED, Refund, Trade
from jubao.channels.alipay_simulator.payer import PayerKind, buyer_for, payer_kind
from jubao.channels.alipay_simulator.rules import (
    CHINA,
    amount_fen,
    china_text,
    expiry,
    optional_text,
    out_no,
    required_text,
    yuan,
)
from jubao.channels.alipay_simulator.simulator import AlipaySimulator, Seller
from jubao.channels.alipay_simulator.wire import compact

__all__ = ["METHODS", "Call", "download_bill"]

QR_MAX_SECONDS = 2 * 3600
BILL_URL_SECONDS = 30


@dataclass(frozen=True)
class Call:
    method: str
    app_id: str
    seller: Seller
    notify_url: str
    base_url: str  # where this simulator is reachable (for the bill download URL)


Answer = tuple[str, dict[str, Any]]
SUCCESS = "10000"
WAITING = "10003"


def _not_exist() -> GatewayError:
    return business("ACQ.TRADE_NOT_EXIST", "交易不存在")


def _new_trade_no(sim: AlipaySimulator) -> str:
    day = datetime.fromtimestamp(sim.now(), CHINA).strftime("%Y%m%d")
    while True:
        trade_no = f"{day}22{secrets.randbelow(10**18):018d}"
        if sim.ledger.by_trade_no(trade_no) is None:
            return trade_no


def _fingerprint(call: Call, biz: dict[str, Any], fen: int) -> str:
    parts = (call.method, str(fen), optional_text(biz, "subject"), optional_text(biz, "buyer_id"))
    return hashlib.sha256(compact(parts).encode()).hexdigest()


def _order(sim: AlipaySimulator, call: Call, biz: dict[str, Any], kind: str) -> Trade:
    """A new trade from the common order fields (not yet saved)."""
    fen = amount_fen(biz, "total_amount")
    now = sim.now()
    return Trade(
        seller_id=call.seller.pid,
        out_trade_no=out_no(biz, "out_trade_no"),
        trade_no=_new_trade_no(sim),
        kind=kind,
        status="WAIT_BUYER_PAY",
        total_fen=fen,
        subject=required_text(biz, "subject", 256),
        body=optional_text(biz, "body", 128),
        store_id=optional_text(biz, "store_id", 32),
        app_id=call.app_id,
        auth_app_id=call.seller.auth_app_id,
        notify_url=call.notify_url,
        fingerprint=_fingerprint(call, biz, fen),
        created_at=now,
        expire_at=expiry(biz, now, QR_MAX_SECONDS if kind == "precreate" else None),
    )


def _replayed(sim: AlipaySimulator, call: Call, new: Trade) -> Trade | None:
    """An existing trade under the same ``out_trade_no``: the same order again, or a refusal."""
    old = sim.ledger.trade(call.seller.pid, new.out_trade_no)
    if old is None:
        return None
    sim.refresh(old)
    if old.status in PAID_STATES:
        raise business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
    if old.status == "TRADE_CLOSED":
        raise business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
    if old.fingerprint != new.fingerprint or old.kind != new.kind:
        raise business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
    return old


def _trade_fields(trade: Trade) -> dict[str, Any]:
    return {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}


def _paid_fields(trade: Trade) -> dict[str, Any]:
    amount = yuan(trade.total_fen)
    fields = {
        **_trade_fields(trade),
        "buyer_logon_id": trade.buyer_logon_id,
        "buyer_user_id": trade.buyer_id,
        "total_amount": amount,
        "receipt_amount": amount if trade.paid else "0.00",
        "buyer_pay_amount": amount if trade.paid else "0.00",
        "point_amount": "0.00",
        "invoice_amount": amount if trade.paid else "0.00",
        "fund_bill_list": [{"fund_channel": "ALIPAYACCOUNT", "amount": amount}]
        if trade.paid
        else [],
    }
    if trade.paid_at is not None:
        fields["gmt_payment"] = china_text(trade.paid_at)
    return fields


# ---- the three ways to pay ---------------------------------------------------------------------


def pay(sim: AlipaySimulator, call: Call, biz: dict[str, Any]) -> Answer:
    scene = optional_text(biz, "scene", 32) or "bar_code"
    if scene not in ("bar_code", "security_code"):
        raise invalid_parameter("scene 取值 bar_code 或 security_code")
    auth_code = required_text(biz, "auth_code", 64)
    trade = _order(sim, call, biz, "pay")
    old = _replayed(sim, call, trade)
    if old is not None:  # the same payment asked again while the payer still types
        return WAITING, _paid_fields(old)
    kind = payer_kind(auth_code)
    if kind is PayerKind.INVALID or auth_code in sim.ledger.used_codes:
        raise business(
            "ACQ.PAYMENT_AUTH_CODE_INVALID",
            "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款",
        )
    if kind is PayerKind.INSUFFICIENT:
        raise business("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")
    sim.ledger.spend_code(auth_code)
    buyer = buyer_for(auth_code)
    trade.buyer_id, trade.buyer_logon_id = buyer.user_id, buyer.logon_id
    if kind is PayerKind.IMMEDIATE:
        sim.ledger.save_trade(trade)
        sim.mark_paid(trade, buyer.user_id, buyer.logon_id)
        return SUCCESS, _paid_fields(trade)
    if kind is PayerKind.PASSWORD:
        trade.confirm_at = sim.now() + sim.scaled(sim.config.password_delay_seconds)
    sim.ledger.save_trade(trade)
    if trade.confirm_at is not None:
        sim.schedule_confirmation(trade)
    return WAITING, _paid_fields(trade)


def precreate(sim: AlipaySimulator, call: Call, biz: dict[str, Any]) -> Answer:
    trade = _order(sim, call, biz, "precreate")
    if sim.ledger.trade(call.seller.pid, trade.out_trade_no) is not None:
        raise business("ACQ.APPLY_PC_MERCHANT_CODE_ERROR", "订单号已申请过二维码")
    trade.status = UNSCANNED
    trade.qr_code = f"https://qr.alipay.com/bax{secrets.token_hex(10)}"
    sim.ledger.save_trade(trade)
    return SUCCESS, {"out_trade_no": trade.out_trade_no, "qr_code": trade.qr_code}


def create(sim: AlipaySimulator, call: Call, biz: dict[str, Any]) -> Answer:
    buyer_id = optional_text(biz, "buyer_id", 28)
    open_id = optional_text(biz, "buyer_open_id", 128)
    if not buyer_id and not open_id:
        raise invalid_parameter("buyer_id 与 buyer_open_id 不能同时为空")
    trade = _order(sim, call, biz, "create")
    old = _replayed(sim, call, trade)
    if old is not None:
        return SUCCESS, _trade_fields(old)
    buyer = buyer_for(buyer_id or open_id)
    trade.buyer_id, trade.buyer_logon_id = buyer.user_id, buyer.logon_id
    sim.ledger.save_trade(trade)
    return SUCCESS, _trade_fields(trade)


def wap_pay(sim: AlipaySimulator, call: Call, biz: dict[str, Any]) -> Answer:
    """``alipay.trade.wap.pay``: a page request the buyer's mobile browser brings to the gateway
    (signed by the merchant's server); the trade waits for the buyer on Alipay's cashier page.
    The app answers it with that page (``app._gateway``), not with JSON."""
    product = optional_text(biz, "product_code", 32) or "QUICK_WAP_WAY"
    if product != "QUICK_WAP_WAY":
        raise invalid_parameter("product_code 取值 QUICK_WAP_WAY")
    trade = _order(sim, call, biz, "wap")
    old = _replayed(sim, call, trade)  # the buyer reloads the page: the same trade
    if old is not None:
        trade = old
    else:
        sim.ledger.save_trade(trade)
    fields = {**_trade_fields(trade), "total_amount": yuan(trade.total_fen)}
    return SUCCESS, {**fields, "subject": trade.subject, "seller_id": trade.seller_id}


# ---- after the order ---------------------------------------------------------------------------


def _existing(sim: AlipaySimulator, call: Call, biz: dict[str, Any]) -> Trade:
    out_trade_no = optional_text(biz, "out_trade_no", 64)
    trade_no = optional_text(biz, "trade_no", 64)
    if not out_trade_no and not trade_no:
        raise invalid_parameter("out_trade_no 与 trade_no 不能同时为空")
    trade = sim.ledger.trade(call.seller.pid, out_trade_no, trade_no)
    if trade is None:
        raise _not_exist()
    return sim.refresh(trade)


def query(sim: AlipaySimulator, call: Call, biz: dict[str, Any]) -> Answer:
    trade = _existing(sim, call, biz)
    if trade.status == UNSCANNED:
        raise _not_exist()
    fields = _paid_fields(trade)
    fields.update(trade_status=trade.status, subject=trade.subject)
    if trade.paid_at is not None:
        fields["send_pay_date"] = china_text(trade.paid_at)
        del fields["gmt_payment"]
    if trade.body:
        fields["body"] = trade.body
    if trade.store_id:
        fields["store_id"] = trade.store_id
    return SUCCESS, fields


def close(sim: AlipaySimulator, call: Call, biz: dict[str, Any]) -> Answer:
    trade = _existing(sim, call, biz)
    if trade.status == UNSCANNED:
        raise _not_exist()
    if trade.status != "WAIT_BUYER_PAY":
        raise business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
    sim.close(trade)
    return SUCCESS, _trade_fields(trade)


def cancel(sim: AlipaySimulator, call: Call, biz: dict[str, Any]) -> Answer:
    out_trade_no = optional_text(biz, "out_trade_no", 64)
    trade_no = optional_text(biz, "trade_no", 64)
    trade = sim.ledger.trade(call.seller.pid, out_trade_no, trade_no)
    if trade is None:  # never reached Alipay: nothing to undo
        return SUCCESS, {"out_trade_no": out_trade_no, "retry_flag": "N"}
    sim.refresh(trade)
    today = datetime.fromtimestamp(sim.now(), CHINA).date()
    if datetime.fromtimestamp(trade.created_at, CHINA).date() != today:
        raise business("ACQ.TRADE_CANCEL_TIME_OUT", "超过撤销时间范围，请使用退款")
    fields = {**_trade_fields(trade), "retry_flag": "N"}
    if trade.status == "TRADE_FINISHED":
        raise business("ACQ.TRADE_HAS_FINISHED", "交易已完结")
    if trade.status in ("WAIT_BUYER_PAY", UNSCANNED):
        trade.cancelled = True
        sim.close(trade)
        return SUCCESS, {**fields, "action": "close"}
    if trade.status == "TRADE_SUCCESS":
        if trade.refunded_fen:
            raise business("ACQ.REASON_TRADE_REFUND_FEE_ERR", "交易已有退款，不能撤销")
        trade.cancelled = True
        refund = Refund(
            trade.seller_id,
            trade.out_trade_no,
            trade.trade_no,
            trade.out_trade_no,
            trade.total_fen,
            sim.now(),
            "撤销",
        )
        sim.record_refund(trade, refund)
        return SUCCESS, {**fields, "action": "refund", "gmt_refund_pay": china_text(refund.at)}
    # closed already: the same answer as the cancel that closed it
    action = "refund" if trade.paid else "close"
    return SUCCESS, {**fields, "action": action}


def refund(sim: AlipaySimulator, call: Call, biz: dict[str, Any]) -> Answer:
    trade = _existing(sim, call, biz)
    fen = amount_fen(biz, "refund_amount")
    request_no = optional_text(biz, "out_request_no", 64) or trade.out_trade_no
    key = f"{trade.key}|{request_no}"
    fields = {
        **_trade_fields(trade),
        "buyer_logon_id": trade.buyer_logon_id,
        "buyer_user_id": trade.buyer_id,
    }
    earlier = sim.ledger.refunds.get(key)
    if earlier is not None:
        if earlier.refund_fen != fen:
            raise business("ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致")
        return SUCCESS, {**fields, "fund_change": "N", "refund_fee": yuan(trade.refunded_fen)}
    if trade.status == "TRADE_FINISHED":
        raise business("ACQ.TRADE_HAS_FINISHED", "交易已完结")
    if trade.status == "TRADE_CLOSED":
        raise business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
    if trade.status != "TRADE_SUCCESS":
        raise business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
    if fen > trade.total_fen - trade.refunded_fen:
        raise business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
    made = Refund(
        trade.seller_id,
        trade.out_trade_no,
        trade.trade_no,
        request_no,
        fen,
        sim.now(),
        optional_text(biz, "refund_reason", 256),
    )
    sim.record_refund(trade, made)
    return SUCCESS, {
        **fields,
        "fund_change": "Y",
        "refund_fee": yuan(trade.refunded_fen),
        "gmt_refund_pay": china_text(made.at),
    }


def refund_query(sim: AlipaySimulator, call: Call, biz: dict[str, Any]) -> Answer:
    trade = _existing(sim, call, biz)
    request_no = optional_text(biz, "out_request_no", 64) or trade.out_trade_no
    found = sim.ledger.refunds.get(f"{trade.key}|{request_no}")
    if found is None:  # Alipay answers success without refund fields
        return SUCCESS, _trade_fields(trade)
    fields = {
        **_trade_fields(trade),
        "out_request_no": request_no,
        "total_amount": yuan(trade.total_fen),
        "refund_amount": yuan(found.refund_fen),
        "refund_status": "REFUND_SUCCESS",
    }
    options = biz.get("query_options")
    if isinstance(options, list) and "gmt_refund_pay" in options:
        fields["gmt_refund_pay"] = china_text(found.at)
    if found.reason:
        fields["refund_reason"] = found.reason
    return SUCCESS, fields


def bill_url(sim: AlipaySimulator, call: Call, biz: dict[str, Any]) -> Answer:
    bill_type = required_text(biz, "bill_type", 16)
    if bill_type != "trade":
        raise invalid_parameter("bill_type 仅支持 trade")
    text = required_text(biz, "bill_date", 10)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise invalid_parameter("bill_date 格式应为 yyyy-MM-dd") from None
    today = datetime.fromtimestamp(sim.now(), CHINA).date()
    if day >= today:
        raise business("BILL_NOT_EXIST", "账单不存在（当日及以后的账单次日生成）")
    token = secrets.token_urlsafe(16)
    sim.bill_tokens[token] = (sim.now() + BILL_URL_SECONDS, call.seller.pid, day.isoformat())
    url = (
        f"{call.base_url}/bill/download?bizType=trade&userId={call.seller.pid}0156"
        f"&fileType=csv.zip&bizDates={day:%Y%m%d}"
        f"&downloadFileName={call.seller.pid}0156_{day:%Y%m%d}.csv.zip&token={token}"
    )
    return SUCCESS, {"bill_download_url": url}


def download_bill(sim: AlipaySimulator, token: str) -> tuple[str, bytes] | None:
    """The bill behind a download URL, or ``None`` once the URL expired (30 s)."""
    found = sim.bill_tokens.get(token)
    if found is None or found[0] < sim.now():
        sim.bill_tokens.pop(token, None)
        return None
    _, pid, text = found
    day = date.fromisoformat(text)

    def on_day(moment: float | None) -> bool:
        return moment is not None and _china_day(moment) == day

    trades = [t for t in sim.ledger.trades.values() if t.seller_id == pid and on_day(t.paid_at)]
    refunds: list[tuple[Trade, Refund]] = []
    for refund in sim.ledger.refunds.values():
        owner = sim.ledger.trade(pid, refund.out_trade_no)
        if refund.seller_id == pid and owner is not None and on_day(refund.at):
            refunds.append((owner, refund))
    return bill_zip(pid, day, trades, refunds)


def _china_day(moment: float) -> date:
    return datetime.fromtimestamp(moment, CHINA).date()


METHODS: dict[str, Callable[[AlipaySimulator, Call, dict[str, Any]], Answer]] = {
    "alipay.trade.pay": pay,
    "alipay.trade.precreate": precreate,
    "alipay.trade.create": create,
    "alipay.trade.wap.pay": wap_pay,
    "alipay.trade.query": query,
    "alipay.trade.close": close,
    "alipay.trade.cancel": cancel,
    "alipay.trade.refund": refund,
    "alipay.trade.fastpay.refund.query": refund_query,
    "alipay.data.dataservice.bill.downloadurl.query": bill_url,
}
