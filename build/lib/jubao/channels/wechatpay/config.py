"""Configuration of the WeChat Pay v3 partner channel. Read once, passed in; secrets never print."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["DEFAULT_BASE_URL", "WechatPayConfig"]

DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"
APIV3_KEY_LENGTH = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class WechatPayConfig:
    """Everything the channel needs to talk to WeChat Pay as a service provider (服务商).

    ``base_url`` may carry a path prefix (the sandbox mounts its simulator under one); it is part
    of the signed URL. The platform side is verified in "WeChat Pay public key" mode: responses and
    notifications must carry ``Wechatpay-Serial == public_key_id``.
    """

    base_url: str = DEFAULT_BASE_URL
    sp_mchid: str
    sp_appid: str
    private_key_pem: bytes = field(repr=False)
    serial_no: str
    apiv3_key: str = field(repr=False)
    platform_public_key_pem: bytes = field(repr=False)
    public_key_id: str
    timeout: float = 10.0
    notify_window_seconds: int = 300

    def __post_init__(self) -> None:
        # Fail at start-up, not on the first notification: a wrong-length key can never decrypt.
        if len(self.apiv3_key) != APIV3_KEY_LENGTH or not self.apiv3_key.isascii():
            raise ValueError("apiv3_key must be exactly 32 ASCII characters")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {self.base_url!r}")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not carry a query or fragment")
        for name in ("sp_mchid", "sp_appid", "serial_no", "public_key_id"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        if self.timeout <= 0 or self.notify_window_seconds <= 0:
            raise ValueError("timeout and notify_window_seconds must be positive")
