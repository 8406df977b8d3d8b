"""``AlipaySimulator``: the simulated Alipay's identity, clock, books, behaviour switches and
background work (password confirmations, notification deliveries). The API methods live in
``operations``, the gateway pipeline in ``gateway``, the HTTP surface in ``app``.

State changes run on the event loop without awaiting in between, so each operation is atomic
against concurrent requests."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from jubao.channels.alipay_simulator.config import AlipayMerchant, AlipaySimulatorConfig
from jubao.channels.alipay_simulator.errors import GatewayError
from jubao.channels.alipay_simulator.keys import private_key, public_key, public_text
from jubao.channels.alipay_simulator.ledger import Ledger
from jubao.channels.alipay_simulator.models import PAID_STATES, Notification, Refund, Trade
from jubao.channels.alipay_simulator.notifier import Notifier
from jubao.channels.alipay_simulator.oauth import AuthGrant
from jubao.channels.alipay_simulator.rules import china_text, yuan
from jubao.channels.alipay_simulator.wire import compact, rsa2_sign, sign_string

__all__ = ["FAULT_KINDS", "NOTIFICATION_MODES", "AlipaySimulator", "Seller"]

log = logging.getLogger(__name__)

NOTIFICATION_MODES = ("normal", "drop", "duplicate")
# unavailable: 20000 isp.unknow-error; system_error: 40004 ACQ.SYSTEM_ERROR; limited: 40005;
# http_500: a bare HTTP 500; bad_sign: a well-formed answer whose signature does not verify;
# retry_flag: alipay.trade.cancel answers retry_flag=Y and does nothing (call again).
FAULT_KINDS = ("unavailable", "system_error", "limited", "http_500", "bad_sign", "retry_flag")


@dataclass(frozen=True)
class Seller:
    """Who a call acts for: the merchant behind an ``app_auth_token``, or the ISV itself."""

    pid: str
    auth_app_id: str


@dataclass
class Fault:
    kind: str
    remaining: int
    method: str | None = None


class AlipaySimulator:
    def __init__(
        self, config: AlipaySimulatorConfig, http_client: httpx.AsyncClient | None = None
    ) -> None:
        self.config = config
        self.app_key = public_key(config.app_public_key)
        self.signer = private_key(config.alipay_private_key)
        self.alipay_public_key = public_text(self.signer)
        self._clock = config.clock or (lambda: datetime.now(UTC))
        self.ledger = Ledger(config.data_dir)
        for merchant in config.merchants:
            self.ledger.merchants.setdefault(merchant.app_auth_token, merchant)
        self.latency_ms = config.latency_ms
        self.notification_mode = "normal"
        self.refund_notifications = config.refund_notifications
        self.faults: list[Fault] = []
        self.bill_tokens: dict[str, tuple[float, str, str]] = {}  # token -> (expiry, pid, day)
        self.auth_grants: dict[str, AuthGrant] = {}  # user authorisation: auth_code -> grant
        self._client = http_client
        self._owns_client = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._deliveries: dict[str, asyncio.Task[None]] = {}  # notify_id -> its delivery round
        self._started = False
        self.notifier = Notifier(
            schedule=config.notify_schedule,
            time_scale=config.time_scale,
            timeout=config.notify_timeout,
            now=self.now,
            persist=self.ledger.save_notification,
            client=self._http,
        )

    # ---- life ---------------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock().timestamp()

    def scaled(self, seconds: float) -> float:
        return seconds * self.config.time_scale

    async def start(self) -> None:
        """Resumes what a restart interrupted: pending deliveries and password waits."""
        if self._started:
            return
        self._started = True
        for notification in self.ledger.notifications.values():
            if notification.state == "pending":
                self._deliver(notification)
        for trade in self.ledger.trades.values():
            if trade.status == "WAIT_BUYER_PAY" and trade.confirm_at is not None:
                self.schedule_confirmation(trade)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await asyncio.to_thread(self.ledger.flush)
        self.ledger.close()
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client, self._owns_client = None, False
        self._started = False

    async def idle(self) -> None:
        """Waits until no background work is running (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---- identities ---------------------------------------------------------------------------

    def seller(self, app_auth_token: str) -> Seller:
        if not app_auth_token:
            return Seller(self.config.isv_pid, self.config.app_id)
        merchant = self.ledger.merchants.get(app_auth_token)
        if merchant is None:
            raise GatewayError("20001", "aop.invalid-app-auth-token", "无效的应用授权令牌")
        return Seller(merchant.pid, merchant.auth_app_id or self.config.app_id)

    def register_merchant(self, merchant: AlipayMerchant) -> None:
        self.ledger.save_merchant(merchant)

    # ---- time ---------------------------------------------------------------------------------

    def refresh(self, trade: Trade) -> Trade:
        """Applies the clock: a password typed, a trade expired, a refund window ended."""
        now = self.now()
        confirm_at = trade.confirm_at
        typed = confirm_at is not None and confirm_at <= now and confirm_at < trade.expire_at
        if trade.status == "WAIT_BUYER_PAY" and typed:
            self.mark_paid(trade, trade.buyer_id, trade.buyer_logon_id, at=confirm_at)
            return trade
        if trade.status in ("WAIT_BUYER_PAY", "UNSCANNED") and trade.expire_at <= now:
            trade.status = "TRADE_CLOSED"
            trade.closed_at = trade.expire_at
            trade.confirm_at = None
            self.ledger.save_trade(trade)
        window_end = (trade.paid_at or now) + self.scaled(self.config.refund_window_seconds)
        if trade.status == "TRADE_SUCCESS" and window_end <= now:
            trade.status = "TRADE_FINISHED"
            self.ledger.save_trade(trade)
        return trade

    def schedule_confirmation(self, trade: Trade) -> None:
        due = trade.confirm_at
        if due is None:
            return

        async def confirm() -> None:
            await asyncio.sleep(max(0.0, due - self.now()))
            self.refresh(trade)  # does nothing if the trade was cancelled meanwhile

        self._spawn(confirm())

    # ---- state changes with consequences --------------------------------------------------

    def mark_paid(
        self, trade: Trade, buyer_id: str, logon_id: str, at: float | None = None
    ) -> None:
        trade.status = "TRADE_SUCCESS"
        trade.paid_at = at if at is not None else self.now()
        trade.buyer_id, trade.buyer_logon_id = buyer_id, logon_id
        trade.confirm_at = None
        self.ledger.save_trade(trade)
        self.notify(trade)

    def close(self, trade: Trade) -> None:
        trade.status = "TRADE_CLOSED"
        trade.closed_at = self.now()
        trade.confirm_at = None
        self.ledger.save_trade(trade)

    def record_refund(self, trade: Trade, refund: Refund) -> None:
        trade.refunded_fen += refund.refund_fen
        if trade.refunded_fen >= trade.total_fen:
            trade.status = "TRADE_CLOSED"
            trade.closed_at = refund.at
        self.ledger.save_refund(refund)
        self.ledger.save_trade(trade)
        if self.refund_notifications:
            self.notify(trade, refund)

    # ---- notifications ------------------------------------------------------------------------

    def notification_fields(self, trade: Trade, refund: Refund | None = None) -> dict[str, str]:
        """The §5 field set, no empty values (python-alipay-sdk's verifier keeps empties)."""
        assert trade.paid_at is not None
        amount = yuan(trade.total_fen)
        fields = {
            "notify_time": china_text(self.now()),
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "app_id": self.config.app_id,
            "auth_app_id": self.seller_app(trade),
            "charset": "utf-8",
            "version": "1.0",
            "sign_type": "RSA2",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": amount,
            "receipt_amount": amount,
            "invoice_amount": amount,
            "buyer_pay_amount": amount,
            "point_amount": "0.00",
            "gmt_create": china_text(trade.created_at),
            "gmt_payment": china_text(trade.paid_at),
            "buyer_id": trade.buyer_id,
            "buyer_logon_id": trade.buyer_logon_id,
            "seller_id": trade.seller_id,
            "subject": trade.subject,
            "body": trade.body,
            "fund_bill_list": compact([{"amount": amount, "fundChannel": "ALIPAYACCOUNT"}]),
        }
        if refund is not None:
            fields["refund_fee"] = yuan(trade.refunded_fen)
            fields["gmt_refund"] = china_text(refund.at)
            fields["out_biz_no"] = refund.out_request_no
            if trade.status == "TRADE_CLOSED" and trade.closed_at is not None:
                fields["gmt_close"] = china_text(trade.closed_at)
        fields = {k: v for k, v in fields.items() if v}
        fields["sign"] = rsa2_sign(self.signer, sign_string(fields, ("sign", "sign_type")))
        return fields

    def seller_app(self, trade: Trade) -> str:
        return trade.auth_app_id or self.config.app_id

    def notify(self, trade: Trade, refund: Refund | None = None) -> Notification | None:
        if not trade.notify_url or trade.status not in (*PAID_STATES, "TRADE_CLOSED"):
            return None
        fields = self.notification_fields(trade, refund)
        notification = Notification(
            id=fields["notify_id"],
            trade_key=trade.key,
            url=trade.notify_url,
            fields=fields,
            mode=self.notification_mode,
        )
        self.ledger.save_notification(notification)
        self._deliver(notification)
        return notification

    def deliver_now(self, notification_id: str) -> Notification:
        """Starts a new round of deliveries now (the "deliver now" control)."""
        notification = self.ledger.notifications[notification_id]
        running = self._deliveries.pop(notification_id, None)
        if running is not None:  # waiting for its next retry: this round replaces it
            running.cancel()
        notification.state, notification.mode = "pending", "normal"
        notification.next_attempt_at = None
        notification.round_start = len(notification.attempts)
        self.ledger.save_notification(notification)
        self._deliver(notification)
        return notification

    def _deliver(self, notification: Notification) -> None:
        task = self._spawn(self.notifier.deliver(notification))
        self._deliveries[notification.id] = task
        task.add_done_callback(
            lambda done: (
                self._deliveries.pop(notification.id, None)
                if self._deliveries.get(notification.id) is done
                else None
            )
        )

    # ---- faults -------------------------------------------------------------------------------

    def take_fault(self, method: str) -> str | None:
        for fault in self.faults:
            if fault.remaining > 0 and fault.method in (None, method):
                fault.remaining -= 1
                self.faults = [f for f in self.faults if f.remaining > 0]
                return fault.kind
        return None

    # ---- plumbing -----------------------------------------------------------------------------

    async def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient()
            self._owns_client = True
        return self._client

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            if not done.cancelled() and done.exception() is not None:
                log.error("alipay simulator task failed", exc_info=done.exception())

        task.add_done_callback(finished)
        return task
