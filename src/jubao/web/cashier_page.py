"""The aggregated QR cashier's hosted page (聚合码, ``payments.cashier_codes``): one QR, any wallet.

    GET /qr/<token>            the page; which wallet opened it is read from the User-Agent
      inside WeChat  (MicroMessenger): the payer's openid through the official-account OAuth
                     round trip (``web.official_account``, sealed ``wx`` on return), then a
                     WeChat JSAPI order paid with ``WeixinJSBridge.invoke('getBrandWCPayRequest')``
      inside Alipay  (AlipayClient): the buyer's user id through Alipay's user authorisation
                     (``auth_base``; the channel's ``PayerAuthorisation``), then an Alipay JSAPI
                     order (alipay.trade.create) paid with ``AlipayJSBridge.call('tradePay')``
      elsewhere      asks, in Chinese and English, to scan the code with WeChat or Alipay
    GET /qr/<token>/alipay     where Alipay returns the buyer (auth_code + sealed state)

The first wallet to open a code creates its order; a reload answers the same order; the other
wallet is told which wallet the code was opened in. A paid, expired or closed code is refused
with a page saying so. Every page shows the merchant, the store and the amount. The pages read no
request body (only GETs), so there is nothing to bound.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from jubao.channels.base import ChannelTradeNo, PayerAuthorisation, WalletPackage
from jubao.channels.registry import ChannelRegistry
from jubao.channels.timed import TimedChannel
from jubao.errors import JubaoError
from jubao.kinds import ChannelName
from jubao.money import fen_to_yuan_text
from jubao.payments import instructions
from jubao.payments.cashier_codes import CashierCodeRecord, CashierCodes, CodeState
from jubao.payments.records import OrderRecord
from jubao.web.official_account import official_account_for
from jubao.web.sealed import Sealer

if TYPE_CHECKING:
    from jinja2 import Template

__all__ = ["CashierPage", "wallet_of"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
_WALLET_LABELS = {
    ChannelName.WECHATPAY: ("微信", "WeChat"),
    ChannelName.ALIPAY: ("支付宝", "Alipay"),
}


def wallet_of(user_agent: str) -> ChannelName | None:
    """The wallet whose in-app browser sent the request, from its User-Agent."""
    if "MicroMessenger" in user_agent:
        return ChannelName.WECHATPAY
    if "AlipayClient" in user_agent:
        return ChannelName.ALIPAY
    return None


def _payer_authorisation(channel: object) -> PayerAuthorisation | None:
    inner = channel.inner if isinstance(channel, TimedChannel) else channel
    return inner if isinstance(inner, PayerAuthorisation) else None


def _script_json(value: object) -> str:
    # inside <script>: no "</" may appear, so escape every "<" (and the two JS line breaks)
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


@dataclass(frozen=True, slots=True)
class _Shown:
    """What every page shows about the code."""

    merchant_name: str
    store_name: str
    amount: str
    body: str


class CashierPage:
    def __init__(self, codes: CashierCodes, channels: ChannelRegistry) -> None:
        self._codes = codes
        self._channels = channels
        service = codes.payments
        self._settings = service.settings
        self._merchants = service.merchants
        self._wechat = official_account_for(service)
        self._state = Sealer(self._settings, "jubao cashier alipay authorisation state")

    @cached_property
    def _template(self) -> Template:
        """jinja2 is imported on the first page, not at start: 30 ms of every start."""
        from jinja2 import Environment, FileSystemLoader

        env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True)
        return env.get_template("cashier_page.html")

    def routes(self) -> list[Route]:
        return [
            Route("/qr/{token}", self.show, methods=["GET"]),
            Route("/qr/{token}/alipay", self.alipay_back, methods=["GET"]),
        ]

    # ---- the page ----------------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        code = await self._codes.find(request.path_params["token"])
        if code is None:
            return await self._notice(None, "二维码不存在", "This QR code does not exist", 404)
        order = await self._codes.order_of(code)
        refused = await self._refusal(code, order)
        if refused is not None:
            return refused
        wallet = wallet_of(request.headers.get("user-agent", ""))
        if wallet is None:
            return await self._notice(
                code,
                "请使用微信或支付宝扫码付款",
                "Please scan this code with WeChat or Alipay to pay",
                200,
                tone="",
            )
        if code.channel is not None and wallet != code.channel:
            zh, en = _WALLET_LABELS[code.channel]
            return await self._notice(
                code, f"请使用{zh}扫码付款", f"Please scan this code with {en} to pay", 409
            )
        if order is not None and order.channel != wallet:
            zh, en = _WALLET_LABELS[order.channel]
            return await self._notice(
                code,
                f"该二维码已在{zh}中打开，请使用{zh}扫码付款",
                f"This code was opened in {en}: please scan it with {en} to pay",
                409,
                order=order,
            )
        if order is None:
            payer = await self._payer(request, code, wallet)
            if isinstance(payer, Response):
                return payer
        else:
            payer = order.payer_id or ""
        try:
            order = await self._codes.open(code, wallet, payer)
        except JubaoError as exc:
            # paid or closed meanwhile: say that, not a failure
            refused = await self._refusal(code, await self._codes.order_of(code))
            return refused or await self._notice(
                code, f"暂时无法发起支付：{exc.message}", "The payment cannot start now", 502
            )
        if order.channel != wallet:  # the other wallet won a race to open it
            return await self.show(request)
        return await self._pay_page(code, order, wallet)

    async def _refusal(self, code: CashierCodeRecord, order: OrderRecord | None) -> Response | None:
        state = self._codes.state(code, order)
        if state == CodeState.PAID:
            return await self._notice(
                code, "该二维码已支付", "This code has been paid", 409, order=order, tone="ok"
            )
        if state == CodeState.EXPIRED:
            return await self._notice(
                code, "二维码已过期，请向商户索取新的二维码",
                "This code has expired: ask the merchant for a new one", 410, order=order,
            )  # fmt: skip
        return None

    async def _payer(
        self, request: Request, code: CashierCodeRecord, wallet: ChannelName
    ) -> str | Response:
        """The payer's id in ``wallet``, or the redirect that goes to find it."""
        here = self._page_url(code.token)
        if wallet == ChannelName.WECHATPAY:
            identity = self._wechat.identity(request.query_params.get("wx", ""))
            if identity is not None and identity.sub_open_id:
                return identity.sub_open_id
            sub_appid = await self._official_account(code)
            if sub_appid is None:
                return await self._notice(
                    code, "商户未开通微信支付", "WeChat Pay is not available at this merchant", 409
                )
            return _redirect(self._wechat.round_trip_url(here, sub_appid, sealed=True))
        authorisation = _payer_authorisation(self._channels.get(ChannelName.ALIPAY))
        if authorisation is None:
            return await self._notice(
                code, "商户未开通支付宝", "Alipay is not available at this merchant", 409
            )
        state = self._state.stamp(code.token)
        return _redirect(authorisation.payer_authorize_url(f"{here}/alipay", state))

    def _page_url(self, token: str) -> str:
        return f"{self._settings.resolved_public_url}/qr/{quote(token)}"

    async def _official_account(self, code: CashierCodeRecord) -> str | None:
        merchant = await self._merchants.merchant(code.merchant_id)
        wechat = merchant.channel(ChannelName.WECHATPAY) if merchant else None
        return wechat.jsapi_app_id if wechat is not None else None

    async def alipay_back(self, request: Request) -> Response:
        """Alipay returns the buyer here: exchange the code, open the order, show the page."""
        token = request.path_params["token"]
        code = await self._codes.find(token)
        state = request.query_params.get("state", "")
        auth_code = request.query_params.get("auth_code", "")
        if code is None or not self._state.stamped(token, state) or not auth_code:
            return await self._notice(
                code, "支付宝授权无效或已过期，请重新扫码",
                "The Alipay authorisation is invalid or expired: scan the code again", 400,
            )  # fmt: skip
        authorisation = _payer_authorisation(self._channels.get(ChannelName.ALIPAY))
        order = await self._codes.order_of(code)
        refused = await self._refusal(code, order)
        if refused is not None:
            return refused
        if order is not None or authorisation is None:  # opened already (a reload): the page
            return _redirect(self._page_url(token))
        try:
            buyer_id = await authorisation.payer_id_from_code(auth_code[:128])
            await self._codes.open(code, ChannelName.ALIPAY, buyer_id)
        except JubaoError as exc:
            return await self._notice(
                code, f"暂时无法发起支付：{exc.message}", "The payment cannot start now", 502
            )
        # the page itself, without the single-use auth_code in its address
        return _redirect(self._page_url(token))

    # ---- rendering ---------------------------------------------------------------------------

    async def _pay_page(
        self, code: CashierCodeRecord, order: OrderRecord, wallet: ChannelName
    ) -> Response:
        instruction = (
            instructions.decode(order.instruction, order.prepay_id) if order.instruction else None
        )
        pay: dict[str, Any]
        if isinstance(instruction, WalletPackage):
            pay = {"wallet": "wechat", "sign_params": dict(instruction.params)}
            zh, en = "正在打开微信支付…", "Opening WeChat Pay…"
        elif isinstance(instruction, ChannelTradeNo):
            pay = {"wallet": "alipay", "trade_no": instruction.trade_no}
            zh, en = "正在打开支付宝…", "Opening Alipay…"
        else:
            return await self._notice(
                code, "暂时无法发起支付", "The payment cannot start now", 502, order=order
            )
        return await self._render(
            code, zh, en, 200, order=order, pay=_script_json(pay), wallet=pay["wallet"]
        )

    async def _notice(
        self,
        code: CashierCodeRecord | None,
        zh: str,
        en: str,
        status: int,
        *,
        order: OrderRecord | None = None,
        tone: str = "bad",
    ) -> Response:
        return await self._render(code, zh, en, status, order=order, tone=tone)

    async def _render(
        self,
        code: CashierCodeRecord | None,
        zh: str,
        en: str,
        status: int,
        *,
        order: OrderRecord | None = None,
        pay: str = "",
        wallet: str = "",
        tone: str = "",
    ) -> Response:
        shown = await self._shown(code)
        nonce = secrets.token_urlsafe(16)
        body = self._template.render(
            merchant_name=shown.merchant_name,
            store_name=shown.store_name,
            amount=shown.amount,
            body=shown.body,
            order_sn=order.order_sn if order is not None else "",
            message_zh=zh,
            message_en=en,
            tone=tone,
            pay=pay,
            wallet=wallet,
            nonce=nonce,
        )
        return HTMLResponse(body, status_code=status, headers=_headers(nonce))

    async def _shown(self, code: CashierCodeRecord | None) -> _Shown:
        if code is None:
            return _Shown("", "", "", "")
        merchant = await self._merchants.merchant(code.merchant_id)
        store = await self._merchants.store(code.store_id)
        return _Shown(
            merchant.name if merchant else "",
            store.name if store else "",
            fen_to_yuan_text(code.total_fen),
            code.body or "",
        )


def _headers(nonce: str) -> dict[str, str]:
    return {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        # the wallets' bridges are injected by the wallet, not loaded by the page
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'"
        ),
    }


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
