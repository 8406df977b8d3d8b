"""``JubaoV2Client``: the blocking Open API 2.0 shell around ``AgentCore`` and ``httpx.Client``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx

from jubao.client import operations as ops_v1
from jubao.client.core import DEFAULT_RETRIES, DEFAULT_TIMEOUT, RetryPolicy
from jubao.client.shells import SyncShell
from jubao.client.v2 import operations as ops
from jubao.client.v2.credentials import AgentCore, Credentials
from jubao.client.v2.request_models import (
    CallbackConfigRequest,
    CloseRequest,
    CreateOrderRequest,
    FixedQrcodeRequest,
    OrderQueryRequest,
    PayRequest,
    QrcodeOrderRequest,
    RefundQueryRequest,
    RefundRequest,
    WapOrderRequest,
)
from jubao.client.v2.response_models import (
    CallbackConfig,
    ClosedOrder,
    CreatedOrder,
    FixedQrcode,
    Order,
    QrcodeOrder,
    Refund,
    WapOrder,
)

__all__ = ["JubaoV2Client"]

T = TypeVar("T")


class JubaoV2Client(SyncShell):
    """A blocking Open API 2.0 client (``/gateway/agent``). Use it as a context manager, or call
    ``close()``.

    ``credentials``: ``AppCredentials`` (merchant level) or ``VendorCredentials`` (service
    provider; every call names its ``merchant_id``). ``base_url``: the gateway's origin
    (``http://127.0.0.1:8600``) or the full ``.../gateway/agent`` URL. ``retries``, ``backoff``,
    ``timeout`` and ``transport`` as for ``JubaoClient``.
    """

    def __init__(
        self,
        credentials: Credentials,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = 0.2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._core = AgentCore(credentials, base_url, RetryPolicy(retries, backoff))
        super().__init__(self._core, timeout, transport)

    def __repr__(self) -> str:
        return f"JubaoV2Client({self._core.credentials!r}, url={self._core.url!r})"

    def pay(self, request: PayRequest) -> Order:
        """The payment code's order: ``SUCCESS``, or ``USERPAYING`` while the payer confirms
        (poll ``query``). A declined code raises ``ApiError``."""
        return self._execute(ops.pay(request))

    def create(self, request: CreateOrderRequest) -> CreatedOrder:
        return self._execute(ops.create(request))

    def query(self, request: OrderQueryRequest) -> Order:
        return self._execute(ops.query(request))

    def close_order(self, request: CloseRequest) -> ClosedOrder:
        return self._execute(ops.close_order(request))

    def refund(self, request: RefundRequest) -> Refund:
        return self._execute(ops.refund(request))

    def refund_query(self, request: RefundQueryRequest) -> Refund:
        return self._execute(ops.refund_query(request))

    def qrcode(self, request: QrcodeOrderRequest) -> QrcodeOrder:
        return self._execute(ops.qrcode(request))

    def fixed_qrcode(self, request: FixedQrcodeRequest) -> FixedQrcode:
        return self._execute(ops.fixed_qrcode(request))

    def wap_create(self, request: WapOrderRequest) -> WapOrder:
        return self._execute(ops.wap_create(request))

    def callback_config(self, request: CallbackConfigRequest) -> CallbackConfig:
        return self._execute(ops.callback_config(request))

    def call(
        self, method: str, biz: Mapping[str, Any], *, safe_to_retry: bool = False
    ) -> dict[str, Any]:
        """Any 2.0 method by name (vendor level: ``merchant_id`` added as for the typed calls);
        returns the answer's ``data`` object."""
        return self._execute(ops_v1.raw_call(method, biz, safe_to_retry=safe_to_retry))
