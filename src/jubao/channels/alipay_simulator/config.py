"""What the Alipay simulator is told at start-up: the ISV app it serves, the merchants that
authorised it, its own key pair, and its timings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

__all__ = ["DEFAULT_NOTIFY_SCHEDULE", "AlipayMerchant", "AlipaySimulatorConfig"]

# Alipay's waits (seconds) between deliveries of one notification: 8 deliveries in ~25 hours.
DEFAULT_NOTIFY_SCHEDULE: tuple[float, ...] = (240, 600, 600, 3600, 7200, 21600, 54000)


@dataclass(frozen=True)
class AlipayMerchant:
    """A merchant that authorised the ISV app: its PID (2088 + 12 digits), the
    ``app_auth_token`` the ISV calls it with, and its own app (``auth_app_id`` in notices)."""

    pid: str
    app_auth_token: str = field(repr=False)
    auth_app_id: str = ""


@dataclass(frozen=True)
class AlipaySimulatorConfig:
    """``app_public_key`` verifies the ISV app's requests; ``alipay_private_key`` signs the
    simulator's answers and notifications (its public half is what the ISV configures as
    "Alipay's public key"). Keys are PEM or bare base64 text; generate a set with
    ``generate_sandbox_keys`` and keep it out of version control."""

    data_dir: Path | None
    """Where the trades live (SQLite); ``None`` keeps everything in memory."""
    app_id: str
    app_public_key: str = field(repr=False)
    alipay_private_key: str = field(repr=False)
    isv_pid: str = "2088000000000001"
    """The ISV's own seller id, for calls without an ``app_auth_token``."""
    merchants: Sequence[AlipayMerchant] = ()
    notify_schedule: Sequence[float] = DEFAULT_NOTIFY_SCHEDULE
    time_scale: float = 1.0
    """Multiplies every simulated delay (retries, the password wait, the refund window)."""
    password_delay_seconds: float = 5.0
    refund_window_seconds: float = 365 * 86400
    notify_timeout: float = 5.0
    latency_ms: int = 0
    refund_notifications: bool = False
    """Alipay sends refund notices only when the merchant asks for them; off by default."""
    clock: Callable[[], datetime] | None = None
    same_day_bills: bool = False
    """Serve a day's bill at once (the sandbox, so that today can be reconciled); Alipay itself
    makes it on the next day and answers ``BILL_NOT_EXIST`` before."""
    authorising_buyer: str = "test-buyer"
    """Who consents on the user-authorisation page and pays through the JS bridge: a test
    buyer's name or a 2088… user id."""
