"""``Settings``: one frozen value, read once at start-up and passed in.

Each field's type says what a valid value is (pydantic constraints and validators in
``Annotated``); they are checked when settings are loaded from ``JUBAO_*`` variables, env files
and CLI options (``jubao.config.loading``). Code and tests may still build ``Settings(...)`` and
``dataclasses.replace`` it directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_settings import NoDecode

__all__ = ["LOG_LEVELS", "SECRET_FIELDS", "WECHAT_NOTIFY_SCHEDULE", "Settings"]

# WeChat's own notification schedule (seconds), used for merchant notifications too.
WECHAT_NOTIFY_SCHEDULE: tuple[float, ...] = (
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
)  # fmt: skip

LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def _log_level(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    level = value.strip().upper()
    level = "WARNING" if level == "WARN" else level
    if level not in LOG_LEVELS:
        raise ValueError(f"unknown log level {value!r}")
    return level


def _platform_mode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    chosen = value.strip().lower().replace("-", "_")
    if chosen not in ("public_key", "certificate"):
        raise ValueError(f"unknown WeChat platform mode {value!r}")
    return chosen


def _log_format(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    chosen = value.strip().lower()
    if chosen not in ("text", "json"):
        raise ValueError(f"unknown log format {value!r}")
    return chosen


def _comma_separated(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _non_empty(value: tuple[float, ...]) -> tuple[float, ...]:
    if not value:
        raise ValueError("at least one interval is needed")
    return value


def _database_url(value: str) -> str:
    if value and not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ValueError("unsupported database URL")
    return value


def _http_url(value: str) -> str:
    if value and not value.startswith(("http://", "https://")):
        raise ValueError("not an http(s) URL")
    return value


def _existing_file(value: str) -> str:
    if value and not Path(value).is_file():
        raise ValueError(f"no such file: {value}")
    return value


def _master_keys(value: str) -> str:
    from jubao.errors import SealingError
    from jubao.security.sealing import MasterKey  # the one parser of key text

    for part in value.split(","):
        try:
            if part.strip():
                MasterKey.parse(part)
        except SealingError as exc:
            raise ValueError(exc.detail) from None
    return value


# The value types. ``description`` is the expected form named in error messages.
Port = Annotated[int, Field(ge=1, le=65535, description="a port number from 1 to 65535")]
Count = Annotated[int, Field(ge=1, description="a whole number, 1 or more")]
Seconds = Annotated[
    float, Field(gt=0, allow_inf_nan=False, description="a number of seconds greater than 0")
]
SecondsOrOff = Annotated[
    float, Field(ge=0, allow_inf_nan=False, description="a number of seconds, 0 or more")
]
Hour = Annotated[int, Field(ge=0, le=23, description="an hour of the day, 0 to 23")]
Rate = Annotated[float, Field(ge=0, allow_inf_nan=False, description="a number, 0 or more")]
Flag = Annotated[bool, Field(description="true or false (also 1/0, yes/no, on/off)")]
LogLevel = Annotated[
    str, BeforeValidator(_log_level), Field(description="one of " + ", ".join(LOG_LEVELS))
]
Schedule = Annotated[
    tuple[Annotated[float, Field(gt=0, allow_inf_nan=False)], ...],
    NoDecode,
    BeforeValidator(_comma_separated),
    AfterValidator(_non_empty),
    Field(description="comma-separated seconds, each greater than 0"),
]
DatabaseUrl = Annotated[
    str,
    AfterValidator(_database_url),
    Field(description="sqlite:///FILE or postgresql://USER@HOST:PORT/DB"),
]
Url = Annotated[str, AfterValidator(_http_url), Field(description="an http:// or https:// URL")]
KeyFile = Annotated[
    str, AfterValidator(_existing_file), Field(description="the path of a readable file")
]
MasterKeys = Annotated[
    str,
    AfterValidator(_master_keys),
    Field(description="32 random bytes in base64url (`jubao secrets new-key`), comma-separated"),
]
LogFormat = Annotated[str, BeforeValidator(_log_format), Field(description="text or json")]
Host = Annotated[str, Field(min_length=1, description="a host name or IP address")]
PlatformMode = Annotated[
    str, BeforeValidator(_platform_mode), Field(description="public_key or certificate")
]


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path(".jubao")
    database_url: DatabaseUrl = ""  # default: sqlite file in data_dir
    host: Host = "127.0.0.1"
    port: Port = 8600
    public_url: Url = ""  # how the channel reaches us (notify_url); default http://host:port
    admin_token: str = field(default="", repr=False)
    max_body_bytes: Count = 64 * 1024  # POST /gateway
    callback_max_body_bytes: Count = 64 * 1024  # channel notifications (a few KiB in practice)
    console_max_body_bytes: Count = 16 * 1024  # console form posts (a few fields each)
    request_timeout_seconds: SecondsOrOff = 30.0  # whole gateway request; 0 = no limit
    rate_limit_per_second: Rate = 200.0  # per app_id, per process; 0 = off
    rate_limit_burst: Count = 400
    # secrets at rest: base64url 32-byte key sealing app secrets; older keys still open values
    master_key: MasterKeys = field(default="", repr=False)
    master_key_old: MasterKeys = field(default="", repr=False)  # comma-separated
    order_expire_seconds: Count = 7200
    reconcile_after_seconds: SecondsOrOff = 10.0  # query asks the channel about quiet unpaid orders
    refund_reconcile_after_seconds: SecondsOrOff = 30.0
    pending_reconcile_seconds: SecondsOrOff = 120.0  # background check of quiet unpaid orders
    maintenance_interval_seconds: Seconds = 5.0
    # `jubao worker` reconciles yesterday's channel statements once this China-time hour has
    # come (WeChat publishes its trade bill after 10:00, Alipay its bill in the morning)
    reconciliation_hour: Hour = 10
    reconciliation_check_seconds: Seconds = 300.0
    # payment codes: how long the gateway waits for the payer to confirm before it reverses, and
    # how often it asks the channel meanwhile
    barcode_pay_timeout_seconds: Seconds = 60.0
    barcode_poll_seconds: Seconds = 2.0
    notify_schedule: Schedule = WECHAT_NOTIFY_SCHEDULE
    notify_timeout_seconds: Seconds = 5.0
    notify_concurrency: Count = 32
    notify_lease_seconds: Seconds = 60.0
    notify_allow_private: Flag = False  # the sandbox allows loopback receivers
    wechat_base_url: Url = "https://api.mch.weixin.qq.com"
    wechat_timeout_seconds: Seconds = 10.0
    sp_mchid: str = ""
    sp_appid: str = ""
    sp_serial_no: str = ""
    sp_private_key_file: KeyFile = ""
    sp_private_key_passphrase: str = field(default="", repr=False)  # for an encrypted PKCS#8 PEM
    apiv3_key: str = field(default="", repr=False)
    wechat_public_key_file: KeyFile = ""
    wechat_public_key_id: str = ""
    # how WeChat's answers and notifications are verified: the "WeChat Pay public key" (the two
    # settings above) or platform certificates downloaded from /v3/certificates (merchants
    # onboarded before the public key); docs/wechatpay-channel.md
    wechat_platform_mode: PlatformMode = "public_key"
    # official-account web OAuth (openapi.payment.auth.auth): WeChat's two endpoints (the sandbox
    # points them at its simulator) and the service provider's official account's AppSecret
    wechat_oauth_authorize_url: Url = "https://open.weixin.qq.com/connect/oauth2/authorize"
    wechat_oauth_token_url: Url = "https://api.weixin.qq.com/sns/oauth2/access_token"  # noqa: S105
    wechat_app_secret: str = field(default="", repr=False)
    # Alipay (ISV, public-key mode): configured when alipay_app_id is set (docs/alipay-channel.md)
    alipay_gateway_url: Url = "https://openapi.alipay.com/gateway.do"
    alipay_app_id: str = ""
    alipay_private_key_file: KeyFile = ""  # the app's RSA private key (PEM or bare base64)
    alipay_public_key_file: KeyFile = ""  # Alipay's public key (PEM or bare base64)
    alipay_timeout_seconds: Seconds = 10.0
    alipay_sys_service_provider_id: str = ""  # the ISV's own PID (rebate tagging), optional
    # Alipay's user-authorisation page (the cashier page's buyer id; the sandbox: its simulator)
    alipay_oauth_authorize_url: Url = "https://openauth.alipay.com/oauth2/publicAppAuthorize.htm"
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"  # json: one JSON object per line, for log collectors
    # `jubao serve`: processes, and whether to trust a reverse proxy's forwarded headers
    workers: Count = 1
    # the channels' RSA signatures on worker threads rather than inline: off, since one process
    # per core gains nothing from them (docs/benchmarks.md); the sandbox always uses them
    rsa_threads: Flag = False
    proxy_headers: Flag = False
    forwarded_allow_ips: Host = "127.0.0.1"
    # an env file read before the environment (``jubao simulator`` writes DATA_DIR/channel.env)
    env_file: KeyFile = ""
    # run without JUBAO_MASTER_KEY on purpose (app secrets stored in plaintext)
    allow_plaintext_secrets: Flag = False

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
        """Defaults, then ``.env`` and ``JUBAO_ENV_FILE``, then ``JUBAO_<FIELD>`` variables (or
        ``JUBAO_<SECRET>_FILE``), then explicit (non-None) overrides. ``env`` given: only that
        mapping is read (no ``.env``). Raises ``ConfigError`` naming every bad variable."""
        from jubao.config.loading import load_settings

        return load_settings(env, **overrides)


# Values that never appear in logs, reprs or `jubao config check`; each may also be given as
# the content of a file named by JUBAO_<NAME>_FILE.
SECRET_FIELDS: tuple[str, ...] = tuple(
    item.name for item in Settings.__dataclass_fields__.values() if not item.repr
)
