"""Payment instructions as stored in ``orders.instruction``: one JSON object with one key saying
which kind it is. Stored once, then every identical retry answers from it byte for byte.

    {"wallet": {"appId": ..., "paySign": ...}}   WalletPackage (prepay_id: orders.prepay_id)
    {"qr_code": "weixin://wxpay/bizpayurl?..."}  QrContent
    {"url": "https://..."}                       RedirectUrl
    {"trade_no": "2026..."}                      ChannelTradeNo
"""

from __future__ import annotations

from jubao.channels.base import (
    ChannelTradeNo,
    PaymentInstruction,
    QrContent,
    RedirectUrl,
    WalletPackage,
)
from jubao.protocol import jsonwire

__all__ = ["StoredInstruction", "decode", "encode"]

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
    doc = jsonwire.loads(text)
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
