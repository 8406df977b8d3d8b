"""Payment-code recognition (reference 7.1) and the swipe request's checks."""

from __future__ import annotations

from typing import Any

import pytest

from jubao.errors import InvalidParameter
from jubao.kinds import ChannelName
from jubao.protocol.methods import parse_swipe
from jubao.protocol.payment_codes import channel_of_code, channel_of_type


@pytest.mark.parametrize(
    ("code", "channel"),
    [
        ("134567890123456789", ChannelName.WECHATPAY),
        ("104567890123456789", ChannelName.WECHATPAY),
        ("154567890123456789", ChannelName.WECHATPAY),
        ("2845678901234567", ChannelName.ALIPAY),  # 16 digits
        ("300000000000000000000000", ChannelName.ALIPAY),  # 24 digits
        ("6221234567890123456", ChannelName.UNIONPAY),
        ("164567890123456789", None),  # 16 is nobody's
        ("13456789012345678", None),  # WeChat is exactly 18
        ("2445678901234567", None),
        ("3145678901234567", None),
        ("3000000000000000000000000", None),  # 25 digits
    ],
)
def test_codes_are_recognised_by_their_digits(code: str, channel: ChannelName | None) -> None:
    assert channel_of_code(code) == channel


def test_fubei_types() -> None:
    assert channel_of_type(1) is ChannelName.WECHATPAY
    assert channel_of_type(2) is ChannelName.ALIPAY
    assert channel_of_type(5) is ChannelName.UNIONPAY
    assert channel_of_type(3) is None


def swipe(**biz: Any) -> dict[str, Any]:
    return {"merchant_order_sn": "till-1", "total_fee": "1.00", "store_id": 1} | biz


def test_swipe_without_type_takes_the_codes_channel() -> None:
    assert parse_swipe(swipe(auth_code="2845678901234567")).channel is ChannelName.ALIPAY


def test_a_type_contradicting_the_code_is_refused() -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_swipe(swipe(auth_code="134567890123456789", type=2))
    assert caught.value.sub_code == "AUTH_CODE_TYPE_MISMATCH"
    assert "type=2" in caught.value.message and "type=1" in caught.value.message


@pytest.mark.parametrize(
    "code", ["12345", "13456789012345678x", "１３４５６７８９０１２３４５６７８９"]
)
def test_unrecognisable_codes_are_refused(code: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_swipe(swipe(auth_code=code))
    assert caught.value.sub_code == "AUTH_CODE_INVALID"


def test_the_code_is_required() -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_swipe(swipe())
    assert caught.value.sub_code == "MISSING_PARAMETER"
