"""The sans-IO heart of both clients: build and sign a request, read an answer, decide retries.

No sockets and no sleeping here. A client shell asks ``ClientCore.start(operation)`` for an
``Exchange``, sends ``exchange.request`` with its HTTP library, and reports back either the answer
(``exchange.received``) or the transport failure (``exchange.failed``). Each returns ``Done`` with
the typed result or ``Retry`` with the delay to wait before sending the same request again; errors
are raised from there. So signing, parsing, error mapping and the retry policy exist exactly once.

A retry resends the identical bytes (same nonce and sign): a replay, which is what idempotent
methods expect.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from jubao import __version__
from jubao.client import reading
from jubao.client.errors import (
    ApiError,
    ChannelRefused,
    InvalidParameter,
    InvalidResponse,
    MerchantNotFound,
    NumberAlreadyUsed,
    SignatureRejected,
    TransportError,
)
from jubao.client.operations import Operation
from jubao.protocol import jsonwire, signing

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "ClientCore",
    "Done",
    "Exchange",
    "PreparedRequest",
    "Retry",
    "RetryPolicy",
    "agent_url",
    "gateway_url",
]

T = TypeVar("T")

DEFAULT_TIMEOUT = 15.0  # seconds; mina waits for WeChat's prepay
DEFAULT_RETRIES = 2
GATEWAY_PATH = "/gateway"
AGENT_PATH = "/gateway/agent"  # Open API 2.0 ("agent API"), both credential levels
USER_AGENT = f"jubao-python/{__version__}"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_ERRORS_BY_SUB_CODE: dict[str, type[ApiError]] = {"SIGN_ERROR": SignatureRejected}
# Open API 2.0 puts Fubei's numeric code in result_code itself (reference 9.2)
_ERRORS_BY_RESULT_CODE: dict[int, type[ApiError]] = {
    9996: InvalidParameter,
    1004: MerchantNotFound,
    2: NumberAlreadyUsed,
    60303: ChannelRefused,
}


def gateway_url(base_url: str, path: str = GATEWAY_PATH) -> str:
    """``http://host:8600`` -> ``http://host:8600/gateway``; a URL already ending in ``path`` is
    kept. For ``AGENT_PATH`` a URL ending in ``/gateway`` gains ``/agent``."""
    base = base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
    if base.endswith(path):
        return base
    if path.startswith(GATEWAY_PATH + "/") and base.endswith(GATEWAY_PATH):
        return base + path.removeprefix(GATEWAY_PATH)
    return base + path


def agent_url(base_url: str) -> str:
    """``http://host:8600`` (or ``.../gateway``) -> ``http://host:8600/gateway/agent``."""
    return gateway_url(base_url, AGENT_PATH)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``retries`` extra attempts after the first, waiting ``backoff * 2**n`` seconds before the
    n-th (0.2 s, 0.4 s, ... by default). Only for operations marked safe to retry."""

    retries: int = DEFAULT_RETRIES
    backoff: float = 0.2

    def __post_init__(self) -> None:
        if self.retries < 0 or self.backoff < 0:
            raise ValueError("retries and backoff must not be negative")

    def delay(self, attempt: int, operation: Operation[Any]) -> float | None:
        """Seconds to wait before another try after failed attempt number ``attempt`` (1-based),
        or ``None`` when the operation must not (or can no more) be retried."""
        if not operation.safe_to_retry or attempt > self.retries:
            return None
        return float(self.backoff * 2 ** (attempt - 1))


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    url: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Done(Generic[T]):
    value: T


@dataclass(frozen=True, slots=True)
class Retry:
    delay: float


class Exchange(Generic[T]):
    """One call from first attempt to result: the request to send and what to do with answers."""

    def __init__(
        self, request: PreparedRequest, operation: Operation[T], policy: RetryPolicy
    ) -> None:
        self.request = request
        self._operation = operation
        self._policy = policy
        self.attempts = 0

    def received(self, status_code: int, body: bytes) -> Done[T] | Retry:
        self.attempts += 1
        if status_code in _RETRY_STATUSES:
            delay = self._policy.delay(self.attempts, self._operation)
            if delay is not None:
                return Retry(delay)
            raise TransportError(
                f"{self._operation.method}: HTTP {status_code} after {self.attempts} attempt(s)",
                status_code=status_code,
            )
        return Done(parse_answer(self._operation, status_code, body))

    def failed(self, error: Exception) -> Retry:
        """The request could not be sent or answered (connect error, timeout, reset)."""
        self.attempts += 1
        delay = self._policy.delay(self.attempts, self._operation)
        if delay is not None:
            return Retry(delay)
        raise TransportError(
            f"{self._operation.method}: {type(error).__name__}: {error} "
            f"(after {self.attempts} attempt(s))"
        ) from error


class ClientCore:
    """Credentials, endpoint and retry policy; makes an ``Exchange`` per call.

    ``identity`` is sent under ``identity_key``: ``app_id`` (1.0, and 2.0 merchant level) or
    ``vendor_sn`` (2.0 service-provider level); ``secret`` is the matching app or vendor secret.
    ``path``: ``GATEWAY_PATH`` (1.0) or ``AGENT_PATH`` (2.0); the envelope and signing are the same.
    """

    def __init__(
        self,
        identity: str,
        secret: str,
        base_url: str,
        policy: RetryPolicy,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
        *,
        identity_key: str = "app_id",
        path: str = GATEWAY_PATH,
    ) -> None:
        if not identity or not secret:
            raise ValueError(f"{identity_key} and its secret are required")
        self.identity = identity
        self.identity_key = identity_key
        self._secret = secret
        self.url = gateway_url(base_url, path)
        self.policy = policy
        self._nonce = nonce

    def __repr__(self) -> str:  # never shows the secret
        return f"ClientCore({self.identity_key}={self.identity!r}, url={self.url!r})"

    def start(self, operation: Operation[T]) -> Exchange[T]:
        return Exchange(self.prepare(operation), operation, self.policy)

    def prepare(self, operation: Operation[Any]) -> PreparedRequest:
        params: dict[str, str | None] = {
            self.identity_key: self.identity,
            "method": operation.method,
            "format": "json",
            "sign_method": "md5",
            "nonce": self._nonce(),
            "version": "1.0",
            "biz_content": jsonwire.dumps(dict(operation.biz)),
        }
        params["sign"] = signing.sign(params, self._secret)
        return PreparedRequest(
            url=self.url,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            body=jsonwire.dumps(params).encode("utf-8"),
        )


def parse_answer(operation: Operation[T], status_code: int, body: bytes) -> T:
    """The typed ``data`` of a success envelope; raises ``ApiError`` for a failure envelope and
    ``InvalidResponse`` for anything else."""
    envelope = _envelope(operation.method, status_code, body)
    result_code = _result_code(operation.method, envelope, status_code)
    if result_code != 200:
        sub_code = envelope.get("sub_code")
        sub_code = sub_code if isinstance(sub_code, str) else ""
        message = envelope.get("result_message")
        message = message if isinstance(message, str) else ""
        raise error_class(result_code, sub_code)(result_code, sub_code, message)
    if status_code != 200:
        raise InvalidResponse(
            f"{operation.method}: HTTP {status_code} with a success envelope",
            status_code=status_code,
        )
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise InvalidResponse(f"{operation.method}: success without a data object")
    try:
        return operation.parse(data)
    except reading.ShapeError as exc:
        raise InvalidResponse(f"{operation.method}: {exc}", status_code=status_code) from exc


def error_class(result_code: int, sub_code: str) -> type[ApiError]:
    """The most specific ``ApiError``: by ``sub_code``, then by the 2.0 ``result_code``."""
    by_sub_code = _ERRORS_BY_SUB_CODE.get(sub_code)
    if by_sub_code is not None:
        return by_sub_code
    return _ERRORS_BY_RESULT_CODE.get(result_code, ApiError)


def _envelope(method: str, status_code: int, body: bytes) -> dict[str, Any]:
    try:
        value = jsonwire.loads(body.decode("utf-8").removeprefix("\ufeff"))
    except (UnicodeDecodeError, jsonwire.JsonError):
        preview = body[:80].decode("utf-8", "replace")
        raise InvalidResponse(
            f"{method}: HTTP {status_code}, not a JSON answer: {preview!r}",
            status_code=status_code,
        ) from None
    if not isinstance(value, dict):
        raise InvalidResponse(f"{method}: the answer is not a JSON object", status_code=status_code)
    return value


def _result_code(method: str, envelope: Mapping[str, Any], status_code: int) -> int:
    value = envelope.get("result_code")
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidResponse(
            f"{method}: the answer has no numeric result_code", status_code=status_code
        )
    return value
