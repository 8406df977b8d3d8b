"""The sandbox's control API (``/control/...``): behaviour switches, injected faults, time
travel for one trade, the notification log, keys and merchants. JSON in, JSON out."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from jubao.channels.alipay_simulator.config import AlipayMerchant
from jubao.channels.alipay_simulator.models import Trade
from jubao.channels.alipay_simulator.simulator import (
    FAULT_KINDS,
    NOTIFICATION_MODES,
    AlipaySimulator,
    Fault,
)

__all__ = [
    "behaviour",
    "clear_faults",
    "expire_trade",
    "finish_trade",
    "inject_fault",
    "keys",
    "merchants",
    "notifications",
    "register_merchant",
    "set_behaviour",
    "trade_state",
]


def _int(data: dict[str, Any], name: str, default: int) -> int:
    value = data.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer")
    return value


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def behaviour(sim: AlipaySimulator) -> dict[str, Any]:
    return {
        "latency_ms": sim.latency_ms,
        "notifications": sim.notification_mode,
        "refund_notifications": sim.refund_notifications,
        "faults": [asdict(f) for f in sim.faults],
    }


def set_behaviour(sim: AlipaySimulator, data: dict[str, Any]) -> dict[str, Any]:
    if "latency_ms" in data:
        sim.latency_ms = _int(data, "latency_ms", 0)
    if "notifications" in data:
        mode = _text(data, "notifications")
        if mode not in NOTIFICATION_MODES:
            raise ValueError(f"notifications must be one of {', '.join(NOTIFICATION_MODES)}")
        sim.notification_mode = mode
    if "refund_notifications" in data:
        if not isinstance(data["refund_notifications"], bool):
            raise ValueError("refund_notifications must be true or false")
        sim.refund_notifications = data["refund_notifications"]
    return behaviour(sim)


def inject_fault(sim: AlipaySimulator, data: dict[str, Any]) -> dict[str, Any]:
    kind = _text(data, "kind")
    if kind not in FAULT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
    method = data.get("method")
    if method is not None and not isinstance(method, str):
        raise ValueError("method must be a string")
    sim.faults.append(Fault(kind, _int(data, "count", 1), method))
    return behaviour(sim)


def clear_faults(sim: AlipaySimulator) -> dict[str, Any]:
    sim.faults.clear()
    return behaviour(sim)


def _trade(sim: AlipaySimulator, out_trade_no: str, seller_id: str | None) -> Trade:
    found = [
        t
        for t in sim.ledger.trades.values()
        if t.out_trade_no == out_trade_no and seller_id in (None, t.seller_id)
    ]
    if len(found) != 1:
        raise KeyError(f"trade {out_trade_no} not found" if not found else "several sellers")
    return sim.refresh(found[0])


def trade_state(sim: AlipaySimulator, out_trade_no: str, seller_id: str | None) -> dict[str, Any]:
    trade = _trade(sim, out_trade_no, seller_id)
    return {
        **asdict(trade),
        "refunds": [asdict(r) for r in sim.ledger.refunds_of(trade)],
    }


def expire_trade(sim: AlipaySimulator, out_trade_no: str, seller_id: str | None) -> dict[str, Any]:
    """Moves the trade's deadline to now: an unpaid trade closes."""
    trade = _trade(sim, out_trade_no, seller_id)
    trade.expire_at = min(trade.expire_at, sim.now())
    sim.ledger.save_trade(trade)
    return trade_state(sim, out_trade_no, trade.seller_id)


def finish_trade(sim: AlipaySimulator, out_trade_no: str, seller_id: str | None) -> dict[str, Any]:
    """Ends the refund window of a paid trade (TRADE_SUCCESS -> TRADE_FINISHED)."""
    trade = _trade(sim, out_trade_no, seller_id)
    if trade.status != "TRADE_SUCCESS":
        raise ValueError(f"trade is {trade.status}, not TRADE_SUCCESS")
    trade.status = "TRADE_FINISHED"
    sim.ledger.save_trade(trade)
    return trade_state(sim, out_trade_no, trade.seller_id)


def notifications(sim: AlipaySimulator, out_trade_no: str | None) -> dict[str, Any]:
    items = [
        asdict(n)
        for n in sim.ledger.notifications.values()
        if out_trade_no is None or n.fields.get("out_trade_no") == out_trade_no
    ]
    return {"notifications": items}


def keys(sim: AlipaySimulator) -> dict[str, Any]:
    return {"app_id": sim.config.app_id, "alipay_public_key": sim.alipay_public_key}


def merchants(sim: AlipaySimulator) -> dict[str, Any]:
    return {
        "merchants": [
            {"pid": m.pid, "auth_app_id": m.auth_app_id} for m in sim.ledger.merchants.values()
        ]
    }


def register_merchant(sim: AlipaySimulator, data: dict[str, Any]) -> dict[str, Any]:
    pid = _text(data, "pid")
    if not (len(pid) == 16 and pid.startswith("2088") and pid.isascii() and pid.isdigit()):
        raise ValueError("pid must be 2088 followed by 12 digits")
    auth_app_id = data.get("auth_app_id") or ""
    if not isinstance(auth_app_id, str):
        raise ValueError("auth_app_id must be a string")
    sim.register_merchant(AlipayMerchant(pid, _text(data, "app_auth_token"), auth_app_id))
    return merchants(sim)
