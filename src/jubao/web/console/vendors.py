"""Vendors (service providers of Open API 2.0): list, create and rotate a secret (shown once)."""

from __future__ import annotations

from starlette.responses import Response

from jubao.merchants.directory import MerchantDirectory, NewVendor
from jubao.web.console.common import Ctx, Renderer

__all__ = ["VendorPages"]

_MAX_NAME = 64


class VendorPages:
    def __init__(self, directory: MerchantDirectory, renderer: Renderer) -> None:
        self.directory = directory
        self.renderer = renderer

    async def _list_page(self, ctx: Ctx, *, error: str = "", status: int = 200) -> Response:
        vendors = await self.directory.list_vendors()
        return self.renderer.page(
            ctx, "console_vendors.html", status=status, nav="vendors", vendors=vendors,
            error=error,
        )  # fmt: skip

    def _secret_page(self, ctx: Ctx, created: NewVendor) -> Response:
        return self.renderer.page(
            ctx,
            "console_secret.html",
            nav="vendors",
            vendor_sn=created.vendor.vendor_sn,
            app_id=None,
            merchant_name=created.vendor.name,
            secret=created.vendor_secret,
        )

    async def list(self, ctx: Ctx) -> Response:
        return await self._list_page(ctx)

    async def create(self, ctx: Ctx) -> Response:
        name = ctx.field("name")
        if not name or len(name) > _MAX_NAME:
            key = "form.required" if not name else "form.invalid"
            return await self._list_page(
                ctx, error=ctx.t(key, field=ctx.t("vendors.name")), status=422
            )
        return self._secret_page(ctx, await self.directory.create_vendor(name))

    async def rotate_secret(self, ctx: Ctx) -> Response:
        vendor_sn = ctx.request.path_params["vendor_sn"]
        secret = await self.directory.rotate_vendor_secret(vendor_sn)
        vendor = await self.directory.vendor(vendor_sn) if secret else None
        if secret is None or vendor is None:
            return await self._list_page(ctx, error=ctx.t("common.not_found"), status=404)
        return self._secret_page(ctx, NewVendor(vendor, secret))
