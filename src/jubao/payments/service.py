"""The payment use cases, for every channel and scene. Each public method is one merchant-visible
operation; storage goes through units of work (``payments.repository``), the channels through
``channels.base.Channel``. Nothing here knows a channel's wire format or error codes: channels
answer in payment instructions, transactions and ``ChannelErrorKind``."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime
from functools import partial
from typing import Any

from jubao.channels.base import (
    Channel,
    ChannelBinding,
    ChannelRefund,
    ChannelTransaction,
    ImmediateOutcome,
    PaymentRequest,
    RefundEvent,
    RefundRequest,
    RefundStatus,
    TradeStatus,
    TransactionEvent,
)
from jubao.channels.registry import ChannelRegistry
from jubao.clock import Clock, from_ms, system_clock, to_ms
from jubao.config import Settings
from jubao.errors import (
    BusinessRuleError,
    ChannelError,
    ChannelErrorKind,
    ChannelNotificationRejected,
    ChannelUnavailable,
    DuplicateKey,
    JubaoError,
    StorageError,
)
from jubao.ids import new_serial
from jubao.kinds import ApiVersion, ChannelName, Scene
from jubao.merchants.directory import MerchantDirectory
from jubao.merchants.models import App, Caller
from jubao.money import fen_to_yuan
from jubao.payments import instructions, views, views_v2
from jubao.payments import repository as repo
from jubao.payments.records import OrderRecord, RefundRecord
from jubao.payments.requests import CreateOrder
from jubao.payments.states import (
    OrderState,
    PaymentOutcome,
    RefundReservation,
    RefundSettlement,
    RefundState,
)
from jubao.protocol.methods import OrderRef, RefundQueryRequest
from jubao.protocol.methods import RefundRequest as MerchantRefundRequest
from jubao.storage.database import Database

__all__ = ["PaymentService"]

log = logging.getLogger("jubao.payments")

# How long a stored payment instruction is answered again before a new one is asked for: WeChat's
# prepay_id lives 2 h (renewed a minute early); other channels' instructions live at least as long.
INSTRUCTION_VALIDITY_MS = 2 * 3600 * 1000 - 60_000
REFUND_WINDOW_MS = 90 * 24 * 3600 * 1000  # Fubei: refunds within 90 days of payment

_CHANNEL_LABELS = {
    ChannelName.WECHATPAY: "微信支付",
    ChannelName.ALIPAY: "支付宝",
    ChannelName.UNIONPAY: "银联",
}


# A payment code the channel refused: the merchant sees one stable sub_code per kind, whatever the
# channel, with the channel's own message.
_DECLINES = {
    ChannelErrorKind.DECLINED: "PAYMENT_DECLINED",
    ChannelErrorKind.INSUFFICIENT_FUNDS: "BALANCE_NOT_ENOUGH",
    ChannelErrorKind.INVALID_PAYMENT_CODE: "AUTH_CODE_INVALID",
}


def _rule(sub_code: str, message: str) -> BusinessRuleError:
    return BusinessRuleError(message, sub_code=sub_code)


class PaymentService:
    def __init__(
        self,
        db: Database,
        channels: ChannelRegistry,
        merchants: MerchantDirectory,
        settings: Settings,
        clock: Clock = system_clock,
    ) -> None:
        self._db = db
        self._channels = channels
        self._merchants = merchants
        self._settings = settings
        self._clock = clock
        self._instructing: dict[int, asyncio.Future[OrderRecord]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # waits for payers of payment codes

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def merchants(self) -> MerchantDirectory:
        return self._merchants

    @property
    def db(self) -> Database:
        """For the read-only queries beside the payment use cases (``payments.statements``)."""
        return self._db

    # ---- create ---------------------------------------------------------------------------

    async def create(self, caller: Caller, request: CreateOrder) -> OrderRecord:
        """Create the order and obtain its payment instruction, once: an identical retry answers
        the stored order whatever happened since; a different request under the same
        merchant_order_sn is refused."""
        await self.check_store_and_cashier(
            caller.merchant.merchant_id, request.store_id, request.cashier_id
        )
        channel = self._channel(request.channel)
        if not channel.supports(request.scene):
            raise _rule(
                "SCENE_NOT_SUPPORTED",
                f"{_CHANNEL_LABELS[request.channel]}通道不支持该支付场景（{request.scene.value}）",
            )
        bound = caller.merchant.channel(request.channel)
        if bound is None:
            raise _rule("CHANNEL_NOT_BOUND", f"商户未开通{_CHANNEL_LABELS[request.channel]}")
        binding = bound.binding(request.scene)
        order, created = await self._insert_order(caller, request, binding)
        if not created and order.fingerprint != request.fingerprint:
            raise _rule(
                "ORDER_SN_CONFLICT",
                f"商户订单号 merchant_order_sn={request.merchant_order_sn} "
                "已存在，且参数与原订单不一致",
            )
        now = self._clock()
        if order.instruction:
            stored = instructions.decode_stored(order.instruction, order.prepay_id)
            if isinstance(stored, instructions.Declined):
                raise _rule(stored.sub_code, stored.message)
            if order.state != OrderState.USERPAYING or (order.prepay_expires_at or 0) > now:
                return order
        if order.state == OrderState.CLOSED:
            raise _rule("ORDER_CLOSED", "订单已关闭，请使用新的商户订单号下单")
        if order.state == OrderState.SUCCESS:
            raise _rule("ORDER_PAID", "订单已支付")
        return await self._instruct_once(order, binding, request.auth_code, request.return_url)

    async def check_store_and_cashier(
        self, merchant_id: int, store_id: int, cashier_id: int | None
    ) -> None:
        """Refuses a store that is not the merchant's, or a cashier not of that store (orders,
        and cashier codes before their order exists)."""
        store = await self._merchants.store(store_id)
        if store is None or store.merchant_id != merchant_id:
            raise _rule("STORE_NOT_FOUND", f"门店 store_id={store_id} 不存在或不属于该商户")
        if cashier_id is not None:
            cashier = await self._merchants.cashier(cashier_id)
            if cashier is None or cashier.store_id != store.store_id:
                raise _rule(
                    "CASHIER_NOT_FOUND",
                    f"收银员 cashier_id={cashier_id} 不存在或不属于门店 {store.store_id}",
                )

    def _channel(self, name: ChannelName) -> Channel:
        channel = self._channels.get(name)
        if channel is None:
            raise _rule("CHANNEL_NOT_AVAILABLE", f"本网关未接入{_CHANNEL_LABELS[name]}通道")
        return channel

    def _notify_url(self, name: ChannelName) -> str:
        return f"{self._settings.resolved_public_url}/channel/{name.value}/notify"

    async def _insert_order(
        self, caller: Caller, request: CreateOrder, binding: ChannelBinding
    ) -> tuple[OrderRecord, bool]:
        now = self._clock()
        expire_at = request.expire_at or now + self._settings.order_expire_seconds * 1000
        for _ in range(8 if request.order_sn is None else 1):
            new = repo.NewOrder(
                order_sn=request.order_sn or new_serial(now),
                merchant_id=caller.merchant.merchant_id,
                app_id=caller.app_id if isinstance(caller, App) else "",
                merchant_order_sn=request.merchant_order_sn,
                fingerprint=request.fingerprint,
                store_id=request.store_id,
                cashier_id=request.cashier_id or 0,
                channel=request.channel,
                scene=request.scene,
                channel_merchant_id=binding.merchant_id,
                channel_app_id=binding.app_id,
                payer_id=request.payer_id,
                total_fen=request.total_fen,
                body=request.body,
                attach=request.attach,
                call_back_url=request.call_back_url,
                expire_at=expire_at,
                api_version=request.api,
                vendor_sn=None if isinstance(caller, App) else caller.vendor.vendor_sn,
            )
            outcome = await self._db.write(partial(repo.insert_order, new, now, self._db.dialect))
            if outcome is not None:
                return outcome
        raise StorageError("订单号生成冲突，请重试")

    async def _instruct_once(
        self,
        order: OrderRecord,
        binding: ChannelBinding,
        auth_code: str | None,
        return_url: str | None = None,
    ) -> OrderRecord:
        """One channel request per order at a time in this process; across processes the
        compare-and-set in ``store_instruction`` keeps the first answer and every caller
        returns it."""
        pending = self._instructing.get(order.order_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[OrderRecord] = asyncio.get_running_loop().create_future()
        self._instructing[order.order_id] = future
        try:
            stored = await self._instruct_or_adopt(order, binding, auth_code, return_url)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        else:
            future.set_result(stored)
            return stored
        finally:
            del self._instructing[order.order_id]

    async def _instruct_or_adopt(
        self,
        order: OrderRecord,
        binding: ChannelBinding,
        auth_code: str | None,
        return_url: str | None,
    ) -> OrderRecord:
        """Another gateway instance may be creating the same trade right now: the channel then
        refuses ours as a duplicate, and the answer to give is the one that instance stores."""
        try:
            return await self._instruct(order, binding, auth_code, return_url)
        except ChannelError as exc:
            if exc.kind != ChannelErrorKind.DUPLICATE:
                raise
            for _ in range(50):
                stored = await self._db.read(partial(repo.find_order_by_sn, order.order_sn))
                if stored is not None and stored.instruction != order.instruction:
                    return stored
                await asyncio.sleep(0.1)
            raise

    async def _instruct(
        self,
        order: OrderRecord,
        binding: ChannelBinding,
        auth_code: str | None,
        return_url: str | None,
    ) -> OrderRecord:
        description = (order.body or f"订单 {order.merchant_order_sn}")[:127]
        request = PaymentRequest(
            binding=binding,
            scene=order.scene,
            out_trade_no=order.order_sn,
            description=description,
            total_fen=order.total_fen,
            notify_url=self._notify_url(order.channel),
            time_expire=from_ms(order.expire_at),
            payer_id=order.payer_id,
            auth_code=auth_code,
            attach=order.attach,
            store_ref=str(order.store_id),
            return_url=return_url,
        )
        try:
            instruction = await self._channel(order.channel).create_payment(request)
        except ChannelError as exc:
            sub_code = _DECLINES.get(exc.kind) if order.scene == Scene.BARCODE else None
            if sub_code is None:
                raise
            await self._decline(order, sub_code, exc)
            raise _rule(sub_code, exc.message) from None
        if isinstance(instruction, ImmediateOutcome):
            return await self._code_submitted(order, instruction)
        now = self._clock()
        prepay_id = getattr(instruction, "prepay_id", None)
        return await self._db.write(
            lambda: repo.store_instruction(
                order.order_id,
                order.prepay_id,
                prepay_id,
                now + INSTRUCTION_VALIDITY_MS,
                instructions.encode(instruction),
                now,
                self._db.dialect,
            )
        )

    # ---- payment codes (scene barcode) -----------------------------------------------------

    async def _decline(self, order: OrderRecord, sub_code: str, exc: ChannelError) -> None:
        declined = instructions.encode_state(instructions.Declined(sub_code, exc.message))
        now = self._clock()
        reason = f"{exc.sub_code}: {exc.message}"
        await self._db.write(partial(repo.decline_order, order.order_id, declined, reason, now))

    async def _code_submitted(self, order: OrderRecord, outcome: ImmediateOutcome) -> OrderRecord:
        """Record that the channel has the payment code, then its result: paid now, or waiting
        for the payer, whom the gateway then waits for (and reverses the payment if they walk
        away: ``_await_payer``)."""
        now = self._clock()
        marker = instructions.encode_state(instructions.PaymentCodeSubmitted())
        stored = await self._db.write(
            partial(
                repo.store_instruction,
                order.order_id,
                None,
                None,
                order.expire_at,
                marker,
                now,
                self._db.dialect,
            )
        )
        applied = await self._apply_transaction(order.channel, outcome.transaction, source="create")
        result = applied or stored
        if result.state == OrderState.USERPAYING:
            self._spawn(self._await_payer(result))
        return result

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _await_payer(self, order: OrderRecord) -> None:
        """Ask the channel every ``barcode_poll_seconds`` whether the payer confirmed; once
        ``barcode_pay_timeout_seconds`` have passed since the order, reverse it."""
        deadline = order.created_at + int(self._settings.barcode_pay_timeout_seconds * 1000)
        try:
            while self._clock() < deadline:
                await asyncio.sleep(self._settings.barcode_poll_seconds)
                current = await self._db.read(partial(repo.find_order_by_id, order.order_id))
                if current is None or current.state != OrderState.USERPAYING:
                    return
                order = await self._reconcile_order(current)
                if order.state != OrderState.USERPAYING:
                    return
            await self._revoke(order, "付款码支付超时，自动撤销")
        except (JubaoError, OSError) as exc:  # maintenance finishes what this could not
            log.info("waiting for the payer of %s: %s", order.order_sn, exc)

    async def reverse(self, caller: Caller, ref: OrderRef) -> OrderRecord:
        """``order.reverse``: a payment-code order is cancelled at the channel, paid or not."""
        order = await self._find(caller, ref)
        if order.scene != Scene.BARCODE:
            raise _rule(
                "REVERSE_NOT_SUPPORTED", "只有付款码支付订单可以撤销；其他订单请使用关单或退款"
            )
        return await self._revoke(order, "商户撤销")

    async def _revoke(self, order: OrderRecord, reason: str) -> OrderRecord:
        if order.state in (OrderState.REVOKED, OrderState.CLOSED):
            return order
        now = self._clock()
        order = await self._db.write(partial(repo.begin_revoke, order.order_id, reason, now))
        if order.state != OrderState.REVOKING:
            return order
        try:
            await self._channel(order.channel).cancel(await self._binding(order), order.order_sn)
        except ChannelUnavailable as exc:  # unknown: stays REVOKING, maintenance asks again
            log.info("reverse %s pending: %s", order.order_sn, exc.sub_code)
            return order
        except ChannelError as exc:
            if exc.kind not in (ChannelErrorKind.NOT_FOUND, ChannelErrorKind.CLOSED):
                return await self._finish_revoke(
                    order, OrderState.REVOKED_ERROR, f"{exc.sub_code}: {exc.message}"
                )
        return await self._finish_revoke(order, OrderState.REVOKED, reason)

    async def _finish_revoke(
        self, order: OrderRecord, outcome: OrderState, detail: str
    ) -> OrderRecord:
        now = self._clock()
        return await self._db.write(
            partial(repo.finish_revoke, order.order_id, outcome, detail, now)
        )

    async def settle_payment_codes(self, limit: int = 100) -> int:
        """Maintenance: finish payment codes whose waiter is gone (a restart) or whose reverse
        got no answer; returns how many it finished."""
        now = self._clock()
        abandoned = now - int(self._settings.barcode_pay_timeout_seconds * 1000)
        stuck = now - int(self._settings.refund_reconcile_after_seconds * 1000)
        due = await self._db.read(partial(repo.payment_codes_to_settle, abandoned, stuck, limit))
        finished = 0
        for order in due:
            if order.state == OrderState.USERPAYING:
                order = await self._reconcile_order(order)
                if order.state != OrderState.USERPAYING:
                    finished += 1
                    continue
            result = await self._revoke(order, "付款码支付超时，自动撤销")
            finished += result.state != OrderState.REVOKING
        return finished

    async def aclose(self) -> None:
        """Stop the waits for payers (maintenance, here or in another process, finishes them)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---- lookup ---------------------------------------------------------------------------

    async def _find(self, caller: Caller, ref: OrderRef) -> OrderRecord:
        order_sn = ref.order_sn or ref.trade_no
        merchant_id = caller.merchant.merchant_id
        order = await self._db.read(
            lambda: repo.find_order(
                merchant_id, order_sn=order_sn, merchant_order_sn=ref.merchant_order_sn
            )
        )
        if order is None:
            raise _rule("ORDER_NOT_FOUND", "订单不存在")
        return order

    async def _binding(self, order: OrderRecord) -> ChannelBinding:
        """The order's identity at its channel, with the merchant's current credential there
        (a channel token can be renewed while the order lives)."""
        merchant = await self._merchants.merchant(order.merchant_id)
        bound = merchant.channel(order.channel) if merchant else None
        if bound is not None and bound.auth_token:
            return dataclasses.replace(order.binding, auth_token=bound.auth_token)
        return order.binding

    # ---- query ----------------------------------------------------------------------------

    async def query(self, caller: Caller, ref: OrderRef) -> OrderRecord:
        order = await self._find(caller, ref)
        # updated_at is also "last asked about": a merchant polling every second makes at most
        # one channel query per reconcile_after_seconds per order
        quiet_ms = self._clock() - order.updated_at
        if (
            order.state == OrderState.USERPAYING
            and order.instruction
            and quiet_ms >= self._settings.reconcile_after_seconds * 1000
        ):
            order = await self._reconcile_order(order)
            if order.state == OrderState.USERPAYING:
                await self._db.write(partial(repo.touch_order, order.order_id, self._clock()))
        return order

    async def _reconcile_order(self, order: OrderRecord) -> OrderRecord:
        """Ask the channel about an unpaid order, so a lost notification never loses a payment."""
        try:
            channel = self._channel(order.channel)
            transaction = await channel.query(await self._binding(order), order.order_sn)
        except (ChannelError, ChannelUnavailable, BusinessRuleError) as exc:
            log.info("reconcile %s: channel query failed: %s", order.order_sn, exc.sub_code)
            return order
        try:
            return (
                await self._apply_transaction(order.channel, transaction, source="query") or order
            )
        except ChannelNotificationRejected:  # logged and recorded in the timeline already
            return order

    async def apply_statement_payment(
        self, channel: ChannelName, transaction: ChannelTransaction
    ) -> OrderRecord | None:
        """A payment the channel's statement shows and jubao never learned of, applied exactly
        as a late notification: the order becomes paid once, its events and the merchant's
        notification commit together (source ``statement`` on the timeline). Raises
        ``ChannelNotificationRejected`` when it does not match the order, as a notification
        would."""
        return await self._apply_transaction(channel, transaction, source="statement")

    async def _apply_transaction(
        self,
        channel: ChannelName,
        transaction: ChannelTransaction,
        *,
        source: str,
        merchant_id: str | None = None,
    ) -> OrderRecord | None:
        now = self._clock()
        if transaction.status == TradeStatus.PAID:
            facts = repo.PaymentFacts(
                channel=channel,
                order_sn=transaction.out_trade_no,
                transaction_id=transaction.transaction_id or "",
                paid_at=to_ms(transaction.success_time) if transaction.success_time else now,
                payer_id=transaction.payer_id,
                total_fen=transaction.total_fen,
                merchant_id=merchant_id or transaction.merchant_id,
                source=source,
            )
            outcome, order = await self._db.write(
                lambda: repo.mark_paid(facts, now, _payment_payload)
            )
            if outcome in (
                PaymentOutcome.UNKNOWN,
                PaymentOutcome.AMOUNT_MISMATCH,
                PaymentOutcome.MERCHANT_MISMATCH,
            ):
                log.warning("payment for %s refused: %s", transaction.out_trade_no, outcome)
                raise ChannelNotificationRejected(f"{outcome}: {transaction.out_trade_no}")
            if outcome == PaymentOutcome.PAID:
                log.info("order %s paid (%s)", transaction.out_trade_no, source)
            return order
        if transaction.status == TradeStatus.REVOKED:
            order = await self._db.read(partial(repo.find_order_by_sn, transaction.out_trade_no))
            if order is None or order.channel != channel:
                return order
            detail = f"通道状态 {transaction.raw_state}"
            return await self._finish_revoke(order, OrderState.REVOKED, detail)
        if transaction.status in (TradeStatus.CLOSED, TradeStatus.FAILED):
            order = await self._db.read(partial(repo.find_order_by_sn, transaction.out_trade_no))
            if (
                order is not None
                and order.channel == channel
                and order.state == OrderState.USERPAYING
            ):
                return await self._db.write(
                    partial(
                        repo.close_order, order.order_id, f"通道状态 {transaction.raw_state}", now
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
            if result.state != OrderState.USERPAYING:
                changed += 1
            else:
                await self._db.write(partial(repo.touch_order, order.order_id, self._clock()))
        return changed

    # ---- channel events -------------------------------------------------------------------

    async def handle_channel_event(
        self, channel: ChannelName, event: TransactionEvent | RefundEvent
    ) -> None:
        """Apply a verified channel notification. Duplicates change nothing. Raises
        ``ChannelNotificationRejected`` for an unknown order or refund, or a report that does
        not match it (amount, sub-merchant, order)."""
        if isinstance(event, TransactionEvent):
            await self._apply_transaction(
                channel, event.transaction, source="notification", merchant_id=event.merchant_id
            )
            return
        outcome, _ = await self._settle(channel, event.refund)
        if outcome in (RefundSettlement.UNKNOWN, RefundSettlement.MISMATCH):
            log.warning("refund report for %s refused: %s", event.refund.out_refund_no, outcome)
            raise ChannelNotificationRejected(f"{outcome}: {event.refund.out_refund_no}")

    async def _settle(
        self, channel: ChannelName, refund: ChannelRefund
    ) -> tuple[RefundSettlement, RefundRecord | None]:
        facts = repo.RefundFacts(
            refund_sn=refund.out_refund_no,
            outcome=_refund_state(refund.status),
            channel_refund_id=refund.refund_id,
            order_sn=refund.out_trade_no,
            refund_fen=refund.refund_fen,
        )
        now = self._clock()
        return await self._db.write(lambda: repo.settle_refund(facts, now, _refund_payload))

    # ---- close ----------------------------------------------------------------------------

    async def close(self, caller: Caller, ref: OrderRef) -> OrderRecord:
        order = await self._find(caller, ref)
        if order.scene == Scene.BARCODE:
            raise _rule("CLOSE_NOT_SUPPORTED", "付款码支付订单不能关单，请使用撤销接口")
        if order.state == OrderState.SUCCESS:
            raise _rule("ORDER_PAID", "订单已支付，不能关闭；如需退还资金请使用退款接口")
        if order.state == OrderState.USERPAYING:
            order = await self._close_upstream_then_locally(order, "商户关单")
            if order.state == OrderState.SUCCESS:
                raise _rule("ORDER_PAID", "订单已支付，不能关闭；如需退还资金请使用退款接口")
        return order

    async def _close_upstream_then_locally(self, order: OrderRecord, reason: str) -> OrderRecord:
        if order.instruction:
            channel = self._channel(order.channel)
            binding = await self._binding(order)
            try:
                await channel.close(binding, order.order_sn)
            except ChannelError as exc:
                if exc.kind == ChannelErrorKind.ALREADY_PAID:
                    transaction = await channel.query(binding, order.order_sn)
                    applied = await self._apply_transaction(
                        order.channel, transaction, source="query"
                    )
                    return applied or order
                if exc.kind not in (ChannelErrorKind.NOT_FOUND, ChannelErrorKind.CLOSED):
                    raise
        now = self._clock()
        return await self._db.write(partial(repo.close_order, order.order_id, reason, now))

    async def expire_due(self, limit: int = 100) -> int:
        """Close unpaid orders past their expiry, at the channel and locally."""
        now = self._clock()
        due = await self._db.read(partial(repo.expired_orders, now, limit))
        closed = 0
        for order in due:
            try:
                if order.scene == Scene.BARCODE:
                    result = await self._revoke(order, "超时未支付，自动撤销")
                    closed += result.state == OrderState.REVOKED
                    continue
                result = await self._close_upstream_then_locally(order, "超时未支付，自动关闭")
            except (ChannelError, ChannelUnavailable, BusinessRuleError) as exc:
                log.info("expire %s deferred: %s", order.order_sn, exc.sub_code)
                continue
            closed += result.state == OrderState.CLOSED
        return closed

    # ---- refunds --------------------------------------------------------------------------

    async def refund(
        self, caller: Caller, request: MerchantRefundRequest
    ) -> tuple[OrderRecord, RefundRecord]:
        order = await self._find(caller, request.order)
        if order.state != OrderState.SUCCESS:
            raise _rule("ORDER_NOT_PAID", "订单未支付成功，不能退款")
        now = self._clock()
        if order.paid_at and now - order.paid_at > REFUND_WINDOW_MS:
            raise _rule("REFUND_EXPIRED", "只支持 90 天内支付成功的订单退款")
        refund_sn = new_serial(now)
        merchant_refund_sn = request.merchant_refund_sn or refund_sn
        refund: RefundRecord | None
        try:
            outcome, refund = await self._db.write(
                lambda: repo.reserve_refund(
                    order.order_id, refund_sn, merchant_refund_sn, request.refund_fen, now
                )
            )
        except DuplicateKey:  # a concurrent identical request won: answer with its refund
            outcome = RefundReservation.EXISTING
            refund = await self._db.read(
                partial(repo.find_refund, order.order_id, merchant_refund_sn=merchant_refund_sn)
            )
        if outcome == RefundReservation.EXISTING:
            assert refund is not None
            if request.refund_fen is not None and refund.refund_fen != request.refund_fen:
                raise _rule(
                    "REFUND_SN_CONFLICT",
                    f"退款单号 merchant_refund_sn={merchant_refund_sn} "
                    "已存在，且金额与原退款不一致",
                )
            return order, refund
        if outcome != RefundReservation.RESERVED or refund is None:
            raise self._refund_refusal(outcome, order)
        return order, await self._submit_refund(order, refund)

    @staticmethod
    def _refund_refusal(outcome: RefundReservation, order: OrderRecord) -> BusinessRuleError:
        if outcome == RefundReservation.TOO_MANY:
            return _rule("REFUND_LIMIT", "单笔订单退款次数不能超过 10 次")
        if outcome == RefundReservation.NOT_PAID:
            return _rule("ORDER_NOT_PAID", "订单未支付成功，不能退款")
        remaining = fen_to_yuan(order.total_fen - order.refunded_fen)
        return _rule("REFUND_EXCEEDS", f"退款金额超过订单剩余可退金额（剩余约 {remaining} 元）")

    async def _submit_refund(self, order: OrderRecord, refund: RefundRecord) -> RefundRecord:
        """Send the refund upstream. A business refusal fails it (and frees the amount); a network
        failure leaves it PROCESSING for ``reconcile_refunds`` to resubmit (idempotent upstream)."""
        try:
            answer = await self._channel(order.channel).refund(
                RefundRequest(
                    binding=await self._binding(order),
                    out_trade_no=order.order_sn,
                    out_refund_no=refund.refund_sn,
                    refund_fen=refund.refund_fen,
                    total_fen=order.total_fen,
                    notify_url=self._notify_url(order.channel),
                )
            )
        except ChannelUnavailable as exc:
            log.info("refund %s pending: %s", refund.refund_sn, exc.sub_code)
            return refund
        except ChannelError as exc:
            log.info("refund %s refused upstream: %s", refund.refund_sn, exc.sub_code)
            failed = ChannelRefund(refund.refund_sn, RefundStatus.FAILED)
            _, settled = await self._settle(order.channel, failed)
            assert settled is not None
            return settled
        if _refund_state(answer.status) == RefundState.PROCESSING:
            now = self._clock()
            await self._db.write(
                partial(repo.mark_refund_submitted, refund.refund_id, answer.refund_id, now)
            )
            return refund
        _, settled = await self._settle(order.channel, answer)
        return settled or refund

    async def refund_query(
        self, caller: Caller, request: RefundQueryRequest
    ) -> tuple[OrderRecord, RefundRecord]:
        if request.order is None:  # 2.0: the refund's own number names it
            found = await self._db.read(
                partial(
                    repo.find_merchant_refund,
                    caller.merchant.merchant_id,
                    refund_sn=request.refund_sn,
                    merchant_refund_sn=request.merchant_refund_sn,
                )
            )
            if found is None:
                raise _rule("REFUND_NOT_FOUND", "退款单不存在")
            order, refund = found
        else:
            order = await self._find(caller, request.order)
            looked_up = await self._db.read(
                partial(
                    repo.find_refund,
                    order.order_id,
                    refund_sn=request.refund_sn,
                    merchant_refund_sn=request.merchant_refund_sn,
                )
            )
            if looked_up is None:
                raise _rule("REFUND_NOT_FOUND", "退款单不存在")
            refund = looked_up
        if refund.status == RefundState.PROCESSING and refund.submitted:
            refund = await self._reconcile_refund(order, refund)
        return order, refund

    async def _reconcile_refund(self, order: OrderRecord, refund: RefundRecord) -> RefundRecord:
        try:
            answer = await self._channel(order.channel).query_refund(
                await self._binding(order), order.order_sn, refund.refund_sn
            )
        except (ChannelError, ChannelUnavailable, BusinessRuleError):
            return refund
        if _refund_state(answer.status) == RefundState.PROCESSING:
            return refund
        _, settled = await self._settle(order.channel, answer)
        return settled or refund

    async def reconcile_refunds(self, limit: int = 100) -> int:
        """Resubmit refunds the channel never acknowledged; ask about the ones it did."""
        now = self._clock()
        older_than = now - int(self._settings.refund_reconcile_after_seconds * 1000)
        stale = await self._db.read(partial(repo.stale_refunds, older_than, limit))
        done = 0
        for refund in stale:
            order = await self._db.read(partial(repo.find_order_by_id, refund.order_id))
            assert order is not None
            if refund.submitted:
                result = await self._reconcile_refund(order, refund)
            else:
                result = await self._submit_refund(order, refund)
            if result.status == RefundState.PROCESSING:
                await self._db.write(partial(repo.touch_refund, refund.refund_id, now))
            else:
                done += 1
        return done

    async def refund_statistics(self, caller: Caller, ref: OrderRef) -> dict[str, Any]:
        order = await self._find(caller, ref)
        return {
            "order_sn": order.order_sn,
            "merchant_order_sn": order.merchant_order_sn,
            "total_fee": fen_to_yuan(order.total_fen),
            "refund_num": order.refund_count,
            "refund_money": fen_to_yuan(order.refunded_fen),
            "can_refund": fen_to_yuan(order.refundable_fen),
        }

    def server_time(self) -> dict[str, Any]:
        moment = datetime.fromtimestamp(self._clock() / 1000, tz=UTC)
        return {"time": str(int(moment.timestamp()))}


def _payment_payload(order: OrderRecord) -> dict[str, Any]:
    """A payment notification in the layout of the API generation that created the order."""
    if order.api_version == ApiVersion.V2:
        return views_v2.order_view(order)
    return views.order_view(order)


def _refund_payload(order: OrderRecord, refund: RefundRecord) -> dict[str, Any]:
    if order.api_version == ApiVersion.V2:
        return views_v2.refund_notification(order, refund)
    return views.refund_view(order, refund)


def _refund_state(status: RefundStatus) -> RefundState:
    return {
        RefundStatus.PROCESSING: RefundState.PROCESSING,
        RefundStatus.SUCCESS: RefundState.SUCCESS,
        RefundStatus.FAILED: RefundState.FAILED,
    }[status]
