"""Configuration of the Alipay OpenAPI channel (ISV mode, public-key mode). Secrets never print."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["DEFAULT_GATEWAY_URL", "DEFAULT_OAUTH_AUTHORIZE_URL", "AlipayConfig"]

DEFAULT_GATEWAY_URL = "https://openapi.alipay.com/gateway.do"
# Where a page inside Alipay sends the buyer to authorise it (user authorisation, auth_base).
DEFAULT_OAUTH_AUTHORIZE_URL = "https://openauth.alipay.com/oauth2/publicAppAuthorize.htm"
# Alipay's retries of one notification span about 25 hours (8 deliveries); older ones are replays.
DEFAULT_NOTIFY_MAX_AGE_SECONDS = 2 * 86400


@dataclass(frozen=True, slots=True, kw_only=True)
class AlipayConfig:
    """Everything the channel needs to call Alipay as an ISV (第三方应用) acting for merchants.

    ``app_id`` is the ISV's app; each merchant is reached through its ``app_auth_token`` (the
    binding's ``auth_token``). Keys may be PEM or bare base64, PKCS#1 or PKCS#8 (RSA-2048).
    ``alipay_public_key`` verifies every answer and notification ("public-key mode";
    certificate mode is not implemented). The product codes follow the merchant's contract.
    """

    gateway_url: str = DEFAULT_GATEWAY_URL
    app_id: str
    app_private_key: str = field(repr=False)
    alipay_public_key: str = field(repr=False)
    timeout: float = 10.0
    notify_max_age_seconds: int = DEFAULT_NOTIFY_MAX_AGE_SECONDS
    precreate_product_code: str = "FACE_TO_FACE_PAYMENT"
    jsapi_product_code: str = "JSAPI_PAY"
    sys_service_provider_id: str | None = None
    """The ISV's own PID, sent as ``extend_params.sys_service_provider_id`` (rebate tagging)."""
    oauth_authorize_url: str = DEFAULT_OAUTH_AUTHORIZE_URL
    """Alipay's user-authorisation page (``publicAppAuthorize.htm``); a simulator's elsewhere."""
    rsa_threads: bool = True
    """Sign and verify on worker threads (``channels.offload``); ``jubao serve`` does it inline."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.gateway_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"gateway_url must be an absolute http(s) URL: {self.gateway_url!r}")
        if parts.query or parts.fragment:
            raise ValueError("gateway_url must not carry a query or fragment")
        oauth = urlsplit(self.oauth_authorize_url)
        if oauth.scheme not in ("http", "https") or not oauth.netloc or oauth.query:
            raise ValueError(
                f"oauth_authorize_url must be an absolute http(s) URL: {self.oauth_authorize_url!r}"
            )
        if not self.app_id:
            raise ValueError("app_id is required")
        if self.timeout <= 0 or self.notify_max_age_seconds <= 0:
            raise ValueError("timeout and notify_max_age_seconds must be positive")
