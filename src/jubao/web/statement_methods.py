"""The statement and catalogue rows of the Open API 1.0 method table (reference 5.12, 5.13,
5.17): parse (``protocol.statement_methods``), query (``payments.statements``), render
(``payments.statement_views``). All read-only."""

from __future__ import annotations

from typing import Any

from jubao.errors import BusinessRuleError
from jubao.merchants import catalogue
from jubao.merchants.models import App
from jubao.payments import statement_views as views
from jubao.payments.service import PaymentService
from jubao.payments.statements import MerchantStatements
from jubao.protocol import statement_methods as parse

__all__ = ["bill", "cashier_query", "reconciliation", "store_category", "store_query"]


def _statements(service: PaymentService) -> MerchantStatements:
    return MerchantStatements(service.db, service.merchants)


async def bill(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return views.bill_view(await _statements(service).bill(app, parse.parse_bill(biz)))


async def reconciliation(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    request = parse.parse_reconciliation(biz)
    return views.reconciliation_view(await _statements(service).reconciliation(app, request))


async def store_query(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return views.stores_view(await _statements(service).stores(app, parse.parse_store_query(biz)))


async def cashier_query(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    query = parse.parse_cashier_query(biz)
    return views.cashiers_view(await _statements(service).cashiers(app, query))


async def store_category(
    service: PaymentService, app: App, biz: dict[str, Any]
) -> list[dict[str, Any]]:
    parent_id = parse.parse_category(biz).parent_id
    if not catalogue.is_category(parent_id):
        raise BusinessRuleError(f"门店类目 parent_id={parent_id} 不存在",
                                sub_code="CATEGORY_NOT_FOUND")  # fmt: skip
    return views.categories_view(catalogue.categories_under(parent_id))
