"""Every error the merchant SDK raises on purpose, in one tree.

    JubaoClientError
    ├── ApiError                     the gateway answered with a business failure
    │   ├── SignatureRejected        ... whose sub_code is SIGN_ERROR (check the id and secret)
    │   ├── InvalidParameter         ... 2.0 result_code 9996 (a field is missing or wrong)
    │   ├── MerchantNotFound         ... 2.0 result_code 1004 (no such merchant, or not yours)
    │   ├── NumberAlreadyUsed        ... 2.0 result_code 2 ("0002": your order/refund number)
    │   └── ChannelRefused           ... 2.0 result_code 60303 (the wallet or bank said no)
    ├── TransportError               no usable answer: connection, timeout, HTTP 5xx / 429
    ├── InvalidResponse              an answer that is not the Open API envelope we expect
    └── NotificationError            a merchant notification that must not be trusted
        ├── NotificationSignatureError   missing or wrong ``sign``
        └── InvalidNotification          signed correctly, but the content is malformed

Amount mistakes in requests (a ``float``, three decimals) are programming errors and raise the
built-in ``TypeError`` / ``ValueError`` when the request object is built, before anything is sent.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "ChannelRefused",
    "InvalidNotification",
    "InvalidParameter",
    "InvalidResponse",
    "JubaoClientError",
    "MerchantNotFound",
    "NotificationError",
    "NotificationSignatureError",
    "NumberAlreadyUsed",
    "SignatureRejected",
    "TransportError",
]


class JubaoClientError(Exception):
    """Base of every error the SDK raises on purpose."""


class ApiError(JubaoClientError):
    """A failure envelope: ``{"result_code": 400, "result_message": ..., "sub_code": ...}``.

    ``result_code`` is 400 on 1.0 and Fubei's numeric code on 2.0 (9996, 1004, ...);
    ``sub_code`` is jubao's stable code (``ORDER_NOT_FOUND``, ``REFUND_EXCEEDS``, ...; see
    docs/protocol.md); ``result_message`` is the Chinese text meant for people.
    """

    def __init__(self, result_code: int, sub_code: str, result_message: str) -> None:
        self.result_code = result_code
        self.sub_code = sub_code
        self.result_message = result_message
        super().__init__(f"{result_code} {sub_code}: {result_message}")


class SignatureRejected(ApiError):
    """The gateway could not verify our request signature: the app (or vendor) secret is wrong or
    stale."""


class InvalidParameter(ApiError):
    """Open API 2.0 ``result_code`` 9996 (【无效参数】): the request named a field wrongly;
    ``result_message`` says which."""


class MerchantNotFound(ApiError):
    """Open API 2.0 ``result_code`` 1004 (商户不存在): the ``merchant_id`` does not exist, or a
    vendor asked for a merchant that is not its own (the gateway does not say which)."""


class NumberAlreadyUsed(ApiError):
    """Open API 2.0 ``result_code`` 2 (Fubei's ``0002``): the ``merchant_order_sn`` or
    ``merchant_refund_sn`` already names a different order or refund (``sub_code``
    ``ORDER_SN_CONFLICT`` / ``REFUND_SN_CONFLICT``). Use a new number."""


class ChannelRefused(ApiError):
    """Open API 2.0 ``result_code`` 60303: the channel refused (``sub_code`` says why:
    ``BALANCE_NOT_ENOUGH``, ``AUTH_CODE_INVALID``, ``PAYMENT_DECLINED``, or the channel's own
    code); ``result_message`` is the channel's text."""


class TransportError(JubaoClientError):
    """No usable answer arrived. For a call that is not safe to retry the outcome is unknown:
    look it up with a query before trying again. ``status_code`` is set for HTTP 5xx / 429."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message)


class InvalidResponse(JubaoClientError):
    """An answer arrived but is not a valid Open API envelope (HTML, garbage, wrong shape)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message)


class NotificationError(JubaoClientError):
    """A merchant notification that must not be acted on; answer it with a non-2xx status."""


class NotificationSignatureError(NotificationError):
    """The notification's ``sign`` is missing or does not match the app secret."""


class InvalidNotification(NotificationError):
    """The signature is valid but the form or its ``data`` JSON is not what jubao sends."""
