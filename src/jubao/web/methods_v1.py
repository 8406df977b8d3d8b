"""The Open API 1.0 method table: each method parses its ``biz_content`` (``protocol.methods``),
calls one service use case in channel-neutral terms, and renders its answer
(``payments.views``). A new scene is a new row here, not a new path through the service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from jubao.kinds import ChannelName, Scene
from jubao.merchants.models import App
from jubao.payments import views
from jubao.payments.requests import CreateOrder
from jubao.payments.service import PaymentService
from jubao.protocol import methods
from jubao.protocol.envelope import Data
from jubao.web import statement_methods as statements
from jubao.web.official_account import official_account_for

__all__ = ["HANDLERS", "Handler"]

Handler = Callable[[PaymentService, App, dict[str, Any]], Awaitable[Data]]


async def _mina(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    request = methods.parse_mina(biz)
    order = await service.create(
        app,
        CreateOrder(
            channel=ChannelName.WECHATPAY,
            scene=Scene.MINA,
            merchant_order_sn=request.merchant_order_sn,
            total_fen=request.total_fen,
            store_id=request.store_id,
            fingerprint=request.fingerprint(),
            cashier_id=request.cashier_id,
            payer_id=request.sub_openid,
            call_back_url=request.call_back_url,
            body=request.body,
            attach=request.attach,
        ),
    )
    return views.wallet_answer(order)


async def _swipe(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    request = methods.parse_swipe(biz)
    # the code is single-use: a retry with the same merchant_order_sn and another code is a
    # different payment, and refused as a conflict
    fingerprint = request.order.fingerprint(request.channel.value, request.auth_code)
    create = CreateOrder.of(
        request.order, request.channel, Scene.BARCODE, fingerprint, auth_code=request.auth_code
    )
    return views.order_view(await service.create(app, create))


async def _scan(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    request = methods.parse_scan(biz)
    fingerprint = request.order.fingerprint(request.channel.value)
    create = CreateOrder.of(request.order, request.channel, Scene.NATIVE, fingerprint)
    return views.scan_answer(await service.create(app, create))


async def _h5pay(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    request = methods.parse_h5pay(biz)
    fingerprint = request.order.fingerprint(request.sub_open_id)
    create = CreateOrder.of(
        request.order, ChannelName.WECHATPAY, Scene.JSAPI, fingerprint,
        payer_id=request.sub_open_id,
    )  # fmt: skip
    return views.wallet_answer(await service.create(app, create))


async def _alipay_h5(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    request = methods.parse_alipay_h5(biz)
    fingerprint = request.order.fingerprint(request.buyer_id)
    create = CreateOrder.of(
        request.order, ChannelName.ALIPAY, Scene.JSAPI, fingerprint, payer_id=request.buyer_id
    )
    return views.alipay_h5_answer(await service.create(app, create))


async def _reverse(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    order = await service.reverse(app, methods.parse_order_ref(biz))
    return {
        "merchant_order_sn": order.merchant_order_sn,
        "order_sn": order.order_sn,
        "trade_state": order.state.value,
    }


async def _query(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return views.order_view(await service.query(app, methods.parse_order_ref(biz)))


async def _close(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    order = await service.close(app, methods.parse_order_ref(biz))
    return {"merchant_order_sn": order.merchant_order_sn, "order_sn": order.order_sn}


async def _refund(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return views.refund_view(*await service.refund(app, methods.parse_refund(biz)))


async def _refund_query(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return views.refund_view(*await service.refund_query(app, methods.parse_refund_query(biz)))


async def _refund_stats(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return await service.refund_statistics(app, methods.parse_order_ref(biz))


async def _auth(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return await official_account_for(service).auth_url(app, biz)


async def _get_time(service: PaymentService, app: App, biz: dict[str, Any]) -> dict[str, Any]:
    return service.server_time()


HANDLERS: dict[str, Handler] = {
    methods.MINA: _mina,
    methods.SWIPE: _swipe,
    methods.SCAN: _scan,
    methods.H5PAY: _h5pay,
    methods.ALIPAY_H5: _alipay_h5,
    methods.REVERSE: _reverse,
    methods.QUERY: _query,
    methods.CLOSE: _close,
    methods.REFUND: _refund,
    methods.REFUND_QUERY: _refund_query,
    methods.REFUND_STATISTICS: _refund_stats,
    methods.GET_TIME: _get_time,
    methods.AUTH: _auth,
    methods.BILL: statements.bill,
    methods.RECONCILIATION: statements.reconciliation,
    methods.STORE_QUERY: statements.store_query,
    methods.CASHIER_QUERY: statements.cashier_query,
    methods.STORE_CATEGORY: statements.store_category,
}
