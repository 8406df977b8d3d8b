"""One error tree for jubao. Every error a caller can see has a stable ``sub_code`` and a clear
Chinese message; the web layer maps them to the failure envelope in one place.

    JubaoError
    ├── RequestError                     the merchant's request is wrong (their fix)
    │   ├── InvalidParameter             INVALID_PARAMETER / MISSING_PARAMETER / BODY_TOO_LARGE ...
    │   ├── SignatureError               SIGN_ERROR
    │   ├── AppNotFound                  APP_NOT_FOUND (VENDOR_NOT_FOUND for a vendor_sn)
    │   ├── MerchantNotFound             MERCHANT_NOT_FOUND (2.0: not a merchant the signer has)
    │   ├── MethodNotSupported           METHOD_NOT_SUPPORTED
    │   ├── RateLimited                  RATE_LIMITED
    │   ├── NonceReused                  NONCE_REUSED (an app in strict nonce mode)
    │   └── BusinessRuleError            ORDER_SN_CONFLICT, STORE_NOT_FOUND, ORDER_NOT_FOUND, ...
    ├── ChannelError                     the channel answered with a business error: ``kind`` is
    │                                    channel-neutral (ChannelErrorKind), ``sub_code`` its code
    ├── ChannelUnavailable               CHANNEL_UNAVAILABLE: network, timeout, 5xx, bad response
    ├── ChannelNotificationRejected      a callback we cannot trust (never shown to merchants)
    ├── RequestTimeout                   TIMEOUT: the gateway gave up waiting; outcome unknown
    └── StorageError                     DuplicateKey and other database trouble
        └── SealingError                 a secret at rest cannot be opened (master key config)
"""

from __future__ import annotations

import enum

__all__ = [
    "AppNotFound",
    "BusinessRuleError",
    "ChannelError",
    "ChannelErrorKind",
    "ChannelNotificationRejected",
    "ChannelUnavailable",
    "DuplicateKey",
    "InvalidParameter",
    "JubaoError",
    "MerchantNotFound",
    "MethodNotSupported",
    "NonceReused",
    "RateLimited",
    "RequestError",
    "RequestTimeout",
    "SealingError",
    "SignatureError",
    "StorageError",
]


class JubaoError(Exception):
    """Base of every error jubao raises on purpose."""

    sub_code: str = "SYSTEM_ERROR"
    default_message: str = "系统繁忙，请稍后重试"

    def __init__(self, message: str | None = None, *, sub_code: str | None = None) -> None:
        self.message = message or self.default_message
        if sub_code is not None:
            self.sub_code = sub_code
        super().__init__(f"{self.sub_code}: {self.message}")


class RequestError(JubaoError):
    sub_code = "INVALID_REQUEST"
    default_message = "请求无效"


class InvalidParameter(RequestError):
    sub_code = "INVALID_PARAMETER"
    default_message = "参数错误"


class SignatureError(RequestError):
    sub_code = "SIGN_ERROR"
    default_message = "签名验证失败"


class AppNotFound(RequestError):
    sub_code = "APP_NOT_FOUND"
    default_message = "app_id 不存在"


class MerchantNotFound(RequestError):
    """Open API 2.0: the ``merchant_id`` is missing, unknown, or not the signer's (one answer
    for all three, so a vendor learns nothing about other vendors' merchants)."""

    sub_code = "MERCHANT_NOT_FOUND"
    default_message = "商户不存在"


class MethodNotSupported(RequestError):
    sub_code = "METHOD_NOT_SUPPORTED"
    default_message = "不支持的接口方法"


class RateLimited(RequestError):
    sub_code = "RATE_LIMITED"
    default_message = "请求过于频繁，请稍后重试"


class NonceReused(RequestError):
    sub_code = "NONCE_REUSED"
    default_message = "nonce 已使用过，请使用新的 nonce 重新签名"


class BusinessRuleError(RequestError):
    """A well-formed request that the current state refuses; ``sub_code`` names the rule."""

    sub_code = "BUSINESS_ERROR"
    default_message = "业务处理失败"


class ChannelErrorKind(enum.StrEnum):
    """What a channel's business refusal means, whatever the channel: the service decides on
    this, never on a channel's code string (each channel maps its codes in its own adapter)."""

    ALREADY_PAID = "ALREADY_PAID"  # the trade is paid: closing or cancelling it is refused
    CLOSED = "CLOSED"  # the trade is closed or cancelled already
    NOT_FOUND = "NOT_FOUND"  # the channel has no such trade or refund
    DUPLICATE = "DUPLICATE"  # the trade number is in use (another instance created it first)
    DECLINED = "DECLINED"  # the payer's payment was refused (risk, limits, ...)
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"  # the payer's balance is too low
    INVALID_PAYMENT_CODE = "INVALID_PAYMENT_CODE"  # a payment code unknown, used or expired
    UNSUPPORTED = "UNSUPPORTED"  # this channel does not offer the operation or scene
    REJECTED = "REJECTED"  # any other business refusal: parameters, permissions, state


class ChannelError(JubaoError):
    """The channel gave a business answer: ``kind`` says what it means, ``sub_code`` carries the
    channel's own code and the message quotes the channel's text (both shown to the merchant)."""

    sub_code = "CHANNEL_ERROR"
    default_message = "支付通道返回错误"

    def __init__(
        self,
        message: str | None = None,
        *,
        sub_code: str | None = None,
        kind: ChannelErrorKind = ChannelErrorKind.REJECTED,
        http_status: int = 0,
    ) -> None:
        super().__init__(message, sub_code=sub_code)
        self.kind = kind
        self.http_status = http_status


class ChannelUnavailable(JubaoError):
    sub_code = "CHANNEL_UNAVAILABLE"
    default_message = "支付通道暂不可用，请稍后重试"


class ChannelNotificationRejected(JubaoError):
    sub_code = "NOTIFICATION_REJECTED"
    default_message = "通知验证失败"


class RequestTimeout(JubaoError):
    sub_code = "TIMEOUT"
    default_message = "处理超时，结果未知：请用相同参数重试或查询订单状态"


class StorageError(JubaoError):
    sub_code = "SYSTEM_ERROR"
    default_message = "系统繁忙，请稍后重试"


class DuplicateKey(StorageError):
    """A unique constraint refused a row."""


class SealingError(StorageError):
    """A secret at rest cannot be sealed or opened: a missing or wrong master key, or a tampered
    value. The details are for the operator's log; merchants see the generic message."""

    def __init__(self, detail: str) -> None:
        super().__init__()
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.sub_code}: {self.detail}"
