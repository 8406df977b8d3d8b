"""``JubaoClient``: the blocking shell around ``ClientCore`` and ``httpx.Client``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx

from jubao.client import operations as ops
from jubao.client.core import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    ClientCore,
    RetryPolicy,
)
from jubao.client.request_models import (
    AlipayH5Request,
    AuthRequest,
    CloseRequest,
    H5payRequest,
    MinaRequest,
    OrderQueryRequest,
    RefundQueryRequest,
    RefundRequest,
    RefundStatisticsRequest,
    ReverseRequest,
    ScanRequest,
    SwipeRequest,
)
from jubao.client.response_models import (
    AlipayH5Response,
    AuthUrl,
    CloseResponse,
    H5payResponse,
    MinaResponse,
    Order,
    Refund,
    RefundStatistics,
    ReverseResponse,
    ScanResponse,
    ServerTime,
)
from jubao.client.shells import SyncShell

__all__ = ["JubaoClient"]

T = TypeVar("T")


class JubaoClient(SyncShell):
    """A blocking Open API client. Use it as a context manager, or call ``close()``.

    ``base_url``: the gateway's origin (``http://127.0.0.1:8600``) or the full ``.../gateway`` URL.
    ``retries``: extra attempts for calls that are safe to retry (see ``jubao.client.operations``),
    after transport failures and HTTP 429/5xx, waiting ``backoff``, ``2*backoff``, ... seconds.
    ``transport``: any ``httpx.BaseTransport`` (``httpx.MockTransport`` in tests).
    """

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = 0.2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._core = ClientCore(app_id, app_secret, base_url, RetryPolicy(retries, backoff))
        super().__init__(self._core, timeout, transport)

    def __repr__(self) -> str:
        return f"JubaoClient(app_id={self._core.identity!r}, url={self._core.url!r})"

    def mina(self, request: MinaRequest) -> MinaResponse:
        return self._execute(ops.mina(request))

    def swipe(self, request: SwipeRequest) -> Order:
        """The payment code's order: ``SUCCESS``, or ``USERPAYING`` while the payer confirms
        (the gateway waits, then reverses; poll ``query``). A declined code raises ``ApiError``."""
        return self._execute(ops.swipe(request))

    def scan(self, request: ScanRequest) -> ScanResponse:
        return self._execute(ops.scan(request))

    def h5pay(self, request: H5payRequest) -> H5payResponse:
        return self._execute(ops.h5pay(request))

    def alipay_h5(self, request: AlipayH5Request) -> AlipayH5Response:
        return self._execute(ops.alipay_h5(request))

    def reverse(self, request: ReverseRequest) -> ReverseResponse:
        return self._execute(ops.reverse(request))

    def auth_url(self, request: AuthRequest) -> AuthUrl:
        return self._execute(ops.auth_url(request))

    def query(self, request: OrderQueryRequest) -> Order:
        return self._execute(ops.query(request))

    def close_order(self, request: CloseRequest) -> CloseResponse:
        return self._execute(ops.close_order(request))

    def refund(self, request: RefundRequest) -> Refund:
        return self._execute(ops.refund(request))

    def refund_query(self, request: RefundQueryRequest) -> Refund:
        return self._execute(ops.refund_query(request))

    def refund_statistics(self, request: RefundStatisticsRequest) -> RefundStatistics:
        return self._execute(ops.refund_statistics(request))

    def get_time(self) -> ServerTime:
        return self._execute(ops.get_time())

    def call(
        self, method: str, biz: Mapping[str, Any], *, safe_to_retry: bool = False
    ) -> dict[str, Any]:
        """Any Open API method by name; returns the answer's ``data`` object."""
        return self._execute(ops.raw_call(method, biz, safe_to_retry=safe_to_retry))
