"""Which channel a customer's payment code belongs to, from its digits (reference 7.1, as Fubei's
own till software recognises them). Pure."""

from __future__ import annotations

import re

from jubao.kinds import ChannelName

__all__ = ["channel_of_code", "channel_of_type"]

_PATTERNS = (
    (ChannelName.WECHATPAY, re.compile(r"1[0-5]\d{16}")),
    (ChannelName.ALIPAY, re.compile(r"(2[5-9]|30)\d{14,22}")),
    (ChannelName.UNIONPAY, re.compile(r"62[1-8]\d{16}")),
)
_TYPES = {channel.fubei_type: channel for channel in ChannelName}


def channel_of_code(auth_code: str) -> ChannelName | None:
    """The channel whose payment codes look like ``auth_code``, or ``None``."""
    for channel, pattern in _PATTERNS:
        if pattern.fullmatch(auth_code):
            return channel
    return None


def channel_of_type(fubei_type: int) -> ChannelName | None:
    """Fubei 1.0 ``type`` (1 WeChat, 2 Alipay, 5 UnionPay) as a channel."""
    return _TYPES.get(fubei_type)
