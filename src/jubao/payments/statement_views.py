"""How statements and the store catalogue look on the wire (reference 5.12, 5.13, 5.17). Pure.

jubao charges no fee and grants no discount: ``fee`` and ``discount_money`` are 0,
``income`` and ``order_price`` equal ``total_fee``. Times are epoch seconds, 0 when unpaid.
"""

from __future__ import annotations

from typing import Any

from jubao.merchants.catalogue import Category
from jubao.merchants.models import Cashier, Store
from jubao.money import fen_to_yuan
from jubao.payments.statements import Bill, StatementLine

__all__ = [
    "bill_view",
    "cashiers_view",
    "categories_view",
    "reconciliation_view",
    "stores_view",
]

_NO_FEE = fen_to_yuan(0)


def _seconds(ms: int | None) -> int:
    return 0 if ms is None else ms // 1000


def _bill_line(line: StatementLine) -> dict[str, Any]:
    total = fen_to_yuan(line.total_fen)
    return {
        "order_sn": line.order_sn,
        "merchant_order_sn": line.merchant_order_sn,
        "create_time": _seconds(line.created_at),
        "order_price": total,
        "total_fee": total,
        "fee": _NO_FEE,
        "income": total,
        "store_id": line.store_id,
        "cashier_id": line.cashier_id,
        "pay_time": _seconds(line.paid_at),
        "pay_type": line.channel.fubei_type,
        "discount_money": _NO_FEE,
    }


def bill_view(bill: Bill) -> dict[str, Any]:
    """``openapi.payment.order.bill``: the summary of the whole window and one page of lines."""
    return {
        "summary_num": bill.paid_count,
        "summary_total_fee": fen_to_yuan(bill.paid_fen),
        "refund_num": bill.refund_count,
        "refund_money": fen_to_yuan(bill.refund_fen),
        "list": [_bill_line(line) for line in bill.lines],
    }


def _reconciliation_line(line: StatementLine) -> dict[str, Any]:
    total = fen_to_yuan(line.total_fen)
    return {
        "order_sn": line.order_sn,
        "merchant_order_sn": line.merchant_order_sn,
        "create_time": _seconds(line.created_at),
        "total_fee": total,
        "fee": _NO_FEE,
        "income": total,
        "store_id": line.store_id,
        "cashier_id": line.cashier_id,
        "pay_time": _seconds(line.paid_at),
        "pay_status": 1 if line.paid else 0,
        "pay_type": line.channel.fubei_type,
    }


def reconciliation_view(lines: list[StatementLine]) -> dict[str, Any]:
    """``openapi.payment.order.reconciliation``: ``{"list": [...]}``, empty past the last page."""
    return {"list": [_reconciliation_line(line) for line in lines]}


def stores_view(stores: list[Store]) -> dict[str, Any]:
    return {"list": [{"store_id": s.store_id, "store_name": s.name} for s in stores]}


def cashiers_view(cashiers: list[Cashier]) -> dict[str, Any]:
    """Ids as strings, as Fubei answers them (its ``store_id`` may list several stores; a jubao
    cashier has one). jubao keeps no cashier login, so ``cashier_account`` is empty."""
    return {
        "list": [
            {
                "store_id": str(c.store_id),
                "cashier_id": str(c.cashier_id),
                "cashier_name": c.name,
                "cashier_account": "",
            }
            for c in cashiers
        ]
    }


def categories_view(categories: list[Category]) -> list[dict[str, Any]]:
    """``openapi.store.category``: a bare array (the one 1.0 method whose ``data`` is one)."""
    return [{"category_id": c.category_id, "category_name": c.category_name} for c in categories]
