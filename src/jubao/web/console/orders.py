"""Dashboard, order list, order detail, and the two order actions: refund and resend."""

from __future__ import annotations

import secrets
from datetime import date
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.responses import Response

from jubao.clock import Clock
from jubao.errors import JubaoError
from jubao.merchants.models import Caller, VendorAct
from jubao.money import MoneyError, parse_yuan
from jubao.notify.resend import resend_notification
from jubao.observe.heartbeat import notification_health, worker_missing
from jubao.protocol.methods import OrderRef, RefundRequest
from jubao.storage.sql import Row
from jubao.web.console import queries
from jubao.web.console.chart import bar_chart
from jubao.web.console.common import Ctx, Renderer, redirect
from jubao.web.console.qr import qr_image

if TYPE_CHECKING:
    from jubao.runtime import Runtime

__all__ = ["OrderPages"]

PAGE_SIZE = 20
_MAX_ID = 2**63 - 1
_NOTICES = {"refunded", "resent"}


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 19 else None


def _date_or_none(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _refund_key() -> str:
    """An idempotency key per rendered refund form: a double submit makes one refund."""
    return "C" + secrets.token_hex(12)


class OrderPages:
    def __init__(self, runtime: Runtime, renderer: Renderer, clock: Clock) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.renderer = renderer
        self.clock = clock

    async def dashboard(self, ctx: Ctx) -> Response:
        today = queries.china_today(self.clock())
        stats = await self.db.read(partial(queries.dashboard, today))
        health = await notification_health(self.db)
        return self.renderer.page(
            ctx,
            "console_dashboard.html",
            nav="dashboard",
            stats=stats,
            worker_missing=worker_missing(health),  # notifications due, no dispatcher beating
            chart=bar_chart(stats.daily_paid_fen),
        )

    async def list(self, ctx: Ctx) -> Response:
        params = ctx.request.query_params
        where = queries.OrderFilter(
            state=params.get("state") or None,
            channel=params.get("channel") or None,
            scene=params.get("scene") or None,
            store_id=_int_or_none(params.get("store")),
            day=_date_or_none(params.get("date")),
            search=(params.get("q") or "").strip()[:64] or None,
        )
        page = max(1, min(_int_or_none(params.get("page")) or 1, 100_000))
        result = await self.db.read(partial(queries.list_orders, where, page, PAGE_SIZE))
        stores = await self.db.read(queries.store_choices)
        names = ("state", "channel", "scene", "store", "date", "q")
        kept = {key: params[key] for key in names if params.get(key)}

        def page_link(number: int) -> str:
            return "?" + urlencode({**kept, "page": str(number)})

        return self.renderer.page(
            ctx,
            "console_orders.html",
            nav="orders",
            result=result,
            where=where,
            filters=kept,
            states=queries.ORDER_STATES,
            channels=queries.CHANNELS,
            scenes=queries.SCENES,
            stores=stores,
            page_link=page_link,
        )

    async def _detail_page(
        self, ctx: Ctx, order_sn: str, status: int = 200, **extra: Any
    ) -> Response:
        detail = await self.db.read(partial(queries.order_detail, order_sn))
        if detail is None:
            return self.renderer.page(
                ctx, "console_error.html", status=404, message=ctx.t("common.not_found")
            )
        notice = ctx.request.query_params.get("notice")
        refund_sn = ctx.request.query_params.get("refund_sn")
        context: dict[str, Any] = {
            "nav": "orders",
            "detail": detail,
            "order": detail.order,
            "notice": notice if notice in _NOTICES else "",
            "notice_refund": next((r for r in detail.refunds if r["refund_sn"] == refund_sn), None),
            "refund_key": _refund_key(),
            "refund_error": "",
            "refund_amount": "",
            "qr_image": qr_image(detail.order),
        }
        context.update(extra)
        return self.renderer.page(ctx, "console_order.html", status=status, **context)

    async def detail(self, ctx: Ctx) -> Response:
        return await self._detail_page(ctx, ctx.request.path_params["order_sn"])

    async def refund(self, ctx: Ctx) -> Response:
        order_sn = ctx.request.path_params["order_sn"]
        amount_text = ctx.field("amount")
        key = ctx.field("refund_key")[:32] or None

        async def refused(message: str) -> Response:
            return await self._detail_page(
                ctx, order_sn, 422, refund_error=message, refund_amount=amount_text
            )

        order = await self.db.read(partial(queries.order_detail, order_sn))
        if order is None:
            return await self._detail_page(ctx, order_sn)
        caller = await self._creator(order.order)
        try:
            refund_fen = parse_yuan(amount_text, field=ctx.t("order.refund_amount"))
            if caller is None:
                raise JubaoError("下单的应用或服务商不存在")
            _, refund = await self.runtime.payments.refund(
                caller,
                RefundRequest(
                    order=OrderRef(order_sn=order_sn), merchant_refund_sn=key, refund_fen=refund_fen
                ),
            )
        except MoneyError as exc:
            return await refused(str(exc))
        except JubaoError as exc:
            return await refused(exc.message)
        return redirect(f"/orders/{order_sn}", notice="refunded", refund_sn=refund.refund_sn)

    async def _creator(self, order: Row) -> Caller | None:
        """Whoever created the order (its app, or its vendor for the merchant): the console
        refunds on their behalf."""
        directory = self.runtime.merchants
        if order["vendor_sn"]:
            vendor = await directory.vendor(order["vendor_sn"])
            merchant = await directory.merchant(int(order["merchant_id"]))
            return VendorAct(vendor, merchant) if vendor and merchant else None
        return await directory.app(order["app_id"])

    async def resend(self, ctx: Ctx) -> Response:
        order_sn = ctx.request.path_params["order_sn"]
        notification_id: int = ctx.request.path_params["notification_id"]
        owner = None
        if notification_id <= _MAX_ID:
            owner = await self.db.read(partial(queries.notification_order_sn, notification_id))
        if owner is None or owner != order_sn:
            return self.renderer.page(
                ctx, "console_error.html", status=404, message=ctx.t("common.not_found")
            )
        await resend_notification(
            self.db, notification_id, self.clock(), self.runtime.poke_dispatcher
        )
        return redirect(f"/orders/{order_sn}", notice="resent")
