"""Who calls Open API 2.0, and the sans-IO core that signs as them.

- ``AppCredentials``: merchant level, ``app_id`` + app secret (the same pair as 1.0); the app is
  one merchant, so requests leave ``merchant_id`` out.
- ``VendorCredentials``: service-provider (agent) level, ``vendor_sn`` + vendor secret; every call
  names the merchant it acts for: the request's ``merchant_id``, else the credentials' default.

``AgentCore`` wraps ``jubao.client.core.ClientCore`` (the 1.0 core: same envelope, MD5 signing,
answer parsing and retry policy) pointed at ``/gateway/agent``, and puts the merchant scope into
each operation before it is signed.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from jubao.client.core import AGENT_PATH, ClientCore, Exchange, PreparedRequest, RetryPolicy
from jubao.client.operations import Operation
from jubao.client.v2.request_models import check_merchant_id

__all__ = ["AgentCore", "AppCredentials", "Credentials", "VendorCredentials"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AppCredentials:
    """Merchant level: the app's ``app_id`` and app secret."""

    app_id: str
    app_secret: str = dataclasses.field(repr=False)


@dataclass(frozen=True, slots=True)
class VendorCredentials:
    """Service-provider level: ``vendor_sn`` and the vendor secret; ``merchant_id`` is the merchant
    acted for when a request names none (``None``: every request must name one)."""

    vendor_sn: str
    vendor_secret: str = dataclasses.field(repr=False)
    merchant_id: int | None = None

    def __post_init__(self) -> None:
        check_merchant_id(self.merchant_id)


Credentials = AppCredentials | VendorCredentials


class AgentCore:
    """Credentials, endpoint and retry policy for 2.0; makes an ``Exchange`` per call."""

    def __init__(
        self,
        credentials: Credentials,
        base_url: str,
        policy: RetryPolicy,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        self.credentials = credentials
        if isinstance(credentials, VendorCredentials):
            key, identity, secret = "vendor_sn", credentials.vendor_sn, credentials.vendor_secret
        else:
            key, identity, secret = "app_id", credentials.app_id, credentials.app_secret
        self._core = ClientCore(
            identity, secret, base_url, policy, nonce, identity_key=key, path=AGENT_PATH
        )
        self.url = self._core.url

    def __repr__(self) -> str:  # never shows the secret
        return f"AgentCore({self.credentials!r}, url={self.url!r})"

    def start(self, operation: Operation[T]) -> Exchange[T]:
        return self._core.start(self.scoped(operation))

    def prepare(self, operation: Operation[Any]) -> PreparedRequest:
        return self._core.prepare(self.scoped(operation))

    def scoped(self, operation: Operation[T]) -> Operation[T]:
        """The operation as sent: at vendor level with ``merchant_id`` (first in
        ``biz_content``), from the request or the credentials; ``ValueError`` when neither has
        one."""
        credentials = self.credentials
        if not isinstance(credentials, VendorCredentials) or "merchant_id" in operation.biz:
            return operation
        if credentials.merchant_id is None:
            raise ValueError(
                f"{operation.method}: a vendor acts for a merchant: give merchant_id on the "
                "request or VendorCredentials(merchant_id=...)"
            )
        biz = {"merchant_id": credentials.merchant_id, **operation.biz}
        return dataclasses.replace(operation, biz=biz)
