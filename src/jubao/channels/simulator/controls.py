"""How the simulated world behaves, as the sandbox's controls set it: payment, notification and
refund outcomes (global or per order), latency and injected faults. In memory only: a restart
returns to the configuration."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from jubao.channels.simulator.errors import ApiError

__all__ = [
    "NOTIFICATION_MODES",
    "PAYMENT_MODES",
    "REFUND_MODES",
    "Behaviour",
    "Controls",
    "Fault",
]

PAYMENT_MODES = ("succeed", "fail")
NOTIFICATION_MODES = ("normal", "drop", "duplicate")
REFUND_MODES = {
    "success": "SUCCESS",
    "fail": "ABNORMAL",
    "abnormal": "ABNORMAL",
    "closed": "CLOSED",
}
"""Refund behaviour -> the status the refund settles in."""


@dataclass
class Behaviour:
    """Global, or overridden for one out_trade_no; a per-order ``payment="fail"`` applies to the
    next payment attempt only."""

    payment: str = "succeed"
    notifications: str = "normal"
    refunds: str = "success"


@dataclass
class Fault:
    remaining: int
    status: int
    code: str
    message: str


class Controls:
    def __init__(self, latency_ms: int) -> None:
        self._initial_latency_ms = latency_ms
        self.latency_ms = latency_ms
        self._behaviour = Behaviour()
        self._order_behaviour: dict[str, dict[str, str]] = {}
        self._fault: Fault | None = None

    # ---- behaviour -----------------------------------------------------------------------

    def behaviour_for(self, out_trade_no: str | None) -> Behaviour:
        behaviour = Behaviour(**asdict(self._behaviour))
        for name, value in self._order_behaviour.get(out_trade_no or "", {}).items():
            setattr(behaviour, name, value)
        return behaviour

    def set_behaviour(
        self,
        *,
        out_trade_no: str | None,
        payment: str | None,
        notifications: str | None,
        refunds: str | None,
    ) -> None:
        changes: dict[str, str] = {}
        for name, value, allowed in (
            ("payment", payment, PAYMENT_MODES),
            ("notifications", notifications, NOTIFICATION_MODES),
            ("refunds", refunds, tuple(REFUND_MODES)),
        ):
            if value is None:
                continue
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}")
            changes[name] = value
        if out_trade_no is None:
            for name, value in changes.items():
                setattr(self._behaviour, name, value)
        else:
            self._order_behaviour.setdefault(out_trade_no, {}).update(changes)

    def take_payment_failure(self, out_trade_no: str) -> bool:
        """Whether this payment attempt fails; consumes a per-order ``fail``."""
        override = self._order_behaviour.get(out_trade_no, {})
        if override.get("payment") == "fail":
            del override["payment"]  # an order's failure applies to its next payment only
            return True
        return "payment" not in override and self._behaviour.payment == "fail"

    def refund_outcome(self, out_trade_no: str) -> str:
        return REFUND_MODES[self.behaviour_for(out_trade_no).refunds]

    def notification_mode(self, out_trade_no: str) -> str:
        return self.behaviour_for(out_trade_no).notifications

    def reset(self) -> None:
        self._behaviour = Behaviour()
        self._order_behaviour.clear()
        self.latency_ms = self._initial_latency_ms
        self._fault = None

    def view(self, out_trade_no: str | None = None) -> dict[str, Any]:
        view: dict[str, Any] = asdict(self.behaviour_for(out_trade_no))
        view["latency_ms"] = self.latency_ms
        view["faults"] = asdict(self._fault) if self._fault else None
        return view

    # ---- latency and faults --------------------------------------------------------------

    def set_latency(self, latency_ms: int) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        self.latency_ms = latency_ms

    def inject_faults(self, count: int, status: int, code: str, message: str | None) -> None:
        if count < 0 or not 400 <= status <= 599:
            raise ValueError("count must be >= 0 and status a 4xx/5xx")
        self._fault = Fault(count, status, code, message or "系统错误（模拟器注入的故障）")

    def clear_faults(self) -> None:
        self._fault = None

    def take_fault(self) -> ApiError | None:
        """Consumes one injected fault, if any (called for every v3 request)."""
        fault = self._fault
        if fault is None or fault.remaining <= 0:
            return None
        fault.remaining -= 1
        if fault.remaining == 0:
            self._fault = None
        return ApiError(fault.status, fault.code, fault.message)
