"""Payment instructions as stored in ``orders.instruction``: one JSON object with one key saying
which kind it is. Stored once, then every identical retry answers from it byte for byte.

    {"wallet": {"appId": ..., "paySign": ...}}   WalletPackage (prepay_id: orders.prepay_id)
    {"qr_code": "weixin://wxpay/bizpayurl?..."}  QrContent
    {"url": "https://..."}                       RedirectUrl
    {"trade_no": "2026..."}                      ChannelTradeNo
    {"payment_code": "submitted"}                a payment code is with the channel
    {"declined": {"sub_code": ..., "message": ...}}  the channel refused the payment code
"""

from __future__ import annotations

from dataclasses import dataclass

from jubao.channels.base import (
    ChannelTradeNo,
    PaymentInstruction,
    QrContent,
    RedirectUrl,
    WalletPackage,
)
from jubao.protocol import jsonwire

__all__ = [
    "Declined",
    "PaymentCodeSubmitted",
    "Stored",
    "StoredInstruction",
    "decode",
    "decode_stored",
    "encode",
    "encode_state",
]

StoredInstruction = WalletPackage | QrContent | RedirectUrl | ChannelTradeNo


def encode(instruction: StoredInstruction) -> str:
    if isinstance(instruction, WalletPackage):
        return jsonwire.dumps({"wallet": dict(instruction.params)})
    if isinstance(instruction, QrContent):
        return jsonwire.dumps({"qr_code": instruction.code})
    if isinstance(instruction, RedirectUrl):
        return jsonwire.dumps({"url": instruction.url})
    return jsonwire.dumps({"trade_no": instruction.trade_no})


def decode(text: str, prepay_id: str | None) -> PaymentInstruction:
    # jubao wrote this text (``encode``): strings only, read exactly without the guards that
    # caller input needs (jsonwire.loads costs several times more).
    return _instruction(jsonwire.plain_loads(text), text, prepay_id)


def _instruction(doc: object, text: str, prepay_id: str | None) -> PaymentInstruction:
    if not isinstance(doc, dict) or len(doc) != 1:
        raise ValueError(f"not a stored payment instruction: {text[:60]!r}")
    ((kind, value),) = doc.items()
    if kind == "wallet" and isinstance(value, dict) and prepay_id:
        return WalletPackage(prepay_id=prepay_id, params={k: str(v) for k, v in value.items()})
    if kind == "qr_code" and isinstance(value, str):
        return QrContent(prepay_id=prepay_id, code=value)
    if kind == "url" and isinstance(value, str):
        return RedirectUrl(prepay_id=prepay_id, url=value)
    if kind == "trade_no" and isinstance(value, str):
        return ChannelTradeNo(trade_no=value)
    raise ValueError(f"not a stored payment instruction: {text[:60]!r}")


@dataclass(frozen=True, slots=True)
class PaymentCodeSubmitted:
    """A payment code was sent to the channel (it reports the result in its answer and queries:
    there is nothing for the payer to be handed)."""


@dataclass(frozen=True, slots=True)
class Declined:
    """The channel refused the payer's payment code: every identical retry answers this again."""

    sub_code: str
    message: str


Stored = StoredInstruction | PaymentCodeSubmitted | Declined


def encode_state(state: PaymentCodeSubmitted | Declined) -> str:
    if isinstance(state, Declined):
        return jsonwire.dumps({"declined": {"sub_code": state.sub_code, "message": state.message}})
    return jsonwire.dumps({"payment_code": "submitted"})


def decode_stored(text: str, prepay_id: str | None) -> PaymentInstruction | Stored:
    """Any stored value: a channel's instruction or what became of a payment code (the text is
    parsed once: identical retries of every create come through here)."""
    doc = jsonwire.plain_loads(text)
    if isinstance(doc, dict) and doc.get("payment_code") == "submitted":
        return PaymentCodeSubmitted()
    declined = doc.get("declined") if isinstance(doc, dict) else None
    if isinstance(declined, dict):
        return Declined(str(declined.get("sub_code", "")), str(declined.get("message", "")))
    return _instruction(doc, text, prepay_id)
