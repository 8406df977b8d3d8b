"""Sandbox only: a phone-sized mock of the wallet's payment sheet. "Pay" asks the simulator to pay
the order as its payer (``jubao.sandbox_payer``), then waits briefly for the payment notice to
land."""

from __future__ import annotations

import asyncio
from functools import partial

import httpx
from starlette.responses import Response

from jubao.payments import repository as payments_repo
from jubao.sandbox_payer import PayerRefusal, pay_order, payable
from jubao.storage.database import Database
from jubao.web.console import queries
from jubao.web.console.common import Ctx, Renderer, redirect

__all__ = ["PayerPages"]

_SETTLE_SECONDS = 5.0
_POLL_SECONDS = 0.1


class PayerPages:
    def __init__(
        self, db: Database, renderer: Renderer, payer_url: str | None, admin_token: str = ""
    ) -> None:
        self.db = db
        self.renderer = renderer
        self.payer_url = payer_url
        # the simulator's payer endpoint needs it when the sandbox is not on loopback
        self._headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}

    def _sheet(
        self, ctx: Ctx, detail: queries.OrderDetail, *, status: int = 200, **extra: object
    ) -> Response:
        context: dict[str, object] = {"nav": "orders", "order": detail.order, "failure": ""}
        context["outcome"] = ctx.request.query_params.get("outcome", "")
        context.update(extra)
        return self.renderer.page(ctx, "console_payer.html", status=status, **context)

    async def _load(self, ctx: Ctx) -> queries.OrderDetail | Response:
        if self.payer_url is None:
            return self.renderer.page(
                ctx, "console_error.html", status=404, message=ctx.t("payer.unavailable")
            )
        order_sn = ctx.request.path_params["order_sn"]
        detail = await self.db.read(partial(queries.order_detail, order_sn))
        if detail is None:
            return self.renderer.page(
                ctx, "console_error.html", status=404, message=ctx.t("common.not_found")
            )
        return detail

    async def show(self, ctx: Ctx) -> Response:
        loaded = await self._load(ctx)
        return loaded if isinstance(loaded, Response) else self._sheet(ctx, loaded)

    async def pay(self, ctx: Ctx) -> Response:
        loaded = await self._load(ctx)
        if isinstance(loaded, Response):
            return loaded
        order = await self.db.read(
            partial(payments_repo.find_order_by_sn, loaded.order["order_sn"])
        )
        if order is None or not payable(order) or self.payer_url is None:
            return self._sheet(ctx, loaded, status=409)
        try:
            async with httpx.AsyncClient(timeout=10.0, headers=self._headers) as client:
                answer = await pay_order(client, self.payer_url, order)
        except PayerRefusal as exc:
            return self._sheet(ctx, loaded, status=409, failure=str(exc))
        except httpx.HTTPError as exc:
            return self._sheet(ctx, loaded, status=502, failure=type(exc).__name__)
        if not answer.is_success:
            return self._sheet(ctx, loaded, status=502, failure=_failure_text(answer))
        paid = await self._wait_paid(order.order_sn)
        return redirect(f"/pay/{order.order_sn}", outcome="paid" if paid else "pending")

    async def _wait_paid(self, order_sn: str) -> bool:
        """The simulator notifies the gateway on its own schedule; give it a moment."""
        deadline = asyncio.get_running_loop().time() + _SETTLE_SECONDS
        while True:
            order = await self.db.read(partial(payments_repo.find_order_by_sn, order_sn))
            if order is not None and order.state == "SUCCESS":
                return True
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(_POLL_SECONDS)


def _failure_text(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    if isinstance(body, dict):
        for key in ("message", "err_msg", "error", "code"):
            if isinstance(body.get(key), str):
                return f"HTTP {answer.status_code}: {body[key][:200]}"
    return f"HTTP {answer.status_code}"
