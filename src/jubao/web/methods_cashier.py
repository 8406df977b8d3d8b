"""The 2.0 rows of the aggregated QR cashier (聚合码, ``payments.cashier_codes``), listed in the
2.0 method table (``web/methods_v2.py``): each makes a cashier code and answers the address of
its hosted page (``web/cashier_page.py``), ``PUBLIC_URL/qr/<token>``.

- ``fbpay.fixed.qrcode.create``: ``qrcode_url`` and ``merchant_order_sn``.
- ``fbpay.order.qrcode`` (定额码): the same code; ``order_sn`` (reserved now, the order the first
  wallet creates), ``trade_no`` (jubao's number for it, as in 1.0 answers: the ``order_sn``),
  ``qr_code`` and ``qrcode_url`` (both the page's address), ``store_id``, ``cashier_id``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from jubao.merchants.models import Caller
from jubao.payments.cashier_codes import CashierCodeRecord, CashierCodeRequest, cashier_codes_for
from jubao.payments.service import PaymentService
from jubao.protocol import fbpay_qrcode
from jubao.web.default_store import in_default_store

__all__ = ["fixed_qrcode_create", "order_qrcode"]


async def _create(
    service: PaymentService, caller: Caller, request: fbpay_qrcode.QrcodeRequest
) -> CashierCodeRecord:
    order = await in_default_store(service, caller, request.order)
    code = CashierCodeRequest(
        merchant_order_sn=order.merchant_order_sn,
        total_fen=order.total_fen,
        store_id=order.store_id,
        cashier_id=order.cashier_id,
        channel=request.channel,
        body=order.body,
        attach=order.attach,
        notify_url=order.call_back_url,
        expire_seconds=request.expire_seconds,
    )
    return await cashier_codes_for(service).create(caller, code)


def _page_url(service: PaymentService, code: CashierCodeRecord) -> str:
    return f"{service.settings.resolved_public_url}/qr/{quote(code.token)}"


async def fixed_qrcode_create(
    service: PaymentService, caller: Caller, biz: dict[str, Any]
) -> dict[str, Any]:
    code = await _create(service, caller, fbpay_qrcode.parse_fixed_qrcode(biz))
    return {"qrcode_url": _page_url(service, code), "merchant_order_sn": code.merchant_order_sn}


async def order_qrcode(
    service: PaymentService, caller: Caller, biz: dict[str, Any]
) -> dict[str, Any]:
    code = await _create(service, caller, fbpay_qrcode.parse_order_qrcode(biz))
    url = _page_url(service, code)
    return {
        "order_sn": code.order_sn,
        "merchant_order_sn": code.merchant_order_sn,
        "trade_no": code.order_sn,
        "qr_code": url,
        "qrcode_url": url,
        "store_id": code.store_id,
        "cashier_id": code.cashier_id,
    }
