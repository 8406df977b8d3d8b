"""``POST /gateway/agent``: the Open API 2.0 endpoint (reference 4, 6). The same envelope, signing,
limits and identical-request ledger as ``/gateway`` (``SignedEndpoint``); what differs is who may
sign and how failures look.

- Merchant level: ``app_id`` + app secret; the caller is the app (a ``merchant_id`` in
  ``biz_content``, if sent, must be the app's own merchant).
- Service-provider level: ``vendor_sn`` + vendor secret; every call names the ``merchant_id`` it
  acts for, and a vendor acts for its own merchants only. Missing, unknown or another vendor's
  merchant: one answer, 1004 商户不存在, so a vendor learns nothing about merchants not its own.

Failures carry 2.0's numeric ``result_code`` (``protocol.fbpay.result_code_of``) beside the
``sub_code``.
"""

from __future__ import annotations

from typing import Any

from jubao.errors import AppNotFound, JubaoError, MerchantNotFound
from jubao.merchants.models import App, Caller, Vendor, VendorAct
from jubao.protocol import envelope as env
from jubao.protocol import fbpay
from jubao.web.gateway import SignedEndpoint, Signer, signing_app
from jubao.web.methods_v2 import HANDLERS

__all__ = ["AgentGateway"]


class AgentGateway(SignedEndpoint[App | Vendor, Caller]):
    vendors = True
    handlers = HANDLERS

    def failure(self, error: JubaoError) -> dict[str, Any]:
        code = fbpay.result_code_of(error.sub_code)
        return env.failure(error.message, error.sub_code, result_code=code)

    async def signer(self, envelope: env.Envelope) -> Signer[App | Vendor]:
        if envelope.app_id:
            app = await signing_app(self._merchants, envelope.app_id)
            return Signer(app.app_id, app.app_secret, app, app.strict_nonce)
        vendor = await self._merchants.vendor(envelope.vendor_sn)
        if vendor is None:
            raise AppNotFound(
                f"vendor_sn {envelope.vendor_sn[:32]} 不存在", sub_code="VENDOR_NOT_FOUND"
            )
        # a vendor's budget, nonces and stored answers are its own, apart from any app's
        key = f"vendor:{vendor.vendor_sn}"
        return Signer(key, vendor.vendor_secret, vendor, secret_name="vendor_secret")  # noqa: S106

    async def caller(self, signer: Signer[App | Vendor], biz: dict[str, Any]) -> Caller:
        named = fbpay.merchant_id(biz)
        principal = signer.principal
        if isinstance(principal, App):
            if named is not None and named != principal.merchant.merchant_id:
                raise MerchantNotFound()
            return principal
        merchant = None
        if named is not None:
            merchant = await self._merchants.vendor_merchant(principal, named)
        if merchant is None:
            raise MerchantNotFound()
        return VendorAct(principal, merchant)
