"""What the simulator is told at start-up: the service providers it knows and its timings."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

__all__ = ["DEFAULT_NOTIFY_SCHEDULE", "PLATFORM_MODES", "SimulatorConfig", "SpMerchant"]

# WeChat's documented retry intervals (seconds) after a failed notification delivery.
DEFAULT_NOTIFY_SCHEDULE: tuple[float, ...] = (
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
)  # fmt: skip


PLATFORM_MODES = ("public_key", "certificate")
"""How WeChat signs: "WeChat Pay public key" mode (``PUB_KEY_ID_…``) or platform certificates."""


@dataclass(frozen=True)
class SpMerchant:
    """A service provider (服务商) as WeChat knows it. The simulator holds only the *public* half
    of the provider's API key; the APIv3 key encrypts the notifications sent to it."""

    sp_mchid: str
    sp_appids: Sequence[str]
    api_public_key_pem: bytes
    api_serial_no: str
    apiv3_key: str
    sub_merchants: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """sub_mchid -> the sub_appids bound to it (may be empty)."""

    def __post_init__(self) -> None:
        if len(self.apiv3_key.encode("utf-8")) != 32:
            raise ValueError("apiv3_key must be 32 ASCII characters (an AES-256 key)")


@dataclass(frozen=True)
class SimulatorConfig:
    data_dir: Path | None
    """Where keys and state live; ``None`` keeps everything in memory (fresh keys every run)."""
    merchants: Sequence[SpMerchant]
    notify_schedule: Sequence[float] = DEFAULT_NOTIFY_SCHEDULE
    time_scale: float = 1.0
    """Multiplies every simulated delay (retry intervals, refund settlement); 0.01 in tests."""
    refund_delay_seconds: float = 2.0
    notify_timeout: float = 5.0
    latency_ms: int = 0
    """Initial artificial latency added to every v3 API answer (changeable at run time)."""
    clock: Callable[[], datetime] | None = None
    """Returns an aware ``datetime``; defaults to the system clock."""
    order_paid_code: str = "ORDERPAID"
    """The code answered for "order already paid"; secondary sources also show ``ORDER_PAID``."""
    password_seconds: float = 5.0
    """A payment code ending in 1111: the payer enters the password this long after the charge
    (scaled by ``time_scale``)."""
    payer_name: str = "sandbox-payer"
    """The test payer who scans QR codes and consents to OAuth (openids derive from it)."""
    payer_openids: Mapping[str, str] = field(default_factory=dict)
    """appid -> the test payer's openid under that app (else one derived from ``payer_name``)."""
    app_secrets: Mapping[str, str] = field(default_factory=dict)
    """appid -> AppSecret the OAuth code exchange checks (an appid without one accepts any)."""
    bill_ready_hour: float | None = 9.0
    """A day's trade bill can be applied for from this China-time hour of the next day (before:
    ``STATEMENT_CREATING``); ``None`` makes it available at once, today's too (the sandbox)."""
    bill_fee_rate_percent: Decimal = Decimal("0.60")
    """The fee rate printed on trade bills (费率), per cent."""
    bill_fee_rates: Mapping[str, Decimal] = field(default_factory=dict)
    """sub_mchid -> its own fee rate, per cent."""
    bill_url_seconds: float = 300.0
    """How long a bill's ``download_url`` works."""
    bill_bom: bool = False
    """Start bills with a UTF-8 BOM (some real bills do; parsers must cope)."""
    bill_crlf: bool = False
    """End bill lines with ``\\r\\n`` (some real bills do)."""
    platform_mode: str = "public_key"
    """How notifications (and answers to requests that name no ``Wechatpay-Serial``) are signed:
    ``public_key`` (``Wechatpay-Serial: PUB_KEY_ID_…``) or ``certificate`` (the serial of the
    platform certificate in effect). Answers follow the serial a request names."""
    platform_certificate_days: float = 1825.0
    """Validity of the platform certificates the simulator issues (WeChat's: five years)."""

    def __post_init__(self) -> None:
        if self.platform_mode not in PLATFORM_MODES:
            raise ValueError(f"platform_mode must be one of {', '.join(PLATFORM_MODES)}")
