"""Sandbox only: a phone-sized mock of the wallet's payment sheet. "Pay" asks the simulator to pay
the order as its payer (``jubao.sandbox_payer``), then waits briefly for the payment notice to
land. A cashier code (聚合码) URL is opened "as WeChat" or "as Alipay" first (``/pay-code``): the
wallet's browser opens the page, which creates the order, and the payer then pays it."""

from __future__ import annotations

import asyncio
import html
import re
from functools import partial
from urllib.parse import urlsplit

import httpx
from starlette.responses import Response

from jubao.kinds import ChannelName
from jubao.payments import repository as payments_repo
from jubao.payments.cashier_codes import CashierCodes
from jubao.sandbox_payer import PayerRefusal, open_as_wallet, pay_order, payable
from jubao.storage.database import Database
from jubao.web.console import queries
from jubao.web.console.common import Ctx, Renderer, redirect

__all__ = ["PayerPages"]

_SETTLE_SECONDS = 5.0
_POLL_SECONDS = 0.1
_WALLETS = {"wechat": ChannelName.WECHATPAY, "alipay": ChannelName.ALIPAY}
_CODE_PATH = re.compile(r"/qr/([A-Za-z0-9_\-]{1,64})")
_STATUS = re.compile(r'id="status"[^>]*>([^<]*)<')


class PayerPages:
    def __init__(
        self,
        db: Database,
        renderer: Renderer,
        payer_url: str | None,
        admin_token: str = "",
        codes: CashierCodes | None = None,
    ) -> None:
        self.db = db
        self.renderer = renderer
        self.payer_url = payer_url
        self.codes = codes
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

    # ---- a cashier code, opened as a wallet --------------------------------------------------

    def _code_form(self, ctx: Ctx, *, status: int = 200, failure: str = "") -> Response:
        if self.payer_url is None or self.codes is None:
            return self.renderer.page(
                ctx, "console_error.html", status=404, message=ctx.t("payer.unavailable")
            )
        return self.renderer.page(
            ctx, "console_pay_code.html", status=status, nav="orders", failure=failure,
            url=ctx.field("url") or ctx.request.query_params.get("url", ""),
        )  # fmt: skip

    async def show_code(self, ctx: Ctx) -> Response:
        return self._code_form(ctx)

    async def open_code(self, ctx: Ctx) -> Response:
        """Open the code's page as the chosen wallet (which makes its order), then pay it."""
        if self.payer_url is None or self.codes is None:
            return self._code_form(ctx)
        wallet = _WALLETS.get(ctx.field("wallet"))
        found = _CODE_PATH.fullmatch(urlsplit(ctx.field("url")).path)
        code = await self.codes.find(found.group(1)) if found else None
        if code is None or wallet is None:
            return self._code_form(ctx, status=400, failure=ctx.t("payer.code_unknown"))
        page_url = f"{self.codes.payments.settings.resolved_public_url}/qr/{code.token}"
        try:
            async with httpx.AsyncClient(timeout=10.0) as browser:
                opened = await open_as_wallet(browser, page_url, wallet)
            order = await self.codes.order_of(code) if opened.status_code == 200 else None
            if order is None or not payable(order):
                refused = _page_status(opened.text) or f"HTTP {opened.status_code}"
                failure = ctx.t("payer.code_refused", message=refused)
                return self._code_form(ctx, status=409, failure=failure)
            async with httpx.AsyncClient(timeout=10.0, headers=self._headers) as client:
                answer = await pay_order(client, self.payer_url, order)
        except PayerRefusal as exc:
            return self._code_form(ctx, status=409, failure=str(exc))
        except httpx.HTTPError as exc:
            return self._code_form(ctx, status=502, failure=type(exc).__name__)
        if not answer.is_success:
            return self._code_form(ctx, status=502, failure=_failure_text(answer))
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


def _page_status(page: str) -> str:
    """The Chinese line of the cashier page's status (why it refused)."""
    found = _STATUS.search(page)
    return html.unescape(found.group(1)).strip() if found else ""


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
