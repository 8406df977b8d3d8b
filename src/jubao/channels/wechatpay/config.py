"""Configuration of the WeChat Pay v3 partner channel. Read once, passed in; secrets never print."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["DEFAULT_BASE_URL", "PLATFORM_MODES", "WechatPayConfig"]

DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"
APIV3_KEY_LENGTH = 32
PLATFORM_MODES = ("public_key", "certificate")


@dataclass(frozen=True, slots=True, kw_only=True)
class WechatPayConfig:
    """Everything the channel needs to talk to WeChat Pay as a service provider (服务商).

    ``base_url`` may carry a path prefix (the sandbox mounts its simulator under one); it is part
    of the signed URL. ``platform_mode`` says how WeChat's answers and notifications are verified:

    * ``public_key`` ("WeChat Pay public key"): ``Wechatpay-Serial`` must be ``public_key_id`` and
      ``platform_public_key_pem`` verifies;
    * ``certificate`` (platform certificates, merchants onboarded before the public key): the
      certificates are downloaded from ``/v3/certificates`` and the one ``Wechatpay-Serial`` names
      verifies. A public key configured as well is accepted beside them (a merchant moving to
      public-key mode receives both kinds for a while).
    """

    base_url: str = DEFAULT_BASE_URL
    sp_mchid: str
    sp_appid: str
    private_key_pem: bytes = field(repr=False)
    serial_no: str
    apiv3_key: str = field(repr=False)
    platform_public_key_pem: bytes | None = field(default=None, repr=False)
    public_key_id: str = ""
    timeout: float = 10.0
    notify_window_seconds: int = 300
    platform_mode: str = "public_key"
    rsa_threads: bool = True
    """Sign on worker threads (``channels.offload``); ``jubao serve`` signs inline."""
    certificate_refresh_seconds: float = 12 * 3600
    """Certificate mode: download the certificates again after this long."""
    certificate_renew_before_seconds: float = 7 * 86400
    """Certificate mode: ... and once the last one expires within this long."""
    certificate_retry_gap_seconds: float = 60.0
    """Certificate mode: downloads forced by an unknown serial or an expiry are this far apart."""

    def __post_init__(self) -> None:
        # Fail at start-up, not on the first notification: a wrong-length key can never decrypt.
        if len(self.apiv3_key) != APIV3_KEY_LENGTH or not self.apiv3_key.isascii():
            raise ValueError("apiv3_key must be exactly 32 ASCII characters")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {self.base_url!r}")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not carry a query or fragment")
        for name in ("sp_mchid", "sp_appid", "serial_no"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        if self.platform_mode not in PLATFORM_MODES:
            raise ValueError(f"platform_mode must be one of {', '.join(PLATFORM_MODES)}")
        if (self.platform_public_key_pem is None) != (not self.public_key_id):
            raise ValueError("platform_public_key_pem and public_key_id go together")
        if self.platform_mode == "public_key" and not self.public_key_id:
            raise ValueError("public-key mode needs platform_public_key_pem and public_key_id")
        if self.timeout <= 0 or self.notify_window_seconds <= 0:
            raise ValueError("timeout and notify_window_seconds must be positive")
