"""What a test buyer does in the Alipay app: scan a precreated QR code (and pay), pay a JSAPI
trade the page handed to ``my.tradePay``, or pay on the cashier page of a WAP trade. Answers
use ``tradePay``'s ``resultCode``: ``9000`` paid, ``4000`` failed, ``6001`` cancelled by the
buyer."""

from __future__ import annotations

from typing import Any

from jubao.channels.alipay_simulator.models import UNSCANNED, Trade
from jubao.channels.alipay_simulator.payer import buyer_for
from jubao.channels.alipay_simulator.simulator import AlipaySimulator

__all__ = ["BuyerError", "scan", "trade_pay", "wap_pay"]

DEFAULT_BUYER = "test-buyer"


class BuyerError(Exception):
    def __init__(self, result_code: str, memo: str) -> None:
        super().__init__(memo)
        self.result_code = result_code
        self.memo = memo


def _outcome(trade: Trade, result_code: str = "9000") -> dict[str, Any]:
    return {
        "resultCode": result_code,
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "trade_status": trade.status,
        "buyer_id": trade.buyer_id,
    }


def scan(sim: AlipaySimulator, qr_code: str, buyer: str | None, pay: bool = True) -> dict[str, Any]:
    """The buyer scans: the trade comes into being (``WAIT_BUYER_PAY``), then is paid unless
    ``pay`` is false (the buyer walks away)."""
    trade = sim.ledger.by_qr(qr_code)
    if trade is None:
        raise BuyerError("4000", "二维码无效")
    sim.refresh(trade)
    account = buyer_for(buyer or DEFAULT_BUYER)
    if trade.status == UNSCANNED:
        trade.status = "WAIT_BUYER_PAY"
        trade.buyer_id, trade.buyer_logon_id = account.user_id, account.logon_id
        sim.ledger.save_trade(trade)
    if not pay:
        return _outcome(trade, "6001")
    return _pay(sim, trade, account.user_id, account.logon_id)


def trade_pay(sim: AlipaySimulator, trade_no: str, buyer: str | None) -> dict[str, Any]:
    """``my.tradePay({tradeNO})``: only the trade's own buyer can pay it."""
    trade = sim.ledger.by_trade_no(trade_no)
    if trade is None or trade.kind != "create":
        raise BuyerError("4000", "交易不存在")
    sim.refresh(trade)
    account = buyer_for(buyer or trade.buyer_id)
    if account.user_id != trade.buyer_id:
        raise BuyerError("4000", "ACQ.TRADE_BUYER_NOT_MATCH 交易买家不匹配")
    return _pay(sim, trade, account.user_id, account.logon_id)


def wap_pay(
    sim: AlipaySimulator, seller_id: str, out_trade_no: str, buyer: str | None
) -> dict[str, Any]:
    """The buyer pays on the cashier page a mobile browser was sent to (``alipay.trade.wap.pay``),
    logged in as ``buyer`` (the test buyer by default)."""
    trade = sim.ledger.trade(seller_id, out_trade_no)
    if trade is None or trade.kind != "wap":
        raise BuyerError("4000", "交易不存在")
    sim.refresh(trade)
    account = buyer_for(buyer or DEFAULT_BUYER)
    return _pay(sim, trade, account.user_id, account.logon_id)


def _pay(sim: AlipaySimulator, trade: Trade, buyer_id: str, logon_id: str) -> dict[str, Any]:
    if trade.status != "WAIT_BUYER_PAY":
        raise BuyerError("4000", f"交易状态为 {trade.status}，不能支付")
    sim.mark_paid(trade, buyer_id, logon_id)
    return _outcome(trade)
