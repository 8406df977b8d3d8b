"""The aggregated QR cashier (聚合码): a code is an amount to pay at a merchant's store, shown as
one QR that any wallet can scan (the hosted page ``GET /qr/<token>``, ``web/cashier_page.py``).

A code is created without an order: which channel carries the payment, and who pays, is known
only when a wallet opens the page. The first wallet to open it creates the order (a JSAPI order
of that wallet's channel, for the payer it identified) under the ``order_sn`` the code reserved
and the code's ``merchant_order_sn``, so the code names exactly one order: a reload answers the
same order, and another wallet finds the code taken. Creating a code twice with the same content
answers the first; with other content under the same ``merchant_order_sn`` it is refused, like
orders."""

from __future__ import annotations

import enum
import hashlib
import json
import re
import secrets
import weakref
from dataclasses import dataclass
from functools import partial

from jubao.clock import Clock, system_clock
from jubao.errors import BusinessRuleError, StorageError
from jubao.ids import new_serial
from jubao.kinds import ApiVersion, ChannelName, Scene
from jubao.merchants.models import App, Caller, VendorAct
from jubao.money import Fen
from jubao.payments import cashier_repository as codes_repo
from jubao.payments import repository as repo
from jubao.payments.cashier_repository import CashierCodeRecord
from jubao.payments.records import OrderRecord
from jubao.payments.requests import CreateOrder
from jubao.payments.service import PaymentService
from jubao.payments.states import OrderState
from jubao.protocol.fbpay_qrcode import DEFAULT_EXPIRED_TIME, checked_expired_time
from jubao.storage.database import Database

__all__ = [
    "CashierCodeRecord",
    "CashierCodeRequest",
    "CashierCodes",
    "CodeState",
    "cashier_codes_for",
]

_TOKEN = re.compile(r"[A-Za-z0-9_\-]{1,64}")


@dataclass(frozen=True, slots=True)
class CashierCodeRequest:
    """A code as a method asks for it, in channel-neutral terms."""

    merchant_order_sn: str
    total_fen: Fen
    store_id: int
    cashier_id: int | None = None
    channel: ChannelName | None = None  # only this wallet may pay (fbpay.order.qrcode pay_type)
    body: str | None = None
    attach: str | None = None
    notify_url: str | None = None
    expire_seconds: int = DEFAULT_EXPIRED_TIME

    def fingerprint(self) -> str:
        """What must match for a second request to be the same code."""
        fields = [
            self.merchant_order_sn, self.total_fen, self.store_id, self.cashier_id or 0,
            self.channel.value if self.channel else "", self.body or "", self.attach or "",
            self.notify_url or "", self.expire_seconds,
        ]  # fmt: skip
        text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CodeState(enum.Enum):
    """What the page does with a code."""

    OPEN = "open"  # no order yet, or its order waits for the payer
    PAID = "paid"
    EXPIRED = "expired"  # past its expiry unpaid, or its order closed


def _rule(sub_code: str, message: str) -> BusinessRuleError:
    return BusinessRuleError(message, sub_code=sub_code)


def _order_fingerprint(code: CashierCodeRecord, channel: ChannelName) -> str:
    # not the payer: a reload by another payer of the same wallet answers the same order
    return f"cashier:{code.code_id}:{channel.value}"


class CashierCodes:
    def __init__(self, db: Database, payments: PaymentService, clock: Clock = system_clock) -> None:
        self._db = db
        self._payments = payments
        self._clock = clock

    @property
    def payments(self) -> PaymentService:
        return self._payments

    async def create(self, caller: Caller, request: CashierCodeRequest) -> CashierCodeRecord:
        """A new code, or the same code again for an identical request. The code's order will be
        created in the caller's name (an app, or a vendor acting for the merchant)."""
        checked_expired_time(request.expire_seconds)
        merchant_id = caller.merchant.merchant_id
        await self._payments.check_store_and_cashier(
            merchant_id, request.store_id, request.cashier_id
        )
        fingerprint = request.fingerprint()
        existing = await self._db.read(
            partial(codes_repo.find_code, merchant_id, request.merchant_order_sn)
        )
        if existing is None:
            await self._refuse_an_order_of_the_same_sn(merchant_id, request.merchant_order_sn)
        now = self._clock()
        for _ in range(8):
            new = codes_repo.NewCashierCode(
                token=secrets.token_urlsafe(18),
                merchant_id=merchant_id,
                app_id=caller.app_id if isinstance(caller, App) else None,
                vendor_sn=caller.vendor.vendor_sn if isinstance(caller, VendorAct) else None,
                merchant_order_sn=request.merchant_order_sn,
                fingerprint=fingerprint,
                order_sn=new_serial(now),
                total_fen=request.total_fen,
                store_id=request.store_id,
                cashier_id=request.cashier_id or 0,
                channel=request.channel,
                body=request.body,
                attach=request.attach,
                notify_url=request.notify_url,
                expire_at=now + request.expire_seconds * 1000,
            )
            outcome = await self._db.write(partial(codes_repo.insert_code, new, now))
            if outcome is None:
                continue
            code, created = outcome
            if not created and code.fingerprint != fingerprint:
                raise _rule(
                    "ORDER_SN_CONFLICT",
                    f"商户订单号 merchant_order_sn={request.merchant_order_sn} "
                    "已存在，且参数与原二维码不一致",
                )
            return code
        raise StorageError("二维码生成冲突，请重试")

    async def _refuse_an_order_of_the_same_sn(
        self, merchant_id: int, merchant_order_sn: str
    ) -> None:
        order = await self._db.read(
            partial(repo.find_order, merchant_id, merchant_order_sn=merchant_order_sn)
        )
        if order is not None:
            raise _rule(
                "ORDER_SN_CONFLICT",
                f"商户订单号 merchant_order_sn={merchant_order_sn} 已有订单，请使用新的商户订单号",
            )

    async def find(self, token: str) -> CashierCodeRecord | None:
        if not _TOKEN.fullmatch(token):  # what token_urlsafe makes; nothing else reaches SQL
            return None
        return await self._db.read(partial(codes_repo.find_code_by_token, token))

    async def order_of(self, code: CashierCodeRecord) -> OrderRecord | None:
        """The order a wallet opened for the code, if any."""
        if code.order_id is not None:
            return await self._db.read(partial(repo.find_order_by_id, code.order_id))
        order = await self._db.read(partial(repo.find_order_by_sn, code.order_sn))
        return order if order is not None and order.merchant_id == code.merchant_id else None

    def state(self, code: CashierCodeRecord, order: OrderRecord | None) -> CodeState:
        if order is not None and order.state == OrderState.SUCCESS:
            return CodeState.PAID
        if order is not None and order.state != OrderState.USERPAYING:
            return CodeState.EXPIRED  # closed or reversed: it will not be paid any more
        return CodeState.EXPIRED if self._clock() >= code.expire_at else CodeState.OPEN

    async def open(
        self, code: CashierCodeRecord, channel: ChannelName, payer_id: str
    ) -> OrderRecord:
        """The code's order for a payer in ``channel``'s wallet: created by the first wallet to
        open the code (a JSAPI order), the same order afterwards, whichever wallet asks."""
        found = await self.order_of(code)
        if found is not None and found.channel != channel:
            return await self._linked(code, found)
        if found is not None and found.payer_id:
            payer_id = found.payer_id  # the order's payer, whoever reloads the page
        caller = await self._caller(code)
        request = CreateOrder(
            channel=channel,
            scene=Scene.JSAPI,
            merchant_order_sn=code.merchant_order_sn,
            total_fen=code.total_fen,
            store_id=code.store_id,
            fingerprint=_order_fingerprint(code, channel),
            cashier_id=code.cashier_id or None,
            payer_id=payer_id,
            call_back_url=code.notify_url,
            body=code.body,
            attach=code.attach,
            order_sn=code.order_sn,
            expire_at=code.expire_at,
            api=ApiVersion.V2,
        )
        try:
            order = await self._payments.create(caller, request)
        except BusinessRuleError as exc:
            # another wallet opened it first: answer its order (the page says which wallet)
            raced = await self.order_of(code) if exc.sub_code == "ORDER_SN_CONFLICT" else None
            if raced is None or not raced.fingerprint.startswith(f"cashier:{code.code_id}:"):
                raise
            order = raced
        return await self._linked(code, order)

    async def _caller(self, code: CashierCodeRecord) -> Caller:
        """Whoever created the code, as they stand now (a secret rotated since signs)."""
        merchants = self._payments.merchants
        if code.app_id is not None:
            app = await merchants.app(code.app_id)
            if app is not None and app.merchant.merchant_id == code.merchant_id:
                return app
        elif code.vendor_sn is not None:
            vendor = await merchants.vendor(code.vendor_sn)
            merchant = await merchants.vendor_merchant(vendor, code.merchant_id) if vendor else None
            if vendor is not None and merchant is not None:
                return VendorAct(vendor, merchant)
        raise _rule("APP_NOT_FOUND", "创建二维码的应用或服务商已不存在")

    async def _linked(self, code: CashierCodeRecord, order: OrderRecord) -> OrderRecord:
        if code.order_id is None:
            await self._db.write(partial(codes_repo.link_order, code.code_id, order.order_id))
        return order


_BY_SERVICE: weakref.WeakKeyDictionary[PaymentService, CashierCodes] = weakref.WeakKeyDictionary()


def cashier_codes_for(service: PaymentService) -> CashierCodes:
    """One per payment service, shared by the methods that create codes and the page."""
    found = _BY_SERVICE.get(service)
    if found is None:
        found = _BY_SERVICE[service] = CashierCodes(service.db, service)
    return found
