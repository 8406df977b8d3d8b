"""``WechatPayChannel``: the WeChat Pay v3 service-provider (partner) channel over httpx.

Every request is signed with the service provider's API key; every 2xx answer must carry a valid
WeChat Pay signature or it is not trusted (``ChannelUnavailable``). Error classes:

* 4xx with ``{"code", "message"}``  -> ``ChannelError(sub_code=<code>, kind=<what it means>)``
* 429, 5xx, timeouts, transport errors, unsigned or unparseable answers -> ``ChannelUnavailable``:
  the outcome is unknown or the request was not processed, so the caller may ask again later.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import orjson

from jubao import __version__
from jubao.channels.base import (
    ChannelBinding,
    ChannelRefund,
    ChannelTransaction,
    ImmediateOutcome,
    NotificationAnswer,
    PaymentInstruction,
    PaymentRequest,
    QrContent,
    RefundEvent,
    RefundRequest,
    StatementLine,
    TransactionEvent,
    WalletPackage,
)
from jubao.channels.offload import offload
from jubao.channels.outbound import ChannelHttp, httpx_request
from jubao.channels.wechatpay import aesgcm, mapping, signing, tradebill
from jubao.channels.wechatpay.certificates import CERTIFICATES_PATH
from jubao.channels.wechatpay.config import WechatPayConfig
from jubao.channels.wechatpay.keys import load_private_key
from jubao.channels.wechatpay.platform import PlatformKeys
from jubao.errors import (
    ChannelError,
    ChannelErrorKind,
    ChannelNotificationRejected,
    ChannelUnavailable,
)
from jubao.http1 import MAX_ANSWER_BYTES, AnswerLike, AnswerTooLarge, Outbound
from jubao.httppool import parsed_url
from jubao.kinds import ChannelName, Scene

__all__ = ["SignParams", "WechatPayChannel"]


log = logging.getLogger("jubao.channels.wechatpay")

PARTNER_TRANSACTIONS = "/v3/pay/partner/transactions"
REFUNDS = "/v3/refund/domestic/refunds"
TRADE_BILL = "/v3/bill/tradebill"
_EVENT_KINDS = {"TRANSACTION.": "transaction", "REFUND.": "refund"}

T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _segment(value: str) -> str:
    """A path placeholder, percent-encoded so an id can never change the path it lands in."""
    return quote(value, safe="")


def _dump(payload: Mapping[str, Any]) -> bytes:
    # Serialised once: these exact bytes are both signed and sent. orjson: compact, UTF-8, in a
    # tenth of the json module's time (docs/benchmarks.md, round eight).
    return orjson.dumps(payload)


@dataclass(frozen=True, slots=True)
class SignParams:
    """The package a mini-program passes to ``wx.requestPayment`` (and an official-account page
    to ``getBrandWCPayRequest``), in the order Fubei answers it."""

    app_id: str
    time_stamp: str
    nonce_str: str
    package: str
    sign_type: str
    pay_sign: str

    def as_wire(self) -> dict[str, str]:
        return {
            "appId": self.app_id,
            "timeStamp": self.time_stamp,
            "nonceStr": self.nonce_str,
            "package": self.package,
            "signType": self.sign_type,
            "paySign": self.pay_sign,
        }


_WALLET_SCENES = frozenset({Scene.MINA, Scene.JSAPI})
_SCENES = _WALLET_SCENES | {Scene.NATIVE, Scene.BARCODE}


def _unsupported(what: str) -> ChannelError:
    return ChannelError(
        f"微信支付通道暂不支持{what}", sub_code="UNSUPPORTED", kind=ChannelErrorKind.UNSUPPORTED
    )


class WechatPayChannel:
    """The real WeChat Pay v3 partner channel; implements ``jubao.channels.base.Channel``."""

    name = ChannelName.WECHATPAY

    def __init__(
        self,
        config: WechatPayConfig,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._config = config
        # Parsed once: an RSA key load costs more than the signature itself.
        self._private_key = load_private_key(config.private_key_pem)
        self._apiv3_key = config.apiv3_key.encode("ascii")
        self._rsa = offload(config.rsa_threads)
        self._base = config.base_url.rstrip("/")
        self._clock = clock or _utc_now
        # The request path is bound by the WeChat round trip: allow plenty of concurrency
        # (256 connections). An injected client is used alone.
        self._http = ChannelHttp(
            http_client,
            connections=256,
            max_answer_bytes=MAX_ANSWER_BYTES,
            timeout=config.timeout,
        )
        self._user_agent = f"jubao/{__version__}"
        self._keys = PlatformKeys(config, self._clock, self._fetch_certificates)

    @property
    def config(self) -> WechatPayConfig:
        return self._config

    # ---- Channel --------------------------------------------------------------------------------

    def supports(self, scene: Scene) -> bool:
        return scene in _SCENES

    async def create_payment(self, request: PaymentRequest) -> PaymentInstruction:
        if request.scene == Scene.NATIVE:
            return await self._native(request)
        if request.scene == Scene.BARCODE:
            return await self._codepay(request)
        if request.scene not in _WALLET_SCENES:
            raise _unsupported(f"场景 {request.scene.value}")
        prepay_id = await self.prepay(request)
        app_id = request.binding.app_id
        assert app_id is not None  # prepay refused a binding without one
        signed = await self._rsa(self.sign_params, app_id, prepay_id)
        return WalletPackage(prepay_id=prepay_id, params=signed.as_wire())

    async def prepay(self, request: PaymentRequest) -> str:
        """The partner JSAPI order; returns its ``prepay_id``."""
        if not request.binding.app_id or not request.payer_id:
            raise ChannelError(
                "微信支付：JSAPI 支付需要商户的 sub_appid 和付款人的 openid",
                sub_code="INVALID_REQUEST",
                kind=ChannelErrorKind.REJECTED,
            )
        payload = mapping.jsapi_prepay_body(
            request, sp_appid=self._config.sp_appid, sp_mchid=self._config.sp_mchid
        )
        doc = await self._json("POST", f"{PARTNER_TRANSACTIONS}/jsapi", payload=payload)
        prepay_id = doc.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise ChannelUnavailable("微信支付：下单应答缺少 prepay_id")
        return prepay_id

    async def _native(self, request: PaymentRequest) -> QrContent:
        payload = mapping.native_prepay_body(
            request, sp_appid=self._config.sp_appid, sp_mchid=self._config.sp_mchid
        )
        doc = await self._json("POST", f"{PARTNER_TRANSACTIONS}/native", payload=payload)
        code_url = doc.get("code_url")
        if not isinstance(code_url, str) or not code_url:
            raise ChannelUnavailable("微信支付：Native 下单应答缺少 code_url")
        return QrContent(prepay_id=None, code=code_url)

    async def _codepay(self, request: PaymentRequest) -> ImmediateOutcome:
        """200: paid (a Transaction); 202: the payer must confirm (USERPAYING, then query)."""
        if not request.auth_code:
            raise ChannelError(
                "微信支付：付款码支付需要付款码 auth_code",
                sub_code="INVALID_REQUEST",
                kind=ChannelErrorKind.INVALID_PAYMENT_CODE,
            )
        payload = mapping.codepay_body(
            request, sp_appid=self._config.sp_appid, sp_mchid=self._config.sp_mchid
        )
        response = await self._call("POST", f"{PARTNER_TRANSACTIONS}/codepay", payload=payload)
        try:
            doc = _object(orjson.loads(response.content or b"{}"), "answer")
        except ValueError:
            raise ChannelUnavailable("微信支付：付款码应答不是 JSON 对象") from None
        if response.status_code == 202:
            return ImmediateOutcome(mapping.pending_code_payment(doc, request.out_trade_no))
        transaction = self._convert(mapping.transaction_from_json, doc)
        if transaction.out_trade_no != request.out_trade_no:
            raise ChannelUnavailable("微信支付：付款码应答的订单号与请求不一致")
        return ImmediateOutcome(transaction)

    def sign_params(self, app_id: str, prepay_id: str) -> SignParams:
        timestamp = str(self._now())
        nonce = signing.new_nonce()
        package = f"prepay_id={prepay_id}"
        message = signing.pay_sign_message(app_id, timestamp, nonce, package)
        return SignParams(
            app_id=app_id,
            time_stamp=timestamp,
            nonce_str=nonce,
            package=package,
            sign_type="RSA",
            pay_sign=signing.sign(self._private_key, message),
        )

    async def query(self, binding: ChannelBinding, out_trade_no: str) -> ChannelTransaction:
        """The order as WeChat sees it. An order WeChat never created raises
        ``ChannelError(sub_code="ORDER_NOT_EXIST")``: it is a fact, not "pending"."""
        doc = await self._json(
            "GET",
            f"{PARTNER_TRANSACTIONS}/out-trade-no/{_segment(out_trade_no)}",
            params={"sp_mchid": self._config.sp_mchid, "sub_mchid": binding.merchant_id},
        )
        transaction = self._convert(mapping.transaction_from_json, doc)
        if transaction.out_trade_no != out_trade_no:
            raise ChannelUnavailable("微信支付：查询应答的订单号与请求不一致")
        return transaction

    async def close(self, binding: ChannelBinding, out_trade_no: str) -> None:
        await self._call(
            "POST",
            f"{PARTNER_TRANSACTIONS}/out-trade-no/{_segment(out_trade_no)}/close",
            payload={"sp_mchid": self._config.sp_mchid, "sub_mchid": binding.merchant_id},
        )

    async def cancel(self, binding: ChannelBinding, out_trade_no: str) -> None:
        """Reverse (撤销) a code payment: closed for good if unpaid, refunded if paid. While the
        payer's password box is open WeChat refuses with USERPAYING: that is "try again"."""
        try:
            await self._call(
                "POST",
                f"{PARTNER_TRANSACTIONS}/out-trade-no/{_segment(out_trade_no)}/reverse",
                payload={"sp_mchid": self._config.sp_mchid, "sub_mchid": binding.merchant_id},
            )
        except ChannelError as exc:
            if exc.sub_code == "USERPAYING":
                raise ChannelUnavailable("微信支付：用户正在支付，稍后重试撤销") from None
            raise

    async def refund(self, request: RefundRequest) -> ChannelRefund:
        doc = await self._json("POST", REFUNDS, payload=mapping.refund_body(request))
        return self._checked_refund(doc, request.out_refund_no)

    async def query_refund(
        self, binding: ChannelBinding, out_trade_no: str, out_refund_no: str
    ) -> ChannelRefund:
        doc = await self._json(
            "GET",
            f"{REFUNDS}/{_segment(out_refund_no)}",
            params={"sub_mchid": binding.merchant_id},
        )
        return self._checked_refund(doc, out_refund_no)

    async def fetch_statement(
        self, day: date, binding: ChannelBinding | None = None
    ) -> list[StatementLine]:
        """The trade bill (``bill_type=ALL``) of a China day: the whole provider's, every
        sub-merchant's line naming it, or one sub-merchant's with ``binding``. A day without
        trades is an empty list; a day not yet published raises ``ChannelError``
        (``STATEMENT_CREATING``: WeChat publishes a day's bill the next morning)."""
        params = {"bill_date": day.isoformat(), "bill_type": "ALL"}
        if binding is not None:
            params["sub_mchid"] = binding.merchant_id
        try:
            doc = await self._json("GET", TRADE_BILL, params=params)
        except ChannelError as exc:
            if exc.sub_code == "NO_STATEMENT_EXIST":
                return []
            raise
        hash_type, hash_value = doc.get("hash_type"), doc.get("hash_value")
        url = doc.get("download_url")
        if hash_type != "SHA1" or not isinstance(hash_value, str):
            raise ChannelUnavailable(f"微信支付：账单应答的摘要算法不受支持（{hash_type!r}）")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ChannelUnavailable("微信支付：账单应答缺少 download_url")
        content = await self._download(url)
        try:
            checked = tradebill.verify_sha1(content, hash_value)
        except ValueError as exc:
            raise ChannelError(
                f"微信支付：账单文件校验失败（{exc}）",
                sub_code="BILL_HASH_MISMATCH",
                kind=ChannelErrorKind.REJECTED,
            ) from None
        try:
            lines = tradebill.parse_trade_bill(tradebill.bill_text(checked))
        except ValueError as exc:
            raise ChannelUnavailable(f"微信支付：账单文件无法解析（{exc}）") from None
        if binding is None:
            return lines
        return [
            line if line.merchant_id else replace(line, merchant_id=binding.merchant_id)
            for line in lines
        ]

    async def _download(self, url: str) -> bytes:
        """``GET download_url``, signed like any request; the answer is the bill itself,
        unsigned (its SHA-1 came in the signed application answer), read up to a bound."""
        client = self._http.downloads()
        request = httpx_request(client, await self._signed("GET", url))
        try:
            response = await client.send(request, stream=True)
            try:
                if response.status_code != 200:
                    await response.aread()
                    self._checked(response)  # WeChat's JSON error, as for any call
                    status = response.status_code
                    raise ChannelUnavailable(f"微信支付：账单下载失败（HTTP {status}）")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > tradebill.MAX_BILL_BYTES:
                        raise ChannelUnavailable("微信支付：账单文件过大")
                    chunks.append(chunk)
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            raise ChannelUnavailable("微信支付：账单下载超时") from None
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"微信支付：账单下载失败（{type(exc).__name__}）") from None
        return b"".join(chunks)

    def notification_answer(self, accepted: bool, reason: str = "") -> NotificationAnswer:
        # v3: any 2xx acknowledges; anything else (with a FAIL body) makes WeChat retry.
        if accepted:
            return NotificationAnswer(204)
        body = json.dumps({"code": "FAIL", "message": reason}, ensure_ascii=False).encode()
        return NotificationAnswer(400, body, "application/json")

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> TransactionEvent | RefundEvent:
        try:
            self._keys.verify(headers, body)
            return self._decode_notification(body)
        except signing.UnknownSerial as exc:
            self._keys.unknown_serial_seen()  # certificate mode: WeChat may have rotated
            raise ChannelNotificationRejected(f"微信支付通知被拒绝：{exc}") from None
        except ValueError as exc:  # every failure below is a ValueError subclass, JSON's included
            raise ChannelNotificationRejected(f"微信支付通知被拒绝：{exc}") from None
        except RecursionError:  # json.loads of a signed body nested thousands deep: not a 500
            raise ChannelNotificationRejected("微信支付通知被拒绝：JSON 嵌套过深") from None

    async def aclose(self) -> None:
        self._keys.aclose()
        await self._http.aclose()

    async def __aenter__(self) -> WechatPayChannel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ---- notifications --------------------------------------------------------------------------

    def _decode_notification(self, body: bytes) -> TransactionEvent | RefundEvent:
        # The json module, not orjson as for answers: parse_notification words its errors (a body
        # nested too deep is its RecursionError), and notifications are not per order created.
        envelope = _object(json.loads(body), "notification body")
        event_id = _text(envelope, "id")
        event_type = _text(envelope, "event_type")
        kind = next((k for p, k in _EVENT_KINDS.items() if event_type.startswith(p)), None)
        if kind is None:
            raise ValueError(f"unsupported event_type {event_type!r}")
        resource = _object(envelope.get("resource"), "resource")
        if resource.get("algorithm") != aesgcm.ALGORITHM:
            raise ValueError(f"unsupported resource.algorithm {resource.get('algorithm')!r}")
        original_type = resource.get("original_type")
        if original_type is not None and original_type != kind:
            raise ValueError(f"resource.original_type {original_type!r} contradicts {event_type}")
        plaintext = aesgcm.decrypt(
            self._apiv3_key,
            _text(resource, "nonce"),
            str(resource.get("associated_data") or ""),
            _text(resource, "ciphertext"),
        )
        doc = _object(json.loads(plaintext), "decrypted resource")
        sp_mchid = doc.get("sp_mchid")
        if sp_mchid is not None and sp_mchid != self._config.sp_mchid:
            raise ValueError(f"notification for another service provider {sp_mchid!r}")
        sub_mchid = doc.get("sub_mchid")
        sub = sub_mchid if isinstance(sub_mchid, str) and sub_mchid else None
        if kind == "transaction":
            return TransactionEvent(event_id, mapping.transaction_from_json(doc), sub)
        return RefundEvent(event_id, mapping.refund_from_json(doc), sub)

    # ---- HTTP -----------------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock().timestamp())

    async def _fetch_certificates(self) -> AnswerLike:
        # Verified by PlatformKeys with the certificates it carries (nothing else could).
        return await self._call("GET", CERTIFICATES_PATH, verified=False)

    async def _json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        response = await self._call(method, path, params=params, payload=payload)
        try:
            return _object(orjson.loads(response.content), "answer")
        except ValueError:
            raise ChannelUnavailable("微信支付：应答不是 JSON 对象") from None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        payload: Mapping[str, Any] | None = None,
        verified: bool = True,
    ) -> AnswerLike:
        """One signed request; a 2xx answer is returned once its signature verifies (not
        ``verified``: the caller checks it, as for the certificates that verify themselves)."""
        if verified:
            await self._keys.refresh_if_due()
        body = _dump(payload) if payload is not None else None
        request = await self._signed(method, self._base + path, params=params, body=body)
        try:
            response = await self._http.send(request)
        except httpx.TimeoutException:
            raise ChannelUnavailable("微信支付：请求超时") from None
        except AnswerTooLarge:
            raise ChannelUnavailable("微信支付：应答过大") from None
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"微信支付：网络错误（{type(exc).__name__}）") from None
        self._checked(response)
        if verified and 200 <= response.status_code < 300:
            await self._verify_answer(response)
        return response

    async def _signed(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Outbound:
        address = parsed_url(url)  # cached: a channel calls a few addresses over and over
        if params:
            address = address.copy_merge_params(params)
        headers = [("Accept", "application/json"), ("User-Agent", self._user_agent)]
        serial = self._keys.request_serial()
        if serial is not None:
            headers.append(("Wechatpay-Serial", serial))
        if body is not None:
            headers.append(("Content-Type", "application/json"))
        content = body or b""
        authorization = await self._rsa(self._authorization, method, address, content)
        headers.append(("Authorization", authorization))
        return Outbound(method, address, headers, content, self._config.timeout)

    def _authorization(self, method: str, url: httpx.URL, body: bytes) -> str:
        # Sign the path and query exactly as they go on the wire (the base URL's prefix included):
        # both clients send ``url.raw_path``.
        target = url.raw_path.decode("ascii")
        timestamp = str(self._now())
        nonce = signing.new_nonce()
        message = signing.request_message(method, target, timestamp, nonce, body)
        return signing.authorization_header(
            mchid=self._config.sp_mchid,
            serial_no=self._config.serial_no,
            nonce=nonce,
            timestamp=timestamp,
            signature=signing.sign(self._private_key, message),
        )

    def _checked(self, response: AnswerLike) -> None:
        """Raise for anything but a 2xx (whose signature is checked apart)."""
        status = response.status_code
        request_id = response.headers.get("request-id", "-")
        if 200 <= status < 300:
            return
        if status == 429:
            # Rate limiting is transient and nothing was done: "try later", never a final refusal
            # (a ChannelError would, for instance, fail a refund for good).
            raise ChannelUnavailable("微信支付：请求过于频繁（FREQUENCY_LIMITED），请稍后重试")
        if 400 <= status < 500:
            raise _business_error(response, request_id)
        log.warning("wechatpay answered HTTP %s (Request-ID %s)", status, request_id)
        raise ChannelUnavailable(f"微信支付：系统繁忙（HTTP {status}），请稍后重试")

    async def _verify_answer(self, response: AnswerLike) -> None:
        request_id = response.headers.get("request-id", "-")
        try:
            await self._keys.verify_answer(response)
        except signing.VerificationFailed as exc:
            log.warning("wechatpay answer rejected (Request-ID %s): %s", request_id, exc)
            raise ChannelUnavailable("微信支付：应答签名验证失败") from None

    @staticmethod
    def _convert(convert: Callable[[Mapping[str, Any]], T], doc: Mapping[str, Any]) -> T:
        try:
            return convert(doc)
        except ValueError as exc:
            raise ChannelUnavailable(f"微信支付：应答格式不正确（{exc}）") from None

    def _checked_refund(self, doc: Mapping[str, Any], out_refund_no: str) -> ChannelRefund:
        refund = self._convert(mapping.refund_from_json, doc)
        if refund.out_refund_no != out_refund_no:
            raise ChannelUnavailable("微信支付：退款应答的退款单号与请求不一致")
        return refund


def _business_error(response: AnswerLike, request_id: str) -> ChannelError | ChannelUnavailable:
    """WeChat's ``{"code", "message"}`` as a ``ChannelError``. Error bodies are not signed (the
    official SDKs do not verify them either); one we cannot read is an unknown outcome."""
    try:
        doc = _object(orjson.loads(response.content), "error body")
        code = _text(doc, "code")
    except ValueError:
        log.warning(
            "wechatpay HTTP %s without a readable error (Request-ID %s)",
            response.status_code,
            request_id,
        )
        return ChannelUnavailable(f"微信支付：无法解析的错误应答（HTTP {response.status_code}）")
    message = doc.get("message")
    text = message if isinstance(message, str) and message else code
    return ChannelError(
        f"微信支付：{text}",
        sub_code=mapping.normalise_error_code(code),
        kind=mapping.error_kind(code),
        http_status=response.status_code,
    )


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object")
    return value


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is missing or not a string")
    return value
