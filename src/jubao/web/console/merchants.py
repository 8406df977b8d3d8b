"""Merchants (with their vendor), apps, stores and cashiers: list, create, rotate an app secret
(shown once)."""

from __future__ import annotations

from starlette.responses import Response

from jubao.kinds import ChannelName
from jubao.merchants.directory import MerchantDirectory, NewApp
from jubao.merchants.models import MerchantChannel
from jubao.storage.database import Database
from jubao.web.console import queries
from jubao.web.console.common import Ctx, Renderer, redirect

__all__ = ["MerchantPages"]

_MAX_NAME = 64


class FormError(ValueError):
    pass


def _text(ctx: Ctx, name: str, label_key: str, *, required: bool = True) -> str:
    value = ctx.field(name)
    if required and not value:
        raise FormError(ctx.t("form.required", field=ctx.t(label_key)))
    if len(value) > _MAX_NAME * 4:
        raise FormError(ctx.t("form.invalid", field=ctx.t(label_key)))
    return value


def _number(ctx: Ctx, name: str, label_key: str) -> int:
    value = ctx.field(name)
    if not value.isdigit() or len(value) > 18:
        raise FormError(ctx.t("form.invalid", field=ctx.t(label_key)))
    return int(value)


class MerchantPages:
    def __init__(self, db: Database, directory: MerchantDirectory, renderer: Renderer) -> None:
        self.db = db
        self.directory = directory
        self.renderer = renderer

    async def _list_page(self, ctx: Ctx, *, error: str = "", status: int = 200) -> Response:
        overview = await self.db.read(queries.merchants_overview)
        vendors = await self.directory.list_vendors()
        return self.renderer.page(
            ctx, "console_merchants.html", status=status, nav="merchants", overview=overview,
            vendors=vendors, error=error,
        )  # fmt: skip

    def _secret_page(self, ctx: Ctx, new_app: NewApp) -> Response:
        return self.renderer.page(
            ctx,
            "console_secret.html",
            nav="merchants",
            app_id=new_app.app.app_id,
            vendor_sn=None,
            merchant_name=new_app.app.merchant.name,
            secret=new_app.app_secret,
        )

    async def list(self, ctx: Ctx) -> Response:
        return await self._list_page(ctx)

    async def create_merchant(self, ctx: Ctx) -> Response:
        try:
            name = _text(ctx, "name", "merchants.name")
            sub_mchid = _text(ctx, "sub_mchid", "merchants.sub_mchid")
            sub_appid = _text(ctx, "sub_appid", "merchants.sub_appid")
            callback = _callback(ctx)
            vendor_sn = await self._vendor(ctx)
        except FormError as exc:
            return await self._list_page(ctx, error=str(exc), status=422)
        merchant = await self.directory.create_merchant(
            name, sub_mchid, sub_appid, vendor_sn=vendor_sn
        )
        new_app = await self.directory.create_app(merchant.merchant_id, callback)
        return self._secret_page(ctx, new_app)

    async def _vendor(self, ctx: Ctx) -> str | None:
        """The chosen vendor (Open API 2.0 service provider), which must exist; none is fine."""
        vendor_sn = _text(ctx, "vendor_sn", "merchants.vendor", required=False)
        if vendor_sn and await self.directory.vendor(vendor_sn) is None:
            raise FormError(ctx.t("form.invalid", field=ctx.t("merchants.vendor")))
        return vendor_sn or None

    async def create_app(self, ctx: Ctx) -> Response:
        merchant_id: int = ctx.request.path_params["merchant_id"]
        try:
            callback = _callback(ctx)
        except FormError as exc:
            return await self._list_page(ctx, error=str(exc), status=422)
        overview = await self.db.read(queries.merchants_overview)
        if all(m["merchant_id"] != merchant_id for m in overview.merchants):
            return await self._list_page(ctx, error=ctx.t("common.not_found"), status=404)
        return self._secret_page(ctx, await self.directory.create_app(merchant_id, callback))

    async def bind_alipay(self, ctx: Ctx) -> Response:
        """Bind (or re-bind) a merchant to Alipay: its PID and app_auth_token (sealed at rest)."""
        merchant_id: int = ctx.request.path_params["merchant_id"]
        try:
            pid = _text(ctx, "pid", "merchants.alipay_pid")
            token = _text(ctx, "auth_token", "merchants.alipay_token")
        except FormError as exc:
            return await self._list_page(ctx, error=str(exc), status=422)
        if await self.directory.merchant(merchant_id) is None:
            return await self._list_page(ctx, error=ctx.t("common.not_found"), status=404)
        binding = MerchantChannel(ChannelName.ALIPAY, pid, auth_token=token)
        await self.directory.bind_channel(merchant_id, binding)
        return redirect("/merchants")

    async def rotate_secret(self, ctx: Ctx) -> Response:
        app_id = ctx.request.path_params["app_id"]
        secret = await self.directory.rotate_secret(app_id)
        app = await self.directory.app(app_id) if secret else None
        if secret is None or app is None:
            return await self._list_page(ctx, error=ctx.t("common.not_found"), status=404)
        return self._secret_page(ctx, NewApp(app, secret))

    async def create_store(self, ctx: Ctx) -> Response:
        try:
            merchant_id = _number(ctx, "merchant_id", "col.merchant")
            name = _text(ctx, "name", "stores.name")
        except FormError as exc:
            return await self._list_page(ctx, error=str(exc), status=422)
        overview = await self.db.read(queries.merchants_overview)
        if all(m["merchant_id"] != merchant_id for m in overview.merchants):
            return await self._list_page(ctx, error=ctx.t("common.not_found"), status=404)
        await self.directory.create_store(merchant_id, name)
        return redirect("/merchants")

    async def create_cashier(self, ctx: Ctx) -> Response:
        try:
            store_id = _number(ctx, "store_id", "col.store")
            name = _text(ctx, "name", "cashiers.name")
        except FormError as exc:
            return await self._list_page(ctx, error=str(exc), status=422)
        if await self.directory.store(store_id) is None:
            return await self._list_page(ctx, error=ctx.t("common.not_found"), status=404)
        await self.directory.create_cashier(store_id, name)
        return redirect("/merchants")


def _callback(ctx: Ctx) -> str | None:
    url = _text(ctx, "callback_url", "merchants.callback", required=False)
    if url and not url.startswith(("https://", "http://")):
        raise FormError(ctx.t("form.invalid", field=ctx.t("merchants.callback")))
    return url or None
