"""``openapi.payment.auth.auth``: the official-account web OAuth round trip (reference
fubei-open-api 5.15; wechatpay-v3-more §9).

    authUrl = PUBLIC/oauth/wechat?t=TOKEN
      -> 302 WeChat authorize (the provider's official account, snsapi_base)
      -> PUBLIC/oauth/wechat/back?t=TOKEN&hop=sp&code=...   code -> open_id
      -> 302 WeChat authorize (the merchant's official account, its jsapi_app_id), when bound
      -> PUBLIC/oauth/wechat/back?t=TOKEN2&hop=sub&code=... code -> sub_open_id
      -> 302 the merchant's url + open_id + sub_open_id

TOKEN is an HMAC-signed, expiring description of the round trip (the merchant's url, the
merchant's official account, the open_id found so far), so no state is kept between hops and any
gateway process can answer any hop. WeChat's base URLs are settings (the sandbox points them at
its simulator).

jubao's own pages use the same round trip (``round_trip_url``): they get the two openids back
sealed in one ``wx`` parameter (``identity`` opens it), so a page can trust them.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from jubao.config import Settings
from jubao.errors import InvalidParameter
from jubao.kinds import ChannelName
from jubao.merchants.directory import MerchantDirectory
from jubao.merchants.models import App
from jubao.payments.service import PaymentService
from jubao.web.sealed import Sealer

__all__ = ["OfficialAccountAuth", "WechatIdentity", "official_account_for"]

TOKEN_TTL_SECONDS = 600
MAX_URL = 256


@dataclass(frozen=True, slots=True)
class WechatIdentity:
    """The payer, as the round trip found them: under the provider's official account, and under
    the merchant's (empty when the merchant has none bound)."""

    open_id: str
    sub_open_id: str


class OfficialAccountAuth:
    def __init__(self, settings: Settings, merchants: MerchantDirectory) -> None:
        self._settings = settings
        self._merchants = merchants
        # a key of its own, so that a token never doubles as anything else
        self._sealer = Sealer(settings, "jubao official-account oauth state", TOKEN_TTL_SECONDS)

    # ---- the method --------------------------------------------------------------------------

    async def auth_url(self, app: App, biz: dict[str, Any]) -> dict[str, Any]:
        url = biz.get("url")
        if not isinstance(url, str) or not url.strip():
            raise InvalidParameter("缺少参数 url（授权后返回的地址）", sub_code="MISSING_PARAMETER")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL:
            raise InvalidParameter(f"参数 url 必须是 http 或 https 地址，最长 {MAX_URL} 个字符")
        raw_store = str(biz.get("store_id") or "")
        store_id = int(raw_store) if raw_store.isdigit() and len(raw_store) < 19 else 0
        if store_id < 1:
            raise InvalidParameter("缺少参数 store_id", sub_code="MISSING_PARAMETER")
        store = await self._merchants.store(store_id)
        if store is None or store.merchant_id != app.merchant.merchant_id:
            raise InvalidParameter(
                f"门店 store_id={store_id} 不属于该商户", sub_code="STORE_NOT_FOUND"
            )
        wechat = app.merchant.channel(ChannelName.WECHATPAY)
        sub_appid = wechat.jsapi_app_id if wechat else None
        return {"authUrl": self.round_trip_url(url, sub_appid)}

    # ---- for jubao's own pages ---------------------------------------------------------------

    def round_trip_url(self, url: str, sub_appid: str | None, *, sealed: bool = False) -> str:
        """Where to send the browser so that it comes back to ``url`` with the payer's openids:
        as ``open_id`` and ``sub_open_id`` (a merchant's page), or ``sealed`` in one ``wx``
        parameter that ``identity`` opens (jubao's own pages, which must trust them)."""
        token = self._seal({"u": url, "s": sub_appid or "", "o": "", "r": int(sealed)})
        return f"{self._settings.resolved_public_url}/oauth/wechat?t={token}"

    def identity(self, sealed: str) -> WechatIdentity | None:
        """The openids a sealed round trip returned, unless tampered with or expired."""
        state = self._sealer.open(sealed)
        if state is None or not isinstance(state.get("i"), str):
            return None
        return WechatIdentity(state["i"], str(state.get("j", "")))

    # ---- the browser's hops ------------------------------------------------------------------

    async def start(self, request: Request) -> Response:
        state = self._open(request.query_params.get("t", ""))
        if state is None:
            return _refusal()
        return self._to_wechat(self._settings.sp_appid, request.query_params["t"], "sp")

    async def back(self, request: Request) -> Response:
        token = request.query_params.get("t", "")
        state = self._open(token)
        hop = request.query_params.get("hop")
        code = request.query_params.get("code", "")
        if state is None or hop not in ("sp", "sub") or not code:
            return _refusal()
        appid = self._settings.sp_appid if hop == "sp" else state["s"]
        openid = await self._exchange(appid, code)
        if openid is None:
            return PlainTextResponse("微信授权失败，请重新进入页面", status_code=502)
        if hop == "sp":
            state["o"] = openid
            if state["s"]:
                return self._to_wechat(state["s"], self._seal(state), "sub")
            sub_open_id = ""
        else:
            sub_open_id = openid
        url = state["u"]
        joiner = "&" if urlsplit(url).query else "?"
        if state.get("r"):
            back = urlencode({"wx": self._seal({"i": state["o"], "j": sub_open_id})})
        else:
            back = urlencode({"open_id": state["o"], "sub_open_id": sub_open_id})
        return RedirectResponse(f"{url.split('#', 1)[0]}{joiner}{back}", status_code=302)

    def routes(self) -> list[Route]:
        return [
            Route("/oauth/wechat", self.start, methods=["GET"]),
            Route("/oauth/wechat/back", self.back, methods=["GET"]),
        ]

    # ---- helpers -----------------------------------------------------------------------------

    def _to_wechat(self, appid: str, token: str, hop: str) -> Response:
        redirect_uri = f"{self._settings.resolved_public_url}/oauth/wechat/back?" + urlencode(
            {"t": token, "hop": hop}
        )
        query = urlencode(
            {
                "appid": appid,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "snsapi_base",
                "state": "jubao",
            }
        )
        target = f"{self._settings.wechat_oauth_authorize_url}?{query}#wechat_redirect"
        return RedirectResponse(target, status_code=302)

    async def _exchange(self, appid: str, code: str) -> str | None:
        params = {
            "appid": appid,
            "secret": self._settings.wechat_app_secret,
            "code": code,
            "grant_type": "authorization_code",
        }
        try:
            async with httpx.AsyncClient(timeout=self._settings.wechat_timeout_seconds) as http:
                answer = await http.get(self._settings.wechat_oauth_token_url, params=params)
            doc = answer.json()
        except (httpx.HTTPError, ValueError):
            return None
        openid = doc.get("openid") if isinstance(doc, dict) else None
        return openid if isinstance(openid, str) and openid else None

    def _seal(self, state: dict[str, Any]) -> str:
        return self._sealer.seal(state)

    def _open(self, token: str) -> dict[str, Any] | None:
        """A round trip's state (an identity token does not open as one)."""
        state = self._sealer.open(token)
        return state if state is not None and isinstance(state.get("u"), str) else None


_BY_SERVICE: weakref.WeakKeyDictionary[PaymentService, OfficialAccountAuth] = (
    weakref.WeakKeyDictionary()
)


def official_account_for(service: PaymentService) -> OfficialAccountAuth:
    """One per payment service, shared by the method and the browser's hops (without a master
    key the signing key is random per instance)."""
    found = _BY_SERVICE.get(service)
    if found is None:
        found = _BY_SERVICE[service] = OfficialAccountAuth(service.settings, service.merchants)
    return found


def _refusal() -> Response:
    return PlainTextResponse("授权链接无效或已过期，请重新进入页面", status_code=400)
