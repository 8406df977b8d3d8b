"""Settings, read once at start-up (from ``JUBAO_*`` environment variables and CLI options) and
passed in. Nothing reads the environment anywhere else."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

__all__ = ["WECHAT_NOTIFY_SCHEDULE", "Settings"]

# WeChat's own notification schedule (seconds), used for merchant notifications too.
WECHAT_NOTIFY_SCHEDULE: tuple[float, ...] = (
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path(".jubao")
    database_url: str = ""  # default: sqlite file in data_dir
    host: str = "127.0.0.1"
    port: int = 8600
    public_url: str = ""  # how the channel reaches us (notify_url); default http://host:port
    admin_token: str = field(default="", repr=False)
    max_body_bytes: int = 64 * 1024
    request_timeout_seconds: float = 30.0  # whole gateway request; 0 = no limit
    rate_limit_per_second: float = 200.0  # per app_id, per process; 0 = off
    rate_limit_burst: int = 400
    # secrets at rest: base64url 32-byte key sealing app secrets; older keys still open values
    master_key: str = field(default="", repr=False)
    master_key_old: str = field(default="", repr=False)  # comma-separated
    order_expire_seconds: int = 7200
    reconcile_after_seconds: float = 10.0  # query asks the channel about unpaid orders this quiet
    refund_reconcile_after_seconds: float = 30.0
    pending_reconcile_seconds: float = 120.0  # background check of unpaid orders this quiet
    maintenance_interval_seconds: float = 5.0
    # payment codes: how long the gateway waits for the payer to confirm before it reverses, and
    # how often it asks the channel meanwhile
    barcode_pay_timeout_seconds: float = 60.0
    barcode_poll_seconds: float = 2.0
    notify_schedule: tuple[float, ...] = WECHAT_NOTIFY_SCHEDULE
    notify_timeout_seconds: float = 5.0
    notify_concurrency: int = 32
    notify_lease_seconds: float = 60.0
    notify_allow_private: bool = False  # the sandbox allows loopback receivers
    wechat_base_url: str = "https://api.mch.weixin.qq.com"
    wechat_timeout_seconds: float = 10.0
    sp_mchid: str = ""
    sp_appid: str = ""
    sp_serial_no: str = ""
    sp_private_key_file: str = ""
    sp_private_key_passphrase: str = field(default="", repr=False)  # for an encrypted PKCS#8 PEM
    apiv3_key: str = field(default="", repr=False)
    wechat_public_key_file: str = ""
    wechat_public_key_id: str = ""
    log_level: str = "INFO"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'jubao.sqlite3'}"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def channel_notify_url(self) -> str:
        return f"{self.resolved_public_url}/channel/wechatpay/notify"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``JUBAO_<FIELD>`` variables, then explicit (non-None) overrides."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = source.get(f"JUBAO_{item.name.upper()}")
            if raw is not None and raw != "":
                values[item.name] = _coerce(item.name, raw, getattr(cls(), item.name))
        values.update({key: value for key, value in overrides.items() if value is not None})
        return replace(cls(), **values)


def _coerce(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, Path):
        return Path(raw)
    if isinstance(default, tuple):
        return tuple(float(part) for part in raw.split(",") if part.strip())
    return raw
