"""Open API 2.0's ``store_id`` fallback, shared by its order methods (``web/methods_v2.py``) and
its cashier codes (``web/methods_cashier.py``)."""

from __future__ import annotations

import dataclasses

from jubao.errors import BusinessRuleError
from jubao.merchants.models import Caller
from jubao.payments.service import PaymentService
from jubao.protocol.methods import SceneOrder

__all__ = ["in_default_store"]


async def in_default_store(
    service: PaymentService, caller: Caller, order: SceneOrder
) -> SceneOrder:
    """``store_id`` 0 (absent) is the merchant's first store, as Fubei falls back to the
    merchant's default store."""
    if order.store_id != 0:
        return order
    store = await service.merchants.default_store(caller.merchant.merchant_id)
    if store is None:
        raise BusinessRuleError("商户还没有门店，请先创建门店", sub_code="STORE_NOT_FOUND")
    return dataclasses.replace(order, store_id=store.store_id)
