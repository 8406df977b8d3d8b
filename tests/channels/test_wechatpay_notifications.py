"""Notifications: verified against the platform key, decrypted with the APIv3 key, or refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from jubao.channels.base import RefundEvent, RefundStatus, TradeStatus, TransactionEvent
from jubao.channels.wechatpay import WechatPayChannel
from jubao.errors import ChannelNotificationRejected
from tests.channels.wechatpay_fake import (
    NOW_TS,
    SP_MCHID,
    SUB_MCHID,
    FakeWechat,
    paid_transaction,
    refund_doc,
)


@pytest.fixture(scope="module")
def wechat() -> FakeWechat:
    return FakeWechat.create()


@pytest.fixture
def channel(wechat: FakeWechat) -> WechatPayChannel:
    return wechat.channel(lambda _request: httpx.Response(500))


def refund_notification_plaintext() -> dict[str, Any]:
    doc = refund_doc(status="SUCCESS", success_time="2026-11-25T23:10:05+08:00")
    del doc["status"]  # notifications say refund_status
    doc.update(sp_mchid=SP_MCHID, sub_mchid=SUB_MCHID, refund_status="SUCCESS")
    return doc


def test_transaction_success(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    headers, body = wechat.notification("TRANSACTION.SUCCESS", paid_transaction())
    event = channel.parse_notification(headers, body)
    assert isinstance(event, TransactionEvent)
    assert event.event_id == "EV-2018022511223320873"
    assert event.merchant_id == SUB_MCHID
    transaction = event.transaction
    assert transaction.out_trade_no == "JB202611250001"
    assert transaction.status is TradeStatus.PAID
    assert transaction.total_fen == 1234
    assert transaction.transaction_id == "4200000001202611250000000001"
    assert transaction.payer_id == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    assert transaction.success_time == datetime(2026, 11, 25, 15, 0, 1, tzinfo=UTC)


def test_refund_success(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    headers, body = wechat.notification("REFUND.SUCCESS", refund_notification_plaintext())
    event = channel.parse_notification(headers, body)
    assert isinstance(event, RefundEvent)
    assert event.merchant_id == SUB_MCHID
    refund = event.refund
    assert refund.out_refund_no == "JR202611250001"
    assert refund.status is RefundStatus.SUCCESS
    assert refund.raw_status == "SUCCESS"
    assert refund.refund_fen == 500
    assert refund.refund_id == "50000000382019052709732678859"
    assert refund.success_time == datetime(2026, 11, 25, 15, 10, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event_type", "status"),
    [("REFUND.ABNORMAL", "ABNORMAL"), ("REFUND.CLOSED", "CLOSED")],
)
def test_failed_refunds(
    wechat: FakeWechat, channel: WechatPayChannel, event_type: str, status: str
) -> None:
    plaintext = refund_notification_plaintext() | {"refund_status": status}
    event = channel.parse_notification(*wechat.notification(event_type, plaintext))
    assert isinstance(event, RefundEvent)
    assert event.refund.status is RefundStatus.FAILED


def test_header_names_are_case_insensitive(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    headers, body = wechat.notification("TRANSACTION.SUCCESS", paid_transaction())
    lowered = {key.lower(): value for key, value in headers.items()}
    shouted = {key.upper(): value for key, value in headers.items()}
    assert isinstance(channel.parse_notification(lowered, body), TransactionEvent)
    assert isinstance(channel.parse_notification(shouted, body), TransactionEvent)
    assert isinstance(channel.parse_notification(httpx.Headers(headers), body), TransactionEvent)


def test_timestamp_just_inside_the_window(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    for ts in (NOW_TS - 299, NOW_TS + 299):
        headers, body = wechat.notification("TRANSACTION.SUCCESS", paid_transaction(), timestamp=ts)
        assert isinstance(channel.parse_notification(headers, body), TransactionEvent)


# ---- refusals -----------------------------------------------------------------------------------


def _reject(channel: WechatPayChannel, headers: dict[str, str], body: bytes, why: str) -> None:
    with pytest.raises(ChannelNotificationRejected, match=why) as caught:
        channel.parse_notification(headers, body)
    assert caught.value.sub_code == "NOTIFICATION_REJECTED"


def test_tampered_body(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    headers, body = wechat.notification("TRANSACTION.SUCCESS", paid_transaction())
    _reject(
        channel, headers, body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESZ"), "verify"
    )


def test_wrong_serial(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    headers, body = wechat.notification(
        "TRANSACTION.SUCCESS", paid_transaction(), serial="PUB_KEY_ID_SOMEONE_ELSE"
    )
    _reject(channel, headers, body, "Serial")


@pytest.mark.parametrize("offset", [-300, -3600, 300, 86400])
def test_stale_or_future_timestamp(
    wechat: FakeWechat, channel: WechatPayChannel, offset: int
) -> None:
    headers, body = wechat.notification(
        "TRANSACTION.SUCCESS", paid_transaction(), timestamp=NOW_TS + offset
    )
    _reject(channel, headers, body, "window")


def test_signtest_probe(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    headers, body = wechat.notification(
        "TRANSACTION.SUCCESS", paid_transaction(), signature="WECHATPAY/SIGNTEST/bm90IGEgc2ln"
    )
    _reject(channel, headers, body, "SIGNTEST")


def test_wrong_apiv3_key(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    headers, body = wechat.notification(
        "TRANSACTION.SUCCESS", paid_transaction(), apiv3_key="ffffffffffffffffffffffffffffffff"
    )
    _reject(channel, headers, body, "GCM tag")


def test_ciphertext_altered_then_resigned(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    _, body = wechat.notification("TRANSACTION.SUCCESS", paid_transaction())
    envelope = json.loads(body)
    sealed = bytearray(base64.b64decode(envelope["resource"]["ciphertext"]))
    sealed[0] ^= 1
    envelope["resource"]["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
    body = json.dumps(envelope).encode()
    _reject(channel, wechat.signed_headers(body), body, "GCM tag")


def test_missing_signature_headers(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    headers, body = wechat.notification("TRANSACTION.SUCCESS", paid_transaction())
    del headers["Wechatpay-Nonce"]
    _reject(channel, headers, body, "missing")


def test_signed_by_another_key(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    headers, body = wechat.notification(
        "TRANSACTION.SUCCESS", paid_transaction(), key=wechat.sp_key
    )
    _reject(channel, headers, body, "verify")


def test_unknown_event_type(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    headers, body = wechat.notification(
        "PAYSCORE.USER_OPEN", paid_transaction(), original_type="transaction"
    )
    _reject(channel, headers, body, "event_type")


def test_original_type_contradicting_event(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    headers, body = wechat.notification(
        "TRANSACTION.SUCCESS", refund_notification_plaintext(), original_type="refund"
    )
    _reject(channel, headers, body, "original_type")


def test_another_service_provider(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    plaintext = paid_transaction(sp_mchid="1900009999")
    _reject(channel, *wechat.notification("TRANSACTION.SUCCESS", plaintext), "service provider")


def test_plaintext_without_trade_state(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    plaintext = paid_transaction()
    del plaintext["trade_state"]
    _reject(channel, *wechat.notification("TRANSACTION.SUCCESS", plaintext), "trade_state")


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"id":"EV-1","event_type":"TRANSACTION.SUCCESS"}']
)
def test_signed_garbage(wechat: FakeWechat, channel: WechatPayChannel, body: bytes) -> None:
    _reject(channel, wechat.signed_headers(body), body, "微信支付通知被拒绝")


def test_unsupported_algorithm(wechat: FakeWechat, channel: WechatPayChannel) -> None:
    _, body = wechat.notification("TRANSACTION.SUCCESS", paid_transaction())
    envelope = json.loads(body)
    envelope["resource"]["algorithm"] = "AEAD_SM4_GCM"
    body = json.dumps(envelope).encode()
    _reject(channel, wechat.signed_headers(body), body, "algorithm")
