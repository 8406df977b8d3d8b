"""The Alipay OpenAPI channel (``gateway.do``, RSA2, public-key mode) as an ISV acting for
merchants through their ``app_auth_token``.

``AlipayChannel(AlipayConfig(...))`` implements ``jubao.channels.base.Channel`` against
``https://openapi.alipay.com/gateway.do`` or anything speaking its wire format (the Alipay
simulator). See ``docs/alipay-channel.md``.
"""

from jubao.channels.alipay.client import AlipayChannel
from jubao.channels.alipay.config import (
    DEFAULT_GATEWAY_URL,
    DEFAULT_OAUTH_AUTHORIZE_URL,
    AlipayConfig,
)
from jubao.channels.alipay.keys import load_private_key, load_public_key

__all__ = [
    "DEFAULT_GATEWAY_URL",
    "DEFAULT_OAUTH_AUTHORIZE_URL",
    "AlipayChannel",
    "AlipayConfig",
    "load_private_key",
    "load_public_key",
]
