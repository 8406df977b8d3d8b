"""The payment use cases. Each method is one merchant-visible operation; storage goes through
units of work (``payments.repository``), the upstream through ``channels.base.Channel``."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from functools import partial
from typing import Any

from jubao.channels.base import (
    Channel,
    ChannelBinding,
    ChannelTransaction,
    PrepayRequest,
    RefundEvent,
    RefundRequest,
    RefundStatus,
    TradeStatus,
    TransactionEvent,
)
from jubao.clock import Clock, from_ms, system_clock, to_ms
from jubao.config import Settings
from jubao.errors import (
    BusinessRuleError,
    ChannelError,
    ChannelNotificationRejected,
    ChannelUnavailable,
    DuplicateKey,
    StorageError,
)
from jubao.ids import new_serial
from jubao.merchants.directory import MerchantDirectory
from jubao.merchants.models import App
from jubao.money import fen_to_yuan
from jubao.payments import repository as repo
from jubao.payments.states import OrderState, RefundState
from jubao.payments.views import order_view, refund_view
from jubao.protocol import jsonwire
from jubao.protocol.methods import MinaRequest, OrderRef, RefundQueryRequest
from jubao.protocol.methods import RefundRequest as MerchantRefundRequest
from jubao.storage.database import Database
from jubao.storage.sql import Row

__all__ = ["PaymentService"]

log = logging.getLogger("jubao.payments")

PREPAY_VALIDITY_MS = 2 * 3600 * 1000 - 60_000  # WeChat: 2 h; renew a minute early
REFUND_WINDOW_MS = 90 * 24 * 3600 * 1000  # Fubei: refunds within 90 days of payment
_ORDER_PAID_CODES = frozenset({"ORDERPAID", "ORDER_PAID"})


def _rule(sub_code: str, message: str) -> BusinessRuleError:
    return BusinessRuleError(message, sub_code=sub_code)


def _binding(order: Row) -> ChannelBinding:
    return ChannelBinding(sub_mchid=order["sub_mchid"], sub_appid=order["sub_appid"])


class PaymentService:
    def __init__(
        self,
        db: Database,
        channel: Channel,
        merchants: MerchantDirectory,
        settings: Settings,
        clock: Clock = system_clock,
    ) -> None:
        self._db = db
        self._channel = channel
        self._merchants = merchants
        self._settings = settings
        self._clock = clock
        self._prepaying: dict[int, asyncio.Future[Row]] = {}

    # ---- create ---------------------------------------------------------------------------

    async def create_mina(self, app: App, request: MinaRequest) -> dict[str, Any]:
        merchant = app.merchant
        store = await self._merchants.store(request.store_id)
        if store is None or store.merchant_id != merchant.merchant_id:
            raise _rule("STORE_NOT_FOUND", f"门店 store_id={request.store_id} 不存在或不属于该商户")
        if request.cashier_id is not None:
            cashier = await self._merchants.cashier(request.cashier_id)
            if cashier is None or cashier.store_id != store.store_id:
                raise _rule(
                    "CASHIER_NOT_FOUND",
                    f"收银员 cashier_id={request.cashier_id} 不存在或不属于门店 {store.store_id}",
                )
        order, created = await self._insert_order(app, request)
        if not created and order["fingerprint"] != request.fingerprint():
            raise _rule(
                "ORDER_SN_CONFLICT",
                f"商户订单号 merchant_order_sn={request.merchant_order_sn} "
                "已存在，且参数与原订单不一致",
            )
        now = self._clock()
        if order["prepay_id"] and (
            order["state"] != OrderState.USERPAYING or order["prepay_expires_at"] > now
        ):
            return self._mina_view(order)
        if order["state"] == OrderState.CLOSED:
            raise _rule("ORDER_CLOSED", "订单已关闭，请使用新的商户订单号下单")
        if order["state"] == OrderState.SUCCESS:
            raise _rule("ORDER_PAID", "订单已支付")
        return self._mina_view(await self._prepay_once(order))

    async def _insert_order(self, app: App, request: MinaRequest) -> tuple[Row, bool]:
        now = self._clock()
        for _ in range(8):
            new = repo.NewOrder(
                order_sn=new_serial(now),
                merchant_id=app.merchant.merchant_id,
                app_id=app.app_id,
                merchant_order_sn=request.merchant_order_sn,
                fingerprint=request.fingerprint(),
                store_id=request.store_id,
                cashier_id=request.cashier_id or 0,
                sub_mchid=app.merchant.sub_mchid,
                sub_appid=app.merchant.sub_appid,
                sub_openid=request.sub_openid,
                total_fen=request.total_fen,
                body=request.body,
                attach=request.attach,
                call_back_url=request.call_back_url,
                expire_at=now + self._settings.order_expire_seconds * 1000,
            )
            outcome = await self._db.write(partial(repo.insert_order, new, now))
            if outcome is not None:
                return outcome
        raise StorageError("订单号生成冲突，请重试")

    async def _prepay_once(self, order: Row) -> Row:
        """One upstream prepay per order at a time in this process; across processes the
        compare-and-set in ``store_prepay`` keeps the first answer and every caller returns it."""
        pending = self._prepaying.get(order["order_id"])
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Row] = asyncio.get_running_loop().create_future()
        self._prepaying[order["order_id"]] = future
        try:
            stored = await self._prepay_or_adopt(order)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        else:
            future.set_result(stored)
            return stored
        finally:
            del self._prepaying[order["order_id"]]

    async def _prepay_or_adopt(self, order: Row) -> Row:
        """Another gateway instance may be prepaying the same order right now: WeChat then
        refuses ours as a re-entry, and the answer to give is the one that instance stores."""
        try:
            return await self._prepay(order)
        except ChannelError as exc:
            if exc.sub_code != "OUT_TRADE_NO_USED":
                raise
            for _ in range(50):
                stored = await self._db.read(partial(repo.find_order_by_sn, order["order_sn"]))
                if stored is not None and stored["prepay_id"] != order["prepay_id"]:
                    return stored
                await asyncio.sleep(0.1)
            raise

    async def _prepay(self, order: Row) -> Row:
        description = (order["body"] or f"订单 {order['merchant_order_sn']}")[:127]
        prepay_id = await self._channel.prepay(
            PrepayRequest(
                binding=_binding(order),
                out_trade_no=order["order_sn"],
                description=description,
                total_fen=order["total_fen"],
                payer_sub_openid=order["sub_openid"],
                notify_url=self._settings.channel_notify_url,
                time_expire=from_ms(order["expire_at"]),
                attach=order["attach"],
            )
        )
        # An RSA signature: on a worker thread (the GIL is released) so the loop keeps serving.
        signed = await asyncio.to_thread(self._channel.sign_params, order["sub_appid"], prepay_id)
        sign_params = signed.as_wire()
        now = self._clock()
        return await self._db.write(
            lambda: repo.store_prepay(
                order["order_id"],
                order["prepay_id"],
                prepay_id,
                now + PREPAY_VALIDITY_MS,
                sign_params,
                now,
            )
        )

    @staticmethod
    def _mina_view(order: Row) -> dict[str, Any]:
        return {
            "prepay_id": order["prepay_id"],
            "order_sn": order["order_sn"],
            "merchant_order_sn": order["merchant_order_sn"],
            "sign_params": jsonwire.loads(order["sign_params"]),
            "store_id": order["store_id"],
            "cashier_id": order["cashier_id"] or 0,
            "user_id": order["sub_openid"],
        }

    # ---- lookup ---------------------------------------------------------------------------

    async def _find(self, app: App, ref: OrderRef) -> Row:
        order_sn = ref.order_sn or ref.trade_no
        merchant_id = app.merchant.merchant_id
        order = await self._db.read(
            lambda: repo.find_order(
                merchant_id, order_sn=order_sn, merchant_order_sn=ref.merchant_order_sn
            )
        )
        if order is None:
            raise _rule("ORDER_NOT_FOUND", "订单不存在")
        return order

    # ---- query ----------------------------------------------------------------------------

    async def query(self, app: App, ref: OrderRef) -> dict[str, Any]:
        order = await self._find(app, ref)
        # updated_at is also "last asked about": a merchant polling every second makes at most
        # one channel query per reconcile_after_seconds per order
        quiet_ms = self._clock() - order["updated_at"]
        if (
            order["state"] == OrderState.USERPAYING
            and order["prepay_id"]
            and quiet_ms >= self._settings.reconcile_after_seconds * 1000
        ):
            order = await self._reconcile_order(order)
            if order["state"] == OrderState.USERPAYING:
                await self._db.write(partial(repo.touch_order, order["order_id"], self._clock()))
        return order_view(order)

    async def _reconcile_order(self, order: Row) -> Row:
        """Ask the channel about an unpaid order, so a lost notification never loses a payment."""
        try:
            transaction = await self._channel.query(_binding(order), order["order_sn"])
        except (ChannelError, ChannelUnavailable) as exc:
            log.info("reconcile %s: channel query failed: %s", order["order_sn"], exc.sub_code)
            return order
        try:
            return await self._apply_transaction(transaction, source="query") or order
        except ChannelNotificationRejected:  # logged and recorded in the timeline already
            return order

    async def _apply_transaction(
        self, transaction: ChannelTransaction, *, source: str
    ) -> Row | None:
        now = self._clock()
        if transaction.status == TradeStatus.PAID:
            facts = repo.PaymentFacts(
                order_sn=transaction.out_trade_no,
                transaction_id=transaction.transaction_id or "",
                paid_at=to_ms(transaction.success_time) if transaction.success_time else now,
                payer_openid=transaction.payer_openid,
                total_fen=transaction.total_fen,
                source=source,
            )
            outcome, order = await self._db.write(lambda: repo.mark_paid(facts, now))
            if outcome in ("unknown", "amount_mismatch"):
                log.warning("payment for %s refused: %s", transaction.out_trade_no, outcome)
                raise ChannelNotificationRejected(f"{outcome}: {transaction.out_trade_no}")
            if outcome == "paid":
                log.info("order %s paid (%s)", transaction.out_trade_no, source)
            return order
        if transaction.status == TradeStatus.CLOSED:
            order = await self._db.read(lambda: repo.find_order_by_sn(transaction.out_trade_no))
            if order is not None and order["state"] == OrderState.USERPAYING:
                return await self._db.write(
                    lambda: repo.close_order(
                        order["order_id"], f"通道状态 {transaction.raw_state}", now
                    )
                )
            return order
        return None

    async def reconcile_pending(self, limit: int = 100) -> int:
        """Background safety net: ask the channel about unpaid orders nobody has asked about for
        ``pending_reconcile_seconds``; returns how many turned out paid or closed."""
        now = self._clock()
        older_than = now - int(self._settings.pending_reconcile_seconds * 1000)
        orders = await self._db.read(partial(repo.unpaid_orders_to_check, older_than, limit))
        changed = 0
        for order in orders:
            result = await self._reconcile_order(order)
            if result["state"] != OrderState.USERPAYING:
                changed += 1
            else:
                await self._db.write(partial(repo.touch_order, order["order_id"], self._clock()))
        return changed

    # ---- channel events -------------------------------------------------------------------

    async def handle_channel_event(self, event: TransactionEvent | RefundEvent) -> None:
        """Apply a verified channel notification. Duplicates change nothing. Raises
        ``ChannelNotificationRejected`` for an unknown order or a mismatched amount."""
        if isinstance(event, TransactionEvent):
            await self._apply_transaction(event.transaction, source="notification")
            return
        refund = event.refund
        state = _refund_state(refund.status)
        now = self._clock()
        settled = await self._db.write(
            lambda: repo.settle_refund(refund.out_refund_no, state, refund.refund_id, now)
        )
        if settled is None:
            raise ChannelNotificationRejected(f"unknown refund {refund.out_refund_no}")

    # ---- close ----------------------------------------------------------------------------

    async def close(self, app: App, ref: OrderRef) -> dict[str, Any]:
        order = await self._find(app, ref)
        if order["state"] == OrderState.SUCCESS:
            raise _rule("ORDER_PAID", "订单已支付，不能关闭；如需退还资金请使用退款接口")
        if order["state"] == OrderState.USERPAYING:
            order = await self._close_upstream_then_locally(order, "商户关单")
            if order["state"] == OrderState.SUCCESS:
                raise _rule("ORDER_PAID", "订单已支付，不能关闭；如需退还资金请使用退款接口")
        return {"merchant_order_sn": order["merchant_order_sn"], "order_sn": order["order_sn"]}

    async def _close_upstream_then_locally(self, order: Row, reason: str) -> Row:
        if order["prepay_id"]:
            try:
                await self._channel.close(_binding(order), order["order_sn"])
            except ChannelError as exc:
                if exc.sub_code in _ORDER_PAID_CODES:
                    transaction = await self._channel.query(_binding(order), order["order_sn"])
                    return await self._apply_transaction(transaction, source="query") or order
                if exc.sub_code not in ("ORDER_NOT_EXIST", "ORDER_CLOSED", "ORDERCLOSED"):
                    raise
        now = self._clock()
        return await self._db.write(lambda: repo.close_order(order["order_id"], reason, now))

    async def expire_due(self, limit: int = 100) -> int:
        """Close unpaid orders past their expiry, at the channel and locally."""
        now = self._clock()
        due = await self._db.read(lambda: repo.expired_orders(now, limit))
        closed = 0
        for order in due:
            try:
                result = await self._close_upstream_then_locally(order, "超时未支付，自动关闭")
            except (ChannelError, ChannelUnavailable) as exc:
                log.info("expire %s deferred: %s", order["order_sn"], exc.sub_code)
                continue
            closed += result["state"] == OrderState.CLOSED
        return closed

    # ---- refunds --------------------------------------------------------------------------

    async def refund(self, app: App, request: MerchantRefundRequest) -> dict[str, Any]:
        order = await self._find(app, request.order)
        if order["state"] != OrderState.SUCCESS:
            raise _rule("ORDER_NOT_PAID", "订单未支付成功，不能退款")
        now = self._clock()
        if order["paid_at"] and now - order["paid_at"] > REFUND_WINDOW_MS:
            raise _rule("REFUND_EXPIRED", "只支持 90 天内支付成功的订单退款")
        refund_sn = new_serial(now)
        merchant_refund_sn = request.merchant_refund_sn or refund_sn
        try:
            outcome, refund = await self._db.write(
                lambda: repo.reserve_refund(
                    order["order_id"], refund_sn, merchant_refund_sn, request.refund_fen, now
                )
            )
        except DuplicateKey:  # a concurrent identical request won: answer with its refund
            outcome, refund = (
                "existing",
                await self._db.read(
                    lambda: repo.find_refund(
                        order["order_id"], merchant_refund_sn=merchant_refund_sn
                    )
                ),
            )
        if outcome == "existing":
            assert refund is not None
            if request.refund_fen is not None and refund["refund_fen"] != request.refund_fen:
                raise _rule(
                    "REFUND_SN_CONFLICT",
                    f"退款单号 merchant_refund_sn={merchant_refund_sn} "
                    "已存在，且金额与原退款不一致",
                )
            return refund_view(order, refund)
        if outcome != "reserved" or refund is None:
            raise self._refund_refusal(outcome, order)
        refund = await self._submit_refund(order, refund)
        return refund_view(order, refund)

    def _refund_refusal(self, outcome: str, order: Row) -> BusinessRuleError:
        if outcome == "too_many":
            return _rule("REFUND_LIMIT", "单笔订单退款次数不能超过 10 次")
        if outcome == "not_paid":
            return _rule("ORDER_NOT_PAID", "订单未支付成功，不能退款")
        remaining = fen_to_yuan(order["total_fen"] - order["refunded_fen"])
        return _rule("REFUND_EXCEEDS", f"退款金额超过订单剩余可退金额（剩余约 {remaining} 元）")

    async def _submit_refund(self, order: Row, refund: Row) -> Row:
        """Send the refund upstream. A business refusal fails it (and frees the amount); a network
        failure leaves it PROCESSING for ``reconcile_refunds`` to resubmit (idempotent upstream)."""
        try:
            answer = await self._channel.refund(
                RefundRequest(
                    binding=_binding(order),
                    out_trade_no=order["order_sn"],
                    out_refund_no=refund["refund_sn"],
                    refund_fen=refund["refund_fen"],
                    total_fen=order["total_fen"],
                    notify_url=self._settings.channel_notify_url,
                )
            )
        except ChannelUnavailable as exc:
            log.info("refund %s pending: %s", refund["refund_sn"], exc.sub_code)
            return refund
        except ChannelError as exc:
            log.info("refund %s refused upstream: %s", refund["refund_sn"], exc.sub_code)
            now = self._clock()
            failed = await self._db.write(
                lambda: repo.settle_refund(refund["refund_sn"], RefundState.FAILED, None, now)
            )
            assert failed is not None
            return failed
        now = self._clock()
        state = _refund_state(answer.status)
        if state == RefundState.PROCESSING:
            await self._db.write(
                lambda: repo.mark_refund_submitted(refund["refund_id"], answer.refund_id, now)
            )
            return refund
        settled = await self._db.write(
            lambda: repo.settle_refund(refund["refund_sn"], state, answer.refund_id, now)
        )
        return settled or refund

    async def refund_query(self, app: App, request: RefundQueryRequest) -> dict[str, Any]:
        order = await self._find(app, request.order)
        refund = await self._db.read(
            lambda: repo.find_refund(
                order["order_id"],
                refund_sn=request.refund_sn,
                merchant_refund_sn=request.merchant_refund_sn,
            )
        )
        if refund is None:
            raise _rule("REFUND_NOT_FOUND", "退款单不存在")
        if refund["status"] == RefundState.PROCESSING and refund["submitted"]:
            refund = await self._reconcile_refund(order, refund)
        return refund_view(order, refund)

    async def _reconcile_refund(self, order: Row, refund: Row) -> Row:
        try:
            answer = await self._channel.query_refund(_binding(order), refund["refund_sn"])
        except (ChannelError, ChannelUnavailable):
            return refund
        state = _refund_state(answer.status)
        if state == RefundState.PROCESSING:
            return refund
        now = self._clock()
        settled = await self._db.write(
            lambda: repo.settle_refund(refund["refund_sn"], state, answer.refund_id, now)
        )
        return settled or refund

    async def reconcile_refunds(self, limit: int = 100) -> int:
        """Resubmit refunds the channel never acknowledged; ask about the ones it did."""
        now = self._clock()
        older_than = now - int(self._settings.refund_reconcile_after_seconds * 1000)
        stale = await self._db.read(lambda: repo.stale_refunds(older_than, limit))
        done = 0
        for refund in stale:
            order = await self._db.read(partial(repo.find_order_by_sn, refund["order_sn"]))
            assert order is not None
            if refund["submitted"]:
                result = await self._reconcile_refund(order, refund)
            else:
                result = await self._submit_refund(order, refund)
            if result["status"] == RefundState.PROCESSING:
                await self._db.write(partial(repo.touch_refund, refund["refund_id"], now))
            else:
                done += 1
        return done

    async def refund_statistics(self, app: App, ref: OrderRef) -> dict[str, Any]:
        order = await self._find(app, ref)
        can_refund = order["total_fen"] - order["refunded_fen"]
        if order["state"] != OrderState.SUCCESS:
            can_refund = 0
        return {
            "order_sn": order["order_sn"],
            "merchant_order_sn": order["merchant_order_sn"],
            "total_fee": fen_to_yuan(order["total_fen"]),
            "refund_num": order["refund_count"],
            "refund_money": fen_to_yuan(order["refunded_fen"]),
            "can_refund": fen_to_yuan(can_refund),
        }

    def server_time(self) -> dict[str, Any]:
        moment = datetime.fromtimestamp(self._clock() / 1000, tz=UTC)
        return {"time": str(int(moment.timestamp()))}


def _refund_state(status: RefundStatus) -> RefundState:
    return {
        RefundStatus.PROCESSING: RefundState.PROCESSING,
        RefundStatus.SUCCESS: RefundState.SUCCESS,
        RefundStatus.FAILED: RefundState.FAILED,
    }[status]
