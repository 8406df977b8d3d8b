"""Verification of the merchant's ``Authorization: WECHATPAY2-SHA256-RSA2048 …`` header.

Message: ``METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n`` where URL is one of the URLs the
request may have been signed for (the path as sent, or relative to the simulator's mount point;
see ``v3/endpoint.py``) plus ``?query``, and body the raw bytes received."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.channels.simulator.config import SpMerchant
from jubao.channels.simulator.errors import ApiError, InternalCode
from jubao.channels.simulator.signing import SIGNATURE_TYPE, lines, verify

__all__ = ["MAX_SKEW_SECONDS", "authenticate", "parse_authorization"]

MAX_SKEW_SECONDS = 300
FIELDS = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
PAIR = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')


def _sign_error(message: str) -> ApiError:
    return ApiError(401, "SIGN_ERROR", message, internal=InternalCode.SIGN_ERROR)


def parse_authorization(header: str | None) -> dict[str, str]:
    if not header:
        raise _sign_error("缺少 Authorization 请求头")
    scheme, _, rest = header.strip().partition(" ")
    if scheme != SIGNATURE_TYPE:
        raise _sign_error(f"Authorization 认证类型须为 {SIGNATURE_TYPE}")
    fields: dict[str, str] = {}
    for chunk in rest.split(","):
        match = PAIR.fullmatch(chunk)
        if match is None:
            raise _sign_error("Authorization 格式错误")
        fields[match.group(1)] = match.group(2)
    missing = [name for name in FIELDS if not fields.get(name)]
    if missing:
        raise _sign_error(f"Authorization 缺少 {', '.join(missing)}")
    return fields


def authenticate(
    *,
    header: str | None,
    method: str,
    urls: Sequence[str],
    body: bytes,
    now: float,
    lookup: Callable[[str], tuple[SpMerchant, rsa.RSAPublicKey] | None],
) -> SpMerchant:
    """Returns the service provider that signed the request, or raises 401 SIGN_ERROR.

    The signature must verify over one of ``urls``; everything else it covers (method, query,
    timestamp, nonce, body) is the same in each candidate message."""
    fields = parse_authorization(header)
    found = lookup(fields["mchid"])
    if found is None:
        raise _sign_error(f"商户号 {fields['mchid']} 不存在")
    merchant, public_key = found
    if fields["serial_no"].upper() != merchant.api_serial_no.upper():
        raise _sign_error("商户证书序列号 serial_no 与商户号不匹配")
    timestamp = fields["timestamp"]
    if not timestamp.isdigit() or abs(int(now) - int(timestamp)) >= MAX_SKEW_SECONDS:
        raise _sign_error("请求时间戳与当前时间相差过大（须在5分钟内），或格式不是秒级时间戳")
    nonce, signature = fields["nonce_str"], fields["signature"]
    if not any(
        verify(public_key, lines(method, url, timestamp, nonce, body), signature) for url in urls
    ):
        raise _sign_error("签名错误，请检查待签名串（方法、URL含查询串、时间戳、随机串、请求体）")
    return merchant
