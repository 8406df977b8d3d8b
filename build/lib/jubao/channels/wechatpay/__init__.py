"""The WeChat Pay API v3 service-provider (partner) JSAPI / mini-program channel.

``WechatPayChannel(WechatPayConfig(...))`` implements ``jubao.channels.base.Channel`` against
``https://api.mch.weixin.qq.com`` or anything speaking its wire format (the sandbox simulator).
See ``docs/wechatpay-channel.md``.
"""

from jubao.channels.wechatpay.client import WechatPayChannel
from jubao.channels.wechatpay.config import DEFAULT_BASE_URL, WechatPayConfig
from jubao.channels.wechatpay.keys import (
    generate_sp_credentials,
    load_private_key,
    load_public_key,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "WechatPayChannel",
    "WechatPayConfig",
    "generate_sp_credentials",
    "load_private_key",
    "load_public_key",
]
