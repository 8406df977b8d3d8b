"""The Open API 2.0 method table (``POST /gateway/agent``): each row parses its ``biz_content``
(``protocol.fbpay``), calls the same service use case as 1.0 (``web/methods_v1.py``) for the
``Caller`` (an app, or a vendor acting for one of its merchants), and renders the 2.0 answer
(``payments.views_v2``). A new 2.0 method is one more row in ``HANDLERS``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from jubao.kinds import ApiVersion, ChannelName, Scene
from jubao.merchants.models import Caller
from jubao.payments import views_v2
from jubao.payments.requests import CreateOrder
from jubao.payments.service import PaymentService
from jubao.protocol import fbpay, fbpay_qrcode
from jubao.protocol.methods import SceneOrder
from jubao.web import methods_cashier
from jubao.web.default_store import in_default_store

__all__ = ["HANDLERS", "Handler", "create_order"]

Handler = Callable[[PaymentService, Caller, dict[str, Any]], Awaitable[dict[str, Any]]]


async def create_order(
    service: PaymentService,
    caller: Caller,
    order: SceneOrder,
    channel: ChannelName,
    scene: Scene,
    *extra_fingerprint: object,
    **extra: Any,
) -> CreateOrder:
    """The service's ``CreateOrder`` for a 2.0 order, in the merchant's first store when it names
    none."""
    order = await in_default_store(service, caller, order)
    fingerprint = order.fingerprint(fbpay.pay_type_of(channel), *extra_fingerprint)
    return CreateOrder.of(order, channel, scene, fingerprint, api=ApiVersion.V2, **extra)


async def _pay(service: PaymentService, caller: Caller, biz: dict[str, Any]) -> dict[str, Any]:
    request = fbpay.parse_pay(biz)
    # the code is single-use: another code under the same merchant_order_sn is another payment
    create = await create_order(
        service, caller, request.order, request.channel, Scene.BARCODE, request.auth_code,
        auth_code=request.auth_code,
    )  # fmt: skip
    return views_v2.order_view(await service.create(caller, create))


async def _create(service: PaymentService, caller: Caller, biz: dict[str, Any]) -> dict[str, Any]:
    request = fbpay.parse_create(biz)
    create = await create_order(
        service, caller, request.order, request.channel, Scene.JSAPI, request.user_id,
        payer_id=request.user_id,
    )  # fmt: skip
    return views_v2.create_answer(await service.create(caller, create))


async def _wap(service: PaymentService, caller: Caller, biz: dict[str, Any]) -> dict[str, Any]:
    request = fbpay.parse_wap(biz)
    create = await create_order(
        service, caller, request.order, ChannelName.ALIPAY, Scene.H5, request.return_url or "",
        return_url=request.return_url,
    )  # fmt: skip
    return views_v2.wap_answer(await service.create(caller, create))


async def _query(service: PaymentService, caller: Caller, biz: dict[str, Any]) -> dict[str, Any]:
    return views_v2.order_view(await service.query(caller, fbpay.parse_order_ref(biz)))


async def _close(service: PaymentService, caller: Caller, biz: dict[str, Any]) -> dict[str, Any]:
    return views_v2.close_answer(await service.close(caller, fbpay.parse_close_ref(biz)))


async def _refund(service: PaymentService, caller: Caller, biz: dict[str, Any]) -> dict[str, Any]:
    return views_v2.refund_view(*await service.refund(caller, fbpay.parse_refund(biz)))


async def _refund_query(
    service: PaymentService, caller: Caller, biz: dict[str, Any]
) -> dict[str, Any]:
    return views_v2.refund_view(*await service.refund_query(caller, fbpay.parse_refund_query(biz)))


async def _callback_config(
    service: PaymentService, caller: Caller, biz: dict[str, Any]
) -> dict[str, Any]:
    config = fbpay.parse_callback_config(biz)
    merchant_id = caller.merchant.merchant_id
    await service.merchants.set_callbacks(merchant_id, config.pay_url, config.refund_url)
    return {
        "bind_status": 1,
        "merchant_id": merchant_id,
        "agent_id": caller.merchant.vendor_sn or "",
        "resp_message": "配置成功",
    }


HANDLERS: dict[str, Handler] = {
    fbpay.PAY: _pay,
    fbpay.CREATE: _create,
    fbpay.QUERY: _query,
    fbpay.CLOSE: _close,
    fbpay.REFUND: _refund,
    fbpay.REFUND_QUERY: _refund_query,
    fbpay.WAP_CREATE: _wap,
    fbpay.CALLBACK_CONFIG: _callback_config,
    fbpay_qrcode.FIXED_QRCODE_CREATE: methods_cashier.fixed_qrcode_create,
    fbpay_qrcode.ORDER_QRCODE: methods_cashier.order_qrcode,
}
