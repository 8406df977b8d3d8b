"""Stored payment instructions read back exactly what was stored, whatever the text holds."""

from __future__ import annotations

import json

import pytest

from jubao.channels.base import ChannelTradeNo, QrContent, RedirectUrl, WalletPackage
from jubao.payments import instructions

PARAMS = {
    "appId": "wx8888888888888888",
    "timeStamp": "1764460800",
    "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    "package": "prepay_id=wx2611252300abc",
    "signType": "RSA",
    "paySign": "oR9d8PuhnIc+YZ8cBHFCwfgpaK9gd7vaRvkYD7rthRAZ/X+QBhcCYL21N7cHCTUxbQ==",
}


@pytest.mark.parametrize(
    "instruction",
    [
        WalletPackage(prepay_id="wx2611252300abc", params=PARAMS),
        QrContent(prepay_id=None, code='weixin://wxpay/bizpayurl?pr=中文"\\\u2028'),
        RedirectUrl(prepay_id="p1", url="https://openapi.alipay.com/gateway.do?a=1&b=%E4"),
        ChannelTradeNo(trade_no="2026113022001400001"),
    ],
)
def test_each_kind_reads_back_as_stored(
    instruction: instructions.StoredInstruction,
) -> None:
    text = instructions.encode(instruction)
    prepay_id = getattr(instruction, "prepay_id", None)
    assert instructions.decode(text, prepay_id) == instruction
    assert instructions.decode_stored(text, prepay_id) == instruction


def test_states_read_back_and_junk_is_refused() -> None:
    declined = instructions.Declined("AUTH_CODE_INVALID", "付款码无效，请刷新后重试")
    assert instructions.decode_stored(instructions.encode_state(declined), None) == declined
    submitted = instructions.PaymentCodeSubmitted()
    assert instructions.decode_stored(instructions.encode_state(submitted), None) == submitted
    for junk in ("[]", '{"a": 1, "b": 2}', '{"wallet": "x"}'):
        with pytest.raises(ValueError, match="not a stored payment instruction"):
            instructions.decode(junk, "p")
    for broken in ("", "{"):
        with pytest.raises(json.JSONDecodeError):  # orjson's is one too
            instructions.decode(broken, "p")
