"""Asynchronous notifications: the simulator delivers on Alipay's schedule until the receiver
answers ``success``; the channel verifies them and refuses forged or stale ones."""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jubao.channels.base import (
    ImmediateOutcome,
    RefundEvent,
    RefundRequest,
    RefundStatus,
    TradeStatus,
    TransactionEvent,
)
from jubao.errors import ChannelNotificationRejected
from jubao.kinds import Scene
from tests.alipay.support import (
    ISV_APP_ID,
    MERCHANT_APP_ID,
    World,
    payment_code,
    sandbox_keys,
    world,
)


async def _pay(alipay: World, total_fen: int = 1000) -> str:
    request = alipay.payment(Scene.BARCODE, total_fen=total_fen, auth_code=payment_code())
    outcome = await alipay.channel.create_payment(request)
    assert isinstance(outcome, ImmediateOutcome)
    return request.out_trade_no


async def _notifications(alipay: World, out_trade_no: str) -> list[dict[str, Any]]:
    await alipay.sim.idle()
    _, answer = await alipay.control("GET", f"/control/notifications?out_trade_no={out_trade_no}")
    items: list[dict[str, Any]] = answer["notifications"]
    return items


def _fields(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def _sign_with(key: rsa.RSAPrivateKey, fields: dict[str, str]) -> bytes:
    """Signs as Alipay does, computed here: sorted, no sign/sign_type, no empties."""
    content = "&".join(
        f"{k}={v}" for k, v in sorted(fields.items()) if k not in ("sign", "sign_type") and v
    )
    signature = key.sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())
    return urlencode({**fields, "sign": base64.b64encode(signature).decode()}).encode()


def _alipay_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(
        sandbox_keys().alipay_private_key.encode(), password=None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


async def test_delivered_until_the_receiver_says_success(alipay: World) -> None:
    alipay.receiver.answers = ["fail", "<html>success</html>"]
    out_trade_no = await _pay(alipay)
    (notification,) = await _notifications(alipay, out_trade_no)
    assert notification["state"] == "delivered"
    assert len(notification["attempts"]) == 3
    assert len(set(alipay.receiver.bodies)) == 1  # every redelivery is the same notice
    (event,) = alipay.receiver.events
    assert isinstance(event, TransactionEvent)
    assert event.event_id == notification["id"]
    fields = _fields(alipay.receiver.bodies[0])
    assert fields["auth_app_id"] == MERCHANT_APP_ID
    assert fields["app_id"] == ISV_APP_ID
    assert fields["notify_type"] == "trade_status_sync"
    assert "" not in fields.values()


async def test_gives_up_after_alipays_schedule(alipay: World) -> None:
    alipay.receiver.answers = ["fail"] * 10
    out_trade_no = await _pay(alipay)
    (notification,) = await _notifications(alipay, out_trade_no)
    assert notification["state"] == "failed"
    assert len(notification["attempts"]) == 5  # the first delivery and 4 retries (test schedule)
    alipay.receiver.answers = []
    status, _ = await alipay.control("POST", f"/control/notifications/{notification['id']}/deliver")
    assert status == 200
    (again,) = await _notifications(alipay, out_trade_no)
    assert again["state"] == "delivered"
    assert len(alipay.receiver.events) == 1


async def test_dropped_and_duplicated_deliveries(alipay: World) -> None:
    await alipay.control("POST", "/control/behaviour", notifications="drop")
    dropped = await _pay(alipay)
    (notification,) = await _notifications(alipay, dropped)
    assert (notification["state"], alipay.receiver.bodies) == ("dropped", [])

    await alipay.control("POST", "/control/behaviour", notifications="duplicate")
    doubled = await _pay(alipay)
    (notification,) = await _notifications(alipay, doubled)
    assert notification["state"] == "delivered"
    assert len(alipay.receiver.events) == 2
    assert len({e.event_id for e in alipay.receiver.events}) == 1  # absorbed by its id


async def test_refund_notices_and_out_of_order_arrival(alipay: World) -> None:
    await alipay.control("POST", "/control/behaviour", refund_notifications=True)
    out_trade_no = await _pay(alipay, 1000)
    refund = RefundRequest(
        binding=alipay.binding,
        out_trade_no=out_trade_no,
        out_refund_no="R20260101000001",
        refund_fen=400,
        total_fen=1000,
        notify_url=alipay.notify_url,
    )
    await alipay.channel.refund(refund)
    await alipay.sim.idle()
    assert len(alipay.receiver.bodies) == 2
    # Parsing is stateless: the refund notice read before the payment notice means the same.
    late_first = [
        alipay.channel.parse_notification({}, b) for b in reversed(alipay.receiver.bodies)
    ]
    refund_event, payment_event = late_first
    assert isinstance(refund_event, RefundEvent)
    assert (refund_event.refund.out_refund_no, refund_event.refund.status) == (
        "R20260101000001",
        RefundStatus.SUCCESS,
    )
    assert refund_event.refund.out_trade_no == out_trade_no
    assert refund_event.refund.refund_fen is None  # Alipay reports only the cumulative refund_fee
    assert isinstance(payment_event, TransactionEvent)
    assert (payment_event.transaction.status, payment_event.transaction.total_fen) == (
        TradeStatus.PAID,
        1000,
    )
    assert refund_event.event_id != payment_event.event_id


async def test_forged_notifications_are_rejected(alipay: World) -> None:
    await _pay(alipay, 1000)
    await alipay.sim.idle()
    (body,) = alipay.receiver.bodies
    genuine = _fields(body)
    channel = alipay.channel
    assert isinstance(channel.parse_notification({}, body), TransactionEvent)

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tampered = urlencode({**genuine, "total_amount": "0.01"}).encode()
    resigned_by_stranger = _sign_with(stranger, {**genuine, "total_amount": "0.01"})
    other_app = _sign_with(_alipay_key(), {**genuine, "app_id": "2021999999999999"})
    unsigned = urlencode({k: v for k, v in genuine.items() if k != "sign"}).encode()
    repeated = body + b"&total_amount=0.01"
    # Signed over the fields *with* sign_type: not Alipay's rule for notifications.
    with_type = dict(genuine)
    content = "&".join(f"{k}={v}" for k, v in sorted(with_type.items()) if k != "sign" and v)
    with_type["sign"] = base64.b64encode(
        _alipay_key().sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    wrong_rule = urlencode(with_type).encode()
    for forged in (
        tampered,
        resigned_by_stranger,
        other_app,
        unsigned,
        repeated,
        wrong_rule,
        b"\xff",
    ):
        with pytest.raises(ChannelNotificationRejected):
            channel.parse_notification({}, forged)


async def test_replays_are_absorbed_then_refused_when_stale(alipay: World) -> None:
    await _pay(alipay)
    await alipay.sim.idle()
    (body,) = alipay.receiver.bodies
    first = alipay.channel.parse_notification({}, body)
    alipay.clock.advance(26 * 3600)  # within Alipay's retry span: the same event again
    assert alipay.channel.parse_notification({}, body) == first
    alipay.clock.advance(2 * 86400)  # long after any retry: a replay
    with pytest.raises(ChannelNotificationRejected, match="old"):
        alipay.channel.parse_notification({}, body)


def test_notification_answers(alipay: World) -> None:
    accepted = alipay.channel.notification_answer(True)
    refused = alipay.channel.notification_answer(False, "金额不符")
    assert (accepted.status, accepted.body) == (200, b"success")
    assert refused.body != b"success"


async def test_a_waiting_payment_notifies_once_paid(alipay: World) -> None:
    request = alipay.payment(Scene.BARCODE, auth_code=payment_code("1111"))
    await alipay.channel.create_payment(request)
    assert alipay.receiver.bodies == []
    for _ in range(100):
        if alipay.receiver.events:
            break
        await asyncio.sleep(0.05)
    (event,) = alipay.receiver.events
    assert isinstance(event, TransactionEvent)
    assert event.transaction.status is TradeStatus.PAID


async def test_deliver_now_replaces_a_waiting_retry() -> None:
    async with world(time_scale=0.01) as slow:  # the first retry would wait 2.4 s
        slow.receiver.answers = ["fail"]
        out_trade_no = await _pay(slow)
        for _ in range(100):
            if slow.receiver.bodies:
                break
            await asyncio.sleep(0.02)
        _, listed = await slow.control("GET", f"/control/notifications?out_trade_no={out_trade_no}")
        (waiting,) = listed["notifications"]
        assert (waiting["state"], len(waiting["attempts"])) == ("pending", 1)
        status, _ = await slow.control("POST", f"/control/notifications/{waiting['id']}/deliver")
        assert status == 200
        (done,) = await _notifications(slow, out_trade_no)  # idle: no retry loop is left behind
        assert (done["state"], len(done["attempts"])) == ("delivered", 2)
        assert len(slow.receiver.events) == 1
