"""``AlipayChannel``: Alipay OpenAPI (``gateway.do``) as an ISV acting for merchants: the
contract's operations in Alipay's terms. The exchange itself (signing, verification) is
``transport.Transport``. Error classes:

* ``10000`` success; ``10003`` a payment code waiting for the payer's password
* ``40004`` + ``ACQ.*`` and the other ``4000x``/``20001`` refusals -> ``ChannelError``
* ``20000``, ``ACQ.SYSTEM_ERROR``, call limits, non-200, timeouts, transport errors, unsigned or
  unverifiable or malformed answers -> ``ChannelUnavailable`` (outcome unknown: ask again)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx

from jubao.channels.alipay import mapping, notifications, statement
from jubao.channels.alipay.amounts import fen_to_yuan
from jubao.channels.alipay.config import AlipayConfig
from jubao.channels.alipay.keys import load_private_key, load_public_key
from jubao.channels.alipay.transport import Transport
from jubao.channels.base import (
    ChannelBinding,
    ChannelRefund,
    ChannelTradeNo,
    ChannelTransaction,
    ImmediateOutcome,
    NotificationAnswer,
    PaymentInstruction,
    PaymentRequest,
    QrContent,
    RedirectUrl,
    RefundEvent,
    RefundRequest,
    RefundStatus,
    StatementLine,
    TradeStatus,
    TransactionEvent,
)
from jubao.errors import (
    ChannelError,
    ChannelErrorKind,
    ChannelNotificationRejected,
    ChannelUnavailable,
)
from jubao.kinds import ChannelName, Scene

__all__ = ["AlipayChannel"]


_SCENES = frozenset({Scene.BARCODE, Scene.NATIVE, Scene.JSAPI, Scene.H5})
_STORE_ID = re.compile(r"[0-9A-Za-z_\-]{1,32}")
_SUBJECT_FORBIDDEN = str.maketrans({"/": " ", "=": " ", "&": " "})  # Alipay refuses these
T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _subject(description: str) -> str:
    return (description.translate(_SUBJECT_FORBIDDEN).strip() or "商品")[:256]


def _unsupported(what: str) -> ChannelError:
    return ChannelError(
        f"支付宝通道暂不支持{what}", sub_code="UNSUPPORTED", kind=ChannelErrorKind.UNSUPPORTED
    )


def _is_user_id(payer_id: str) -> bool:
    return (
        len(payer_id) == 16
        and payer_id.startswith("2088")
        and payer_id.isascii()
        and payer_id.isdigit()
    )


class AlipayChannel:
    """The Alipay channel; implements ``jubao.channels.base.Channel``."""

    name = ChannelName.ALIPAY

    def __init__(
        self,
        config: AlipayConfig,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._config = config
        self._alipay_key = load_public_key(config.alipay_public_key)
        self._clock = clock or _utc_now
        # Parsed once: an RSA key load costs more than a signature.
        self._transport = Transport(
            config,
            app_key=load_private_key(config.app_private_key),
            alipay_key=self._alipay_key,
            clock=self._clock,
            http_client=http_client,
        )

    # ---- Channel --------------------------------------------------------------------------------

    def supports(self, scene: Scene) -> bool:
        return scene in _SCENES

    async def create_payment(self, request: PaymentRequest) -> PaymentInstruction:
        if request.scene is Scene.BARCODE:
            return await self._pay(request)
        if request.scene is Scene.NATIVE:
            return await self._precreate(request)
        if request.scene is Scene.JSAPI:
            return await self._create(request)
        if request.scene is Scene.H5:
            return await self._wap(request)
        raise _unsupported(f"场景 {request.scene.value}")

    async def query(self, binding: ChannelBinding, out_trade_no: str) -> ChannelTransaction:
        """The trade as Alipay sees it; a trade Alipay does not have (an unscanned QR too) raises
        ``ChannelError(kind=NOT_FOUND, sub_code="ACQ.TRADE_NOT_EXIST")``."""
        _, doc = await self._transport.call(
            "alipay.trade.query", {"out_trade_no": out_trade_no}, binding=binding
        )
        raw_state = doc.get("trade_status")
        if not isinstance(raw_state, str):
            raise ChannelUnavailable("支付宝：查询应答缺少 trade_status")
        return self._trade(doc, out_trade_no, raw_state, binding)

    async def close(self, binding: ChannelBinding, out_trade_no: str) -> None:
        try:
            await self._transport.call(
                "alipay.trade.close", {"out_trade_no": out_trade_no}, binding=binding
            )
        except ChannelError as error:
            if error.sub_code not in ("ACQ.TRADE_STATUS_ERROR", "ACQ.REASON_TRADE_STATUS_INVALID"):
                raise
            # Only a waiting trade closes; say why this one did not (paid, or closed already).
            current = await self.query(binding, out_trade_no)
            kinds = {TradeStatus.PAID: ChannelErrorKind.ALREADY_PAID}
            error.kind = kinds.get(current.status, ChannelErrorKind.CLOSED)
            raise

    async def cancel(self, binding: ChannelBinding, out_trade_no: str) -> None:
        _, doc = await self._transport.call(
            "alipay.trade.cancel", {"out_trade_no": out_trade_no}, binding=binding
        )
        if doc.get("retry_flag") == "Y":
            raise ChannelUnavailable("支付宝：撤销未完成（retry_flag=Y），请稍后重试")

    async def refund(self, request: RefundRequest) -> ChannelRefund:
        biz: dict[str, Any] = {
            "out_trade_no": request.out_trade_no,
            "refund_amount": fen_to_yuan(request.refund_fen),
            "out_request_no": request.out_refund_no,
        }
        if request.reason:
            biz["refund_reason"] = request.reason[:256]
        _, doc = await self._transport.call("alipay.trade.refund", biz, binding=request.binding)
        if doc.get("out_trade_no") not in (None, request.out_trade_no):
            raise ChannelUnavailable("支付宝：退款应答的订单号与请求不一致")
        if doc.get("fund_change") != "Y":
            # A replay (or a refund not settled yet) moves no money now: the refund query says
            # whether this out_request_no was refunded.
            return await self.query_refund(
                request.binding, request.out_trade_no, request.out_refund_no
            )
        return ChannelRefund(
            out_refund_no=request.out_refund_no,
            status=RefundStatus.SUCCESS,
            refund_id=self._convert(lambda d: d.get("trade_no") or None, doc),
            out_trade_no=request.out_trade_no,
            refund_fen=request.refund_fen,
            success_time=self._convert(lambda d: mapping.parse_time(d.get("gmt_refund_pay")), doc),
            raw_status="REFUND_SUCCESS",
        )

    async def query_refund(
        self, binding: ChannelBinding, out_trade_no: str, out_refund_no: str
    ) -> ChannelRefund:
        _, doc = await self._transport.call(
            "alipay.trade.fastpay.refund.query",
            {
                "out_trade_no": out_trade_no,
                "out_request_no": out_refund_no,
                "query_options": ["gmt_refund_pay"],
            },
            binding=binding,
        )
        return self._convert(lambda d: mapping.refund_from_query(d, out_refund_no), doc)

    async def fetch_statement(
        self, day: date, binding: ChannelBinding | None = None
    ) -> list[StatementLine]:
        """The trade bill of a China day: the ISV app's own, or a merchant's with ``binding``.
        Alipay makes a day's bill on the next day (T+1)."""
        _, doc = await self._transport.call(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": day.isoformat()},
            binding=binding,
        )
        url = doc.get("bill_download_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ChannelUnavailable("支付宝：账单应答缺少 bill_download_url")
        data = await self._transport.download(url)
        merchant_id = binding.merchant_id if binding is not None else None
        try:
            return statement.parse_bill_zip(data, merchant_id)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ChannelUnavailable(f"支付宝：账单文件无法解析（{exc}）") from None

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> TransactionEvent | RefundEvent:
        try:
            fields = notifications.verified_fields(
                notifications.decode_form(body),
                alipay_key=self._alipay_key,
                app_id=self._config.app_id,
                now=self._clock(),
                max_age_seconds=self._config.notify_max_age_seconds,
            )
            return notifications.to_event(fields)
        except ValueError as exc:  # UnicodeDecodeError included
            raise ChannelNotificationRejected(f"支付宝通知被拒绝：{exc}") from None

    def notification_answer(self, accepted: bool, reason: str = "") -> NotificationAnswer:
        # Alipay stops retrying only on the exact text "success"; anything else means "again".
        return NotificationAnswer(
            200, b"success" if accepted else b"fail", "text/plain; charset=utf-8"
        )

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> AlipayChannel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ---- user authorisation (PayerAuthorisation) ------------------------------------------------

    def payer_authorize_url(self, redirect_uri: str, state: str) -> str:
        """Alipay's silent user authorisation (``auth_base``) for the ISV's app: Alipay returns
        the browser to ``redirect_uri`` with ``auth_code`` and ``state``."""
        query = urlencode(
            {
                "app_id": self._config.app_id,
                "scope": "auth_base",
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return f"{self._config.oauth_authorize_url}?{query}"

    async def payer_id_from_code(self, code: str) -> str:
        """``alipay.system.oauth.token`` (grant_type authorization_code): the buyer's user id
        (2088…, else the OpenID newer apps get). A used, expired or unknown code raises
        ``ChannelError`` (``isv.code-invalid``)."""
        _, doc = await self._transport.call(
            "alipay.system.oauth.token",
            None,
            binding=None,
            app_params={"grant_type": "authorization_code", "code": code},
            codeless=True,
        )
        user_id = doc.get("user_id") or doc.get("open_id")
        if not isinstance(user_id, str) or not user_id:
            raise ChannelUnavailable("支付宝：换取授权访问令牌的应答缺少 user_id")
        return user_id

    # ---- the three scenes -----------------------------------------------------------------------

    def _order_biz(self, request: PaymentRequest) -> dict[str, Any]:
        biz: dict[str, Any] = {
            "out_trade_no": request.out_trade_no,
            "total_amount": fen_to_yuan(request.total_fen),
            "subject": _subject(request.description),
            "time_expire": mapping.china_time(request.time_expire),
        }
        if request.attach:
            biz["body"] = request.attach[:128]
        if request.store_ref and _STORE_ID.fullmatch(request.store_ref):
            biz["store_id"] = request.store_ref  # Alipay's store_id: ≤ 32, no Chinese
        if self._config.sys_service_provider_id:
            biz["extend_params"] = {"sys_service_provider_id": self._config.sys_service_provider_id}
        return biz

    async def _pay(self, request: PaymentRequest) -> ImmediateOutcome:
        if not request.auth_code:
            raise ChannelError(
                "支付宝：付款码支付需要 auth_code",
                sub_code="INVALID_REQUEST",
                kind=ChannelErrorKind.INVALID_PAYMENT_CODE,
            )
        biz = self._order_biz(request)
        biz.update(
            scene="bar_code", auth_code=request.auth_code, product_code="FACE_TO_FACE_PAYMENT"
        )
        code, doc = await self._transport.call(
            "alipay.trade.pay",
            biz,
            binding=request.binding,
            notify_url=request.notify_url,
            waiting_ok=True,
        )
        raw_state = "TRADE_SUCCESS" if code == mapping.SUCCESS else "WAIT_BUYER_PAY"
        return ImmediateOutcome(self._trade(doc, request.out_trade_no, raw_state, request.binding))

    async def _precreate(self, request: PaymentRequest) -> QrContent:
        biz = self._order_biz(request)
        biz["product_code"] = self._config.precreate_product_code
        _, doc = await self._transport.call(
            "alipay.trade.precreate", biz, binding=request.binding, notify_url=request.notify_url
        )
        qr_code = doc.get("qr_code")
        if not isinstance(qr_code, str) or not qr_code:
            raise ChannelUnavailable("支付宝：预下单应答缺少 qr_code")
        return QrContent(prepay_id=None, code=qr_code)

    async def _create(self, request: PaymentRequest) -> ChannelTradeNo:
        if not request.payer_id:
            raise ChannelError(
                "支付宝：JSAPI 支付需要付款人的 buyer_id",
                sub_code="INVALID_REQUEST",
                kind=ChannelErrorKind.REJECTED,
            )
        biz = self._order_biz(request)
        biz["product_code"] = self._config.jsapi_product_code
        # A 2088… user id, otherwise the OpenID newer apps get instead.
        biz["buyer_id" if _is_user_id(request.payer_id) else "buyer_open_id"] = request.payer_id
        _, doc = await self._transport.call(
            "alipay.trade.create", biz, binding=request.binding, notify_url=request.notify_url
        )
        trade_no = doc.get("trade_no")
        if not isinstance(trade_no, str) or not trade_no:
            raise ChannelUnavailable("支付宝：下单应答缺少 trade_no")
        return ChannelTradeNo(trade_no)

    async def _wap(self, request: PaymentRequest) -> RedirectUrl:
        """A mobile browser outside the wallet: the signed page address of
        ``alipay.trade.wap.pay`` (the browser opens it; Alipay's cashier page takes over)."""
        biz = self._order_biz(request)
        biz["product_code"] = "QUICK_WAP_WAY"
        if request.return_url:
            biz["quit_url"] = request.return_url  # where "back" leaves the cashier page
        url = await self._transport.rsa(
            self._transport.page_url,
            "alipay.trade.wap.pay",
            biz,
            binding=request.binding,
            notify_url=request.notify_url,
            return_url=request.return_url,
        )
        return RedirectUrl(prepay_id=None, url=url)

    # ---- the wire -------------------------------------------------------------------------------

    def _trade(
        self,
        doc: Mapping[str, Any],
        out_trade_no: str,
        raw_state: str,
        binding: ChannelBinding | None,
    ) -> ChannelTransaction:
        merchant_id = binding.merchant_id if binding is not None else None
        trade = self._convert(
            lambda d: mapping.transaction_from_doc(d, raw_state=raw_state, merchant_id=merchant_id),
            doc,
        )
        if trade.out_trade_no != out_trade_no:
            raise ChannelUnavailable("支付宝：应答的订单号与请求不一致")
        return trade

    @staticmethod
    def _convert(convert: Callable[[Mapping[str, Any]], T], doc: Mapping[str, Any]) -> T:
        try:
            return convert(doc)
        except ValueError as exc:
            raise ChannelUnavailable(f"支付宝：应答格式不正确（{exc}）") from None
