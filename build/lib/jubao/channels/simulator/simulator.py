"""The simulator's state and every operation on it: WeChat's v3 operations, the payer's
``wx.requestPayment`` and the sandbox controls.

State changes run on the event loop without awaiting in between, so each operation is atomic
against concurrent requests; persistence is written behind (see ``store.py``)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Coroutine, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.channels.simulator import ids
from jubao.channels.simulator.config import SimulatorConfig, SpMerchant
from jubao.channels.simulator.errors import ApiError, InternalCode, param_error
from jubao.channels.simulator.keys import load_or_create_platform_key
from jubao.channels.simulator.models import (
    Notification,
    Order,
    Refund,
    order_key,
    refund_json,
    refund_key,
    refund_notification_json,
    transaction_json,
)
from jubao.channels.simulator.notifier import Notifier
from jubao.channels.simulator.rules import CloseRequest, PrepayRequest, RefundRequest
from jubao.channels.simulator.signing import encrypt_resource, lines, load_public_key, verify
from jubao.channels.simulator.store import Store

__all__ = ["Behaviour", "Simulator"]

log = logging.getLogger(__name__)

PREPAY_TTL_SECONDS = 2 * 3600
DEFAULT_ORDER_TTL_SECONDS = 7 * 86400
MIN_EXPIRE_AHEAD_SECONDS = 60
STORE_FILE = "simulator.sqlite3"

PAYMENT_MODES = ("succeed", "fail")
NOTIFICATION_MODES = ("normal", "drop", "duplicate")
REFUND_MODES = {
    "success": "SUCCESS",
    "fail": "ABNORMAL",
    "abnormal": "ABNORMAL",
    "closed": "CLOSED",
}
REFUND_SUMMARY = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}
PAID_STATES = ("SUCCESS", "REFUND")


@dataclass
class Behaviour:
    """How the simulated world behaves. Global, or overridden for one out_trade_no; a per-order
    ``payment="fail"`` applies to the next payment attempt only."""

    payment: str = "succeed"
    notifications: str = "normal"
    refunds: str = "success"


@dataclass
class _Fault:
    remaining: int
    status: int
    code: str
    message: str


def _payer_error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message, internal=0)


class Simulator:
    """WeChat Pay's side of service-provider mode. See ``docs/simulator.md``."""

    def __init__(self, config: SimulatorConfig, http_client: httpx.AsyncClient | None = None):
        self.config = config
        self.latency_ms = config.latency_ms
        self._clock = config.clock or (lambda: datetime.now(UTC))
        self._platform = load_or_create_platform_key(config.data_dir)
        self._merchants: dict[str, tuple[SpMerchant, rsa.RSAPublicKey]] = {
            sp.sp_mchid: (sp, load_public_key(sp.api_public_key_pem)) for sp in config.merchants
        }
        self._bindings: dict[str, dict[str, set[str]]] = {
            sp.sp_mchid: {sub: set(appids) for sub, appids in sp.sub_merchants.items()}
            for sp in config.merchants
        }
        self._store = Store(config.data_dir / STORE_FILE if config.data_dir else None)
        self._orders: dict[str, Order] = {}
        self._by_prepay: dict[str, str] = {}
        self._by_transaction: dict[str, str] = {}
        self._refunds: dict[str, Refund] = {}
        self._notifications: dict[str, Notification] = {}
        self._behaviour = Behaviour()
        self._order_behaviour: dict[str, dict[str, str]] = {}
        self._fault: _Fault | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._active: set[str] = set()
        self._client = http_client
        self._owns_client = False
        self._notifier = Notifier(
            platform=self._platform,
            schedule=config.notify_schedule,
            time_scale=config.time_scale,
            timeout=config.notify_timeout,
            now=self.now,
            persist=self._save_notification,
            client=self._http,
        )
        self._load()

    # ---- identity ------------------------------------------------------------------------

    @property
    def platform_public_key_pem(self) -> bytes:
        return self._platform.public_key_pem

    @property
    def public_key_id(self) -> str:
        return self._platform.key_id

    @property
    def platform_private_key(self) -> rsa.RSAPrivateKey:
        """Signs answers and notifications; stays inside the simulator."""
        return self._platform.private_key

    def now(self) -> float:
        return self._clock().timestamp()

    def merchant(self, sp_mchid: str) -> tuple[SpMerchant, rsa.RSAPublicKey] | None:
        return self._merchants.get(sp_mchid)

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Resumes persisted background work: pending notifications and unsettled refunds."""
        for notification in self._notifications.values():
            if notification.state == "pending":
                self._spawn_delivery(notification)
        for refund in self._refunds.values():
            if refund.status == "PROCESSING":
                self._spawn_settlement(refund)

    async def stop(self) -> None:
        """Cancels background work (it resumes at the next start) and writes everything down."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
            self._owns_client = False
        await asyncio.to_thread(self._store.flush)
        await asyncio.to_thread(self._store.close)

    async def idle(self) -> None:
        """Waits until no background work is running (tests: after a time-scaled delay)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---- WeChat v3: orders ---------------------------------------------------------------

    def prepay(self, mchid: str, request: PrepayRequest) -> str:
        self._check_mchid(mchid, request.sp_mchid)
        sp, _ = self._merchants[mchid]
        if request.sp_appid not in sp.sp_appids:
            raise ApiError(400, "APPID_MCHID_NOT_MATCH", "sp_appid 与 sp_mchid 不匹配")
        sub_appids = self._sub_appids(mchid, request.sub_mchid, status=400)
        if request.sub_appid is not None and request.sub_appid not in sub_appids:
            raise ApiError(400, "APPID_MCHID_NOT_MATCH", "sub_appid 与 sub_mchid 不匹配")
        now = self.now()
        key = order_key(mchid, request.out_trade_no)
        order = self._orders.get(key)
        if order is None:
            expire_at = request.time_expire or now + DEFAULT_ORDER_TTL_SECONDS
            order = Order(
                sp_mchid=mchid,
                sp_appid=request.sp_appid,
                sub_mchid=request.sub_mchid,
                sub_appid=request.sub_appid,
                out_trade_no=request.out_trade_no,
                description=request.description,
                attach=request.attach,
                notify_url=request.notify_url,
                total=request.total,
                currency=request.currency,
                sp_openid=request.sp_openid,
                sub_openid=request.sub_openid,
                created_at=now,
                # WeChat moves a time_expire closer than one minute to now + 1 minute.
                expire_at=max(expire_at, now + MIN_EXPIRE_AHEAD_SECONDS),
                fingerprint=request.fingerprint,
            )
            self._orders[key] = order
        else:
            self._refresh(order)
            self._refuse_paid_or_closed(order)
            if order.fingerprint != request.fingerprint:
                raise ApiError(
                    403,
                    "OUT_TRADE_NO_USED",
                    "商户订单号重复（请求重入时，参数与首次请求时不一致）",
                    internal=InternalCode.PARAMS_CHANGED,
                )
            live = [(expiry, pid) for pid, expiry in order.prepays.items() if expiry > now]
            if live:
                # An identical retry while a prepay_id lives gets that same prepay_id.
                return max(live)[1]
        prepay_id = ids.new_prepay_id(now)
        order.prepays[prepay_id] = min(now + PREPAY_TTL_SECONDS, order.expire_at)
        self._by_prepay[prepay_id] = key
        self._save_order(order)
        return prepay_id

    def query_by_out_trade_no(
        self, mchid: str, sp_mchid: str, sub_mchid: str, out_trade_no: str
    ) -> dict[str, Any]:
        self._check_mchid(mchid, sp_mchid)
        self._sub_appids(sp_mchid, sub_mchid, status=400)
        order = self._orders.get(order_key(sp_mchid, out_trade_no))
        if order is None or order.sub_mchid != sub_mchid:
            raise self._order_not_exist()
        self._refresh(order)
        return transaction_json(order)

    def query_by_transaction_id(
        self, mchid: str, sp_mchid: str, sub_mchid: str, transaction_id: str
    ) -> dict[str, Any]:
        self._check_mchid(mchid, sp_mchid)
        self._sub_appids(sp_mchid, sub_mchid, status=400)
        key = self._by_transaction.get(transaction_id)
        order = self._orders.get(key) if key else None
        if order is None or order.sp_mchid != sp_mchid or order.sub_mchid != sub_mchid:
            raise self._order_not_exist()
        return transaction_json(order)

    def close(self, mchid: str, out_trade_no: str, request: CloseRequest) -> None:
        self._check_mchid(mchid, request.sp_mchid)
        self._sub_appids(request.sp_mchid, request.sub_mchid, status=400)
        order = self._orders.get(order_key(request.sp_mchid, out_trade_no))
        if order is None or order.sub_mchid != request.sub_mchid:
            raise self._order_not_exist()
        self._refresh(order)
        if order.trade_state in PAID_STATES:
            raise self._order_paid()
        if order.trade_state == "NOTPAY":
            order.trade_state = "CLOSED"
            order.closed_at = self.now()
            self._save_order(order)

    # ---- WeChat v3: refunds --------------------------------------------------------------

    def create_refund(self, mchid: str, request: RefundRequest) -> dict[str, Any]:
        # The refund body names no sp_mchid: the signer (Authorization mchid) is the provider.
        self._sub_appids(mchid, request.sub_mchid, status=404)
        key = refund_key(mchid, request.sub_mchid, request.out_refund_no)
        existing = self._refunds.get(key)
        order = self._refund_order(mchid, request)
        if existing is not None:
            same = (
                order is not None
                and existing.order_key == order.key
                and (existing.refund, existing.total) == (request.refund, request.total)
            )
            if not same:
                raise ApiError(400, "INVALID_REQUEST", "退款单号已存在，且请求参数与首次不一致")
            return refund_json(existing)  # one out_refund_no refunds once
        if order is None or order.trade_state not in PAID_STATES or order.transaction_id is None:
            raise ApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在或未支付")
        if request.total != order.total:
            raise param_error("amount.total 与原订单金额不一致", "amount.total")
        refunded = sum(
            item.refund
            for item in self._refunds.values()
            if item.order_key == order.key and item.holds_money
        )
        paid = order.payer_total if order.payer_total is not None else order.total
        if refunded + request.refund > paid:
            raise ApiError(403, "NOT_ENOUGH", f"可退金额不足（已退 {refunded} 分，订单 {paid} 分）")
        now = self.now()
        outcome = REFUND_MODES[self._behaviour_for(order.out_trade_no).refunds]
        refund = Refund(
            sp_mchid=mchid,
            sub_mchid=request.sub_mchid,
            order_key=order.key,
            out_trade_no=order.out_trade_no,
            transaction_id=order.transaction_id,
            out_refund_no=request.out_refund_no,
            refund_id=ids.new_refund_id(now),
            reason=request.reason,
            notify_url=request.notify_url,
            refund=request.refund,
            total=request.total,
            currency=request.currency,
            created_at=now,
            settle_at=now + self.config.refund_delay_seconds * self.config.time_scale,
            outcome=outcome,
        )
        self._refunds[key] = refund
        order.trade_state = "REFUND"
        self._save_order(order)
        self._save_refund(refund)
        self._spawn_settlement(refund)
        return refund_json(refund)

    def query_refund(self, mchid: str, sub_mchid: str, out_refund_no: str) -> dict[str, Any]:
        self._sub_appids(mchid, sub_mchid, status=404)
        refund = self._refunds.get(refund_key(mchid, sub_mchid, out_refund_no))
        if refund is None:
            raise ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return refund_json(refund)

    def _refund_order(self, mchid: str, request: RefundRequest) -> Order | None:
        by_id = None
        if request.transaction_id is not None:
            key = self._by_transaction.get(request.transaction_id)
            by_id = self._orders.get(key) if key else None
            if by_id is None:
                return None
        by_no = None
        if request.out_trade_no is not None:
            by_no = self._orders.get(order_key(mchid, request.out_trade_no))
            if by_no is None or (by_id is not None and by_no is not by_id):
                return None
        order = by_id or by_no
        if order is None or order.sp_mchid != mchid or order.sub_mchid != request.sub_mchid:
            return None
        return order

    def settle_refund(self, refund: Refund) -> None:
        """Moves a PROCESSING refund to its outcome and notifies (called after the delay)."""
        if refund.status != "PROCESSING":
            return
        refund.status = refund.outcome
        if refund.status == "SUCCESS":
            refund.success_time = self.now()
        self._save_refund(refund)
        order = self._orders[refund.order_key]
        self._notify(
            order,
            event_type=f"REFUND.{refund.status}",
            summary=REFUND_SUMMARY[refund.status],
            original_type="refund",
            plaintext=refund_notification_json(refund),
            url=refund.notify_url or order.notify_url,
        )

    # ---- the payer -----------------------------------------------------------------------

    def request_payment(self, sign_params: Any, openid: Any) -> dict[str, Any]:
        """What the WeChat client does for ``wx.requestPayment(sign_params)`` as ``openid``."""
        if not isinstance(sign_params, Mapping):
            raise _payer_error(400, "INVALID_REQUEST", "sign_params 必须是JSON对象")
        names = ("appId", "timeStamp", "nonceStr", "package", "signType", "paySign")
        for name in names:
            if not isinstance(sign_params.get(name), str) or not sign_params[name]:
                raise _payer_error(400, "INVALID_REQUEST", f"sign_params.{name} 缺失或不是字符串")
        if not isinstance(openid, str) or not openid:
            raise _payer_error(400, "INVALID_REQUEST", "openid 缺失")
        app_id, timestamp, nonce, package, sign_type, pay_sign = (sign_params[n] for n in names)
        if sign_type != "RSA":
            raise _payer_error(400, "SIGN_TYPE_INVALID", f"signType 须为 RSA，收到 {sign_type}")
        if not re.fullmatch(r"\d{10}", timestamp):
            raise _payer_error(400, "TIMESTAMP_INVALID", "timeStamp 须为10位秒级时间戳字符串")
        if len(nonce) > 32:
            raise _payer_error(400, "NONCE_INVALID", "nonceStr 不能超过32个字符")
        prefix, _, prepay_id = package.partition("=")
        if prefix != "prepay_id" or not prepay_id:
            raise _payer_error(400, "PACKAGE_INVALID", "package 须为 prepay_id=<prepay_id>")
        key = self._by_prepay.get(prepay_id)
        if key is None:
            raise _payer_error(400, "PREPAY_ID_INVALID", f"prepay_id {prepay_id} 不存在")
        order = self._orders[key]
        self._refresh(order)
        if self.now() >= order.prepays[prepay_id]:
            raise _payer_error(
                400, "PREPAY_ID_EXPIRED", "prepay_id 已过期（有效期2小时），请重新下单"
            )
        if app_id != order.app_id:
            raise _payer_error(
                400, "APPID_MISMATCH", f"appId {app_id} 与下单时的 appid {order.app_id} 不一致"
            )
        _, public_key = self._merchants[order.sp_mchid]
        if not verify(public_key, lines(app_id, timestamp, nonce, package), pay_sign):
            raise _payer_error(
                400, "PAYSIGN_INVALID", "支付验证签名失败（paySign 与服务商API公钥不符）"
            )
        if openid != order.openid:
            raise _payer_error(403, "OPENID_MISMATCH", "付款用户 openid 与下单时的 payer 不一致")
        if order.trade_state in PAID_STATES:
            raise _payer_error(409, "ORDER_PAID", "该订单已支付")
        if order.trade_state == "CLOSED":
            raise _payer_error(409, "ORDER_CLOSED", "该订单已关闭或已过期")
        if self._take_payment_failure(order.out_trade_no):
            raise _payer_error(402, "PAYMENT_FAILED", "支付失败（模拟器按设定拒绝本次支付）")
        now = self.now()
        order.trade_state = "SUCCESS"
        order.transaction_id = ids.new_transaction_id(now)
        order.success_time = now
        order.bank_type = "OTHERS"
        order.payer_total = order.total
        self._by_transaction[order.transaction_id] = order.key
        self._save_order(order)
        self._notify(
            order,
            event_type="TRANSACTION.SUCCESS",
            summary="支付成功",
            original_type="transaction",
            plaintext=transaction_json(order),
            url=order.notify_url,
        )
        return {"err_msg": "requestPayment:ok", "transaction_id": order.transaction_id}

    # ---- controls ------------------------------------------------------------------------

    def register_sub_merchant(self, sp_mchid: str, sub_mchid: str, sub_appid: str | None) -> None:
        if sp_mchid not in self._merchants:
            raise KeyError(f"unknown sp_mchid {sp_mchid}")
        if not sub_mchid:
            raise ValueError("sub_mchid is required")
        appids = self._bindings[sp_mchid].setdefault(sub_mchid, set())
        if sub_appid:
            appids.add(sub_appid)
        self._store.put(
            "binding",
            f"{sp_mchid}/{sub_mchid}",
            {"sp_mchid": sp_mchid, "sub_mchid": sub_mchid, "sub_appids": sorted(appids)},
        )

    def sub_merchants(self) -> dict[str, dict[str, list[str]]]:
        return {
            sp: {sub: sorted(appids) for sub, appids in subs.items()}
            for sp, subs in self._bindings.items()
        }

    def set_behaviour(
        self,
        *,
        out_trade_no: str | None = None,
        payment: str | None = None,
        notifications: str | None = None,
        refunds: str | None = None,
    ) -> dict[str, Any]:
        """Changes the global behaviour, or one order's when ``out_trade_no`` is given."""
        changes: dict[str, str] = {}
        for name, value, allowed in (
            ("payment", payment, PAYMENT_MODES),
            ("notifications", notifications, NOTIFICATION_MODES),
            ("refunds", refunds, tuple(REFUND_MODES)),
        ):
            if value is None:
                continue
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}")
            changes[name] = value
        if out_trade_no is None:
            for name, value in changes.items():
                setattr(self._behaviour, name, value)
        else:
            self._order_behaviour.setdefault(out_trade_no, {}).update(changes)
        return self.behaviour(out_trade_no)

    def reset_behaviour(self) -> None:
        self._behaviour = Behaviour()
        self._order_behaviour.clear()
        self.latency_ms = self.config.latency_ms
        self._fault = None

    def behaviour(self, out_trade_no: str | None = None) -> dict[str, Any]:
        view: dict[str, Any] = asdict(self._behaviour_for(out_trade_no))
        view["latency_ms"] = self.latency_ms
        view["faults"] = asdict(self._fault) if self._fault else None
        return view

    def set_latency(self, latency_ms: int) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        self.latency_ms = latency_ms

    def inject_faults(
        self, count: int, status: int = 500, code: str = "SYSTEM_ERROR", message: str | None = None
    ) -> None:
        """The next ``count`` v3 calls answer ``status``/``code`` (e.g. 429 FREQUENCY_LIMITED)."""
        if count < 0 or not 400 <= status <= 599:
            raise ValueError("count must be >= 0 and status a 4xx/5xx")
        self._fault = _Fault(count, status, code, message or "系统错误（模拟器注入的故障）")

    def clear_faults(self) -> None:
        self._fault = None

    def take_fault(self) -> ApiError | None:
        """Consumes one injected fault, if any (the app calls this for every v3 request)."""
        fault = self._fault
        if fault is None or fault.remaining <= 0:
            return None
        fault.remaining -= 1
        if fault.remaining == 0:
            self._fault = None
        return ApiError(fault.status, fault.code, fault.message)

    def expire_prepay(self, prepay_id: str) -> None:
        key = self._by_prepay.get(prepay_id)
        if key is None:
            raise KeyError(f"unknown prepay_id {prepay_id}")
        order = self._orders[key]
        order.prepays[prepay_id] = min(order.prepays[prepay_id], self.now())
        self._save_order(order)

    def expire_order(self, out_trade_no: str, sp_mchid: str | None = None) -> dict[str, Any]:
        """Makes the order's time_expire pass now: an unpaid order becomes CLOSED."""
        order = self._find_order(out_trade_no, sp_mchid)
        if order.trade_state in PAID_STATES:
            raise ValueError("the order is paid; it can no longer expire")
        order.expire_at = min(order.expire_at, self.now())
        self._refresh(order)
        self._save_order(order)
        return transaction_json(order)

    def transaction_state(self, out_trade_no: str, sp_mchid: str | None = None) -> dict[str, Any]:
        order = self._find_order(out_trade_no, sp_mchid)
        self._refresh(order)
        now = self.now()
        return {
            "transaction": transaction_json(order),
            "notify_url": order.notify_url,
            "created_at": ids.rfc3339(order.created_at),
            "time_expire": ids.rfc3339(order.expire_at),
            "prepays": [
                {"prepay_id": pid, "expires_at": ids.rfc3339(expiry), "live": expiry > now}
                for pid, expiry in order.prepays.items()
            ],
            "refunds": [
                {**refund_json(item), "notify_url": item.notify_url, "reason": item.reason}
                for item in self._refunds.values()
                if item.order_key == order.key
            ],
            "notifications": self.notifications(out_trade_no),
            "behaviour": self.behaviour(out_trade_no),
        }

    def notifications(self, out_trade_no: str | None = None) -> list[dict[str, Any]]:
        """The delivery log, oldest first."""
        selected = [
            item
            for item in self._notifications.values()
            if out_trade_no is None or item.out_trade_no == out_trade_no
        ]
        selected.sort(key=lambda item: item.created_at)
        return [self._notification_view(item) for item in selected]

    def resend_notification(self, notification_id: str) -> dict[str, Any]:
        """Starts a new delivery round of the same notification (same body), with the order's
        current notification behaviour."""
        notification = self._notifications.get(notification_id)
        if notification is None:
            raise KeyError(f"unknown notification {notification_id}")
        if f"notification:{notification.id}" in self._active:
            raise ValueError("the notification is being delivered right now")
        notification.mode = self._behaviour_for(notification.out_trade_no).notifications
        notification.state = "pending"
        notification.next_attempt_at = None
        notification.round_start = len(notification.attempts)
        self._save_notification(notification)
        self._spawn_delivery(notification)
        return self._notification_view(notification)

    async def send_signtest(self, url: str, sp_mchid: str | None = None) -> dict[str, Any]:
        """Sends one ``WECHATPAY/SIGNTEST/`` probe; a correct receiver answers 4xx/5xx."""
        sp = self._merchants[sp_mchid][0] if sp_mchid else next(iter(self._merchants.values()))[0]
        body = self._envelope(
            sp, "TRANSACTION.SUCCESS", "支付成功", "transaction", {"signtest": True}
        )
        status, error = await self._notifier.probe(url, body.encode())
        return {
            "url": url,
            "status_code": status,
            "error": error,
            "rejected": status is None or status >= 400,
        }

    # ---- internals -----------------------------------------------------------------------

    def _check_mchid(self, header_mchid: str, body_mchid: str) -> None:
        if header_mchid != body_mchid:
            raise ApiError(
                401,
                "SIGN_ERROR",
                f"Authorization 中的 mchid {header_mchid} 与请求中的 sp_mchid {body_mchid} 不一致",
                internal=InternalCode.SIGN_ERROR,
            )

    def _sub_appids(self, sp_mchid: str, sub_mchid: str, *, status: int) -> set[str]:
        appids = self._bindings.get(sp_mchid, {}).get(sub_mchid)
        if appids is None:
            raise ApiError(status, "MCH_NOT_EXISTS", f"子商户号 {sub_mchid} 不存在或未与服务商绑定")
        return appids

    def _order_not_exist(self) -> ApiError:
        return ApiError(404, "ORDER_NOT_EXIST", "订单不存在", internal=InternalCode.ORDER_NOT_EXIST)

    def _order_paid(self) -> ApiError:
        return ApiError(
            400, self.config.order_paid_code, "该订单已支付", internal=InternalCode.ORDER_PAID
        )

    def _refuse_paid_or_closed(self, order: Order) -> None:
        if order.trade_state in PAID_STATES:
            raise self._order_paid()
        if order.trade_state == "CLOSED":
            raise ApiError(
                400,
                "ORDER_CLOSED",
                "该订单已失效（已关闭或已过期）",
                internal=InternalCode.ORDER_EXPIRED,
            )

    def _refresh(self, order: Order) -> None:
        """Closes an unpaid order whose time_expire has passed."""
        if order.trade_state == "NOTPAY" and self.now() >= order.expire_at:
            order.trade_state = "CLOSED"
            order.closed_at = order.expire_at
            self._save_order(order)

    def _find_order(self, out_trade_no: str, sp_mchid: str | None) -> Order:
        for order in self._orders.values():
            if order.out_trade_no == out_trade_no and sp_mchid in (None, order.sp_mchid):
                return order
        raise KeyError(f"unknown out_trade_no {out_trade_no}")

    def _behaviour_for(self, out_trade_no: str | None) -> Behaviour:
        behaviour = Behaviour(**asdict(self._behaviour))
        for name, value in self._order_behaviour.get(out_trade_no or "", {}).items():
            setattr(behaviour, name, value)
        return behaviour

    def _take_payment_failure(self, out_trade_no: str) -> bool:
        override = self._order_behaviour.get(out_trade_no, {})
        if override.get("payment") == "fail":
            del override["payment"]  # an order's failure applies to its next payment only
            return True
        return "payment" not in override and self._behaviour.payment == "fail"

    def _envelope(
        self,
        sp: SpMerchant,
        event_type: str,
        summary: str,
        original_type: str,
        plaintext: dict[str, Any],
    ) -> str:
        raw = json.dumps(plaintext, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        resource = {"original_type": original_type}
        resource.update(encrypt_resource(sp.apiv3_key, raw, original_type))
        envelope = {
            "id": ids.new_event_id(),
            "create_time": ids.rfc3339(self.now()),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": resource,
        }
        return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))

    def _notify(
        self,
        order: Order,
        *,
        event_type: str,
        summary: str,
        original_type: str,
        plaintext: dict[str, Any],
        url: str,
    ) -> None:
        sp, _ = self._merchants[order.sp_mchid]
        body = self._envelope(sp, event_type, summary, original_type, plaintext)
        notification = Notification(
            id=json.loads(body)["id"],
            sp_mchid=order.sp_mchid,
            out_trade_no=order.out_trade_no,
            event_type=event_type,
            url=url,
            body=body,
            plaintext=plaintext,
            created_at=self.now(),
            mode=self._behaviour_for(order.out_trade_no).notifications,
        )
        self._notifications[notification.id] = notification
        self._save_notification(notification)
        self._spawn_delivery(notification)

    def _notification_view(self, item: Notification) -> dict[str, Any]:
        return {
            "id": item.id,
            "event_type": item.event_type,
            "out_trade_no": item.out_trade_no,
            "sp_mchid": item.sp_mchid,
            "url": item.url,
            "mode": item.mode,
            "state": item.state,
            "created_at": ids.rfc3339(item.created_at),
            "next_attempt_at": (
                ids.rfc3339(item.next_attempt_at) if item.next_attempt_at is not None else None
            ),
            "attempts": [
                {**attempt, "time": ids.rfc3339(attempt["at"])} for attempt in item.attempts
            ],
            "plaintext": item.plaintext,
        }

    async def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.config.notify_timeout)
            self._owns_client = True
        return self._client

    def _spawn_delivery(self, notification: Notification) -> None:
        self._spawn(f"notification:{notification.id}", self._notifier.deliver(notification))

    def _spawn_settlement(self, refund: Refund) -> None:
        async def settle() -> None:
            await asyncio.sleep(max(0.0, refund.settle_at - self.now()))
            self.settle_refund(refund)

        self._spawn(f"refund:{refund.key}", settle())

    def _spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        if name in self._active:
            work.close()
            return
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._active.add(name)
        self._tasks.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            self._active.discard(name)
            if not done.cancelled() and done.exception() is not None:
                log.error("simulator background task %s failed", name, exc_info=done.exception())

        task.add_done_callback(finished)

    # ---- persistence ---------------------------------------------------------------------

    def _save_order(self, order: Order) -> None:
        self._store.put("order", order.key, order.record())

    def _save_refund(self, refund: Refund) -> None:
        self._store.put("refund", refund.key, refund.record())

    def _save_notification(self, notification: Notification) -> None:
        self._store.put("notification", notification.id, notification.record())

    def _load(self) -> None:
        state = self._store.load()
        for record in state.get("binding", {}).values():
            subs = self._bindings.get(record["sp_mchid"])
            if subs is not None:
                subs.setdefault(record["sub_mchid"], set()).update(record["sub_appids"])
        for record in state.get("order", {}).values():
            order = Order(**record)
            self._orders[order.key] = order
            for prepay_id in order.prepays:
                self._by_prepay[prepay_id] = order.key
            if order.transaction_id is not None:
                self._by_transaction[order.transaction_id] = order.key
        for record in state.get("refund", {}).values():
            refund = Refund(**record)
            self._refunds[refund.key] = refund
        for record in state.get("notification", {}).values():
            notification = Notification(**record)
            self._notifications[notification.id] = notification
