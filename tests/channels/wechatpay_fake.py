"""A fake WeChat Pay v3 for the channel's tests, built on ``cryptography`` directly.

It deliberately does not import the channel's signing or AES-GCM code: requests are verified and
answers signed from the reference text, so a mistake in the channel cannot be mirrored here.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jubao.channels.wechatpay import WechatPayChannel, WechatPayConfig

SP_MCHID = "1900000001"
SP_APPID = "wx8888888888888888"
SUB_MCHID = "1900000109"
SUB_APPID = "wxd678efh567hg6999"
SERIAL_NO = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PUB_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000"
APIV3_KEY = "0123456789abcdefABCDEF0123456789"
BASE_URL = "https://api.mch.weixin.qq.com"
NOW = datetime(2026, 11, 25, 15, 0, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())

_AUTH = re.compile(r"^WECHATPAY2-SHA256-RSA2048 (?P<params>.+)$")
_PARAM = re.compile(r'(\w+)="([^"]*)"')

Handler = Callable[[httpx.Request], httpx.Response]


def pem_private(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def pem_public(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(key: rsa.RSAPublicKey, message: bytes, signature: str) -> None:
    """Raises ``cryptography.exceptions.InvalidSignature`` on a mismatch."""
    key.verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())


def parse_authorization(value: str) -> dict[str, str]:
    match = _AUTH.match(value)
    assert match, f"bad Authorization scheme: {value!r}"
    params = dict(_PARAM.findall(match["params"]))
    assert set(params) == {"mchid", "nonce_str", "signature", "timestamp", "serial_no"}, params
    return params


@dataclass
class FakeWechat:
    sp_key: rsa.RSAPrivateKey
    platform_key: rsa.RSAPrivateKey
    received: list[httpx.Request] = field(default_factory=list)
    now_ts: int = NOW_TS

    @classmethod
    def create(cls) -> FakeWechat:
        def generate() -> rsa.RSAPrivateKey:
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)

        return cls(sp_key=generate(), platform_key=generate())

    # ---- the merchant side ------------------------------------------------------------------

    def config(self, **overrides: Any) -> WechatPayConfig:
        values: dict[str, Any] = {
            "base_url": BASE_URL,
            "sp_mchid": SP_MCHID,
            "sp_appid": SP_APPID,
            "private_key_pem": pem_private(self.sp_key),
            "serial_no": SERIAL_NO,
            "apiv3_key": APIV3_KEY,
            "platform_public_key_pem": pem_public(self.platform_key.public_key()),
            "public_key_id": PUB_KEY_ID,
        }
        values.update(overrides)
        return WechatPayConfig(**values)

    def channel(self, handler: Handler, **overrides: Any) -> WechatPayChannel:
        """A channel whose requests reach ``handler`` after their signature has been checked."""
        self.received.clear()

        def transport(request: httpx.Request) -> httpx.Response:
            self.received.append(request)
            self.check_authorization(request)
            return handler(request)

        client = httpx.AsyncClient(transport=httpx.MockTransport(transport))
        return WechatPayChannel(self.config(**overrides), http_client=client, clock=lambda: NOW)

    # ---- the WeChat side ----------------------------------------------------------------------

    def check_authorization(self, request: httpx.Request) -> dict[str, str]:
        """What WeChat does: rebuild the five-line message from what arrived and verify it."""
        params = parse_authorization(request.headers["Authorization"])
        assert params["mchid"] == SP_MCHID
        assert params["serial_no"] == SERIAL_NO
        assert re.fullmatch(r"[A-Za-z0-9]{32}", params["nonce_str"])
        assert re.fullmatch(r"\d{10}", params["timestamp"])
        assert abs(int(params["timestamp"]) - self.now_ts) < 300
        url = request.url.raw_path.decode()  # path + "?" + query, exactly as sent, no host
        message = (
            f"{request.method}\n{url}\n{params['timestamp']}\n{params['nonce_str']}\n".encode()
            + request.content
            + b"\n"
        )
        rsa_verify(self.sp_key.public_key(), message, params["signature"])
        return params

    def signed_headers(
        self,
        body: bytes,
        *,
        serial: str = PUB_KEY_ID,
        timestamp: int | None = None,
        key: rsa.RSAPrivateKey | None = None,
        signature: str | None = None,
    ) -> dict[str, str]:
        ts = str(self.now_ts if timestamp is None else timestamp)
        nonce = secrets.token_hex(16)
        message = f"{ts}\n{nonce}\n".encode() + body + b"\n"
        return {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature or rsa_sign(key or self.platform_key, message),
            "Wechatpay-Serial": serial,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Request-ID": "08F78BB5AF0610D302A6A5D00D7F6A0C-268435456",
        }

    def answer(self, status: int, doc: dict[str, Any] | None = None, **sign: Any) -> httpx.Response:
        """A signed answer (an empty body for ``doc=None``, as for 204)."""
        body = b"" if doc is None else json.dumps(doc, ensure_ascii=False).encode()
        headers = self.signed_headers(body, **sign)
        if doc is not None:
            headers["Content-Type"] = "application/json"
        return httpx.Response(status, content=body, headers=headers)

    @staticmethod
    def error(status: int, code: str, message: str) -> httpx.Response:
        """Error answers are unsigned, as WeChat's SDKs expect."""
        return httpx.Response(status, json={"code": code, "message": message})

    def notification(
        self,
        event_type: str,
        plaintext: dict[str, Any],
        *,
        original_type: str | None = None,
        apiv3_key: str = APIV3_KEY,
        **sign: Any,
    ) -> tuple[dict[str, str], bytes]:
        kind = original_type or event_type.split(".")[0].lower()
        nonce = secrets.token_hex(6)  # 12 characters, as WeChat sends
        sealed = AESGCM(apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(plaintext, ensure_ascii=False).encode(), kind.encode()
        )
        envelope = {
            "id": "EV-2018022511223320873",
            "create_time": "2026-11-25T23:00:05+08:00",
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": {
                "original_type": kind,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(sealed).decode(),
                "associated_data": kind,
                "nonce": nonce,
            },
        }
        body = json.dumps(envelope, ensure_ascii=False).encode()
        return self.signed_headers(body, **sign), body


def paid_transaction(out_trade_no: str = "JB202611250001", **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "sp_appid": SP_APPID,
        "sp_mchid": SP_MCHID,
        "sub_appid": SUB_APPID,
        "sub_mchid": SUB_MCHID,
        "out_trade_no": out_trade_no,
        "transaction_id": "4200000001202611250000000001",
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": "2026-11-25T23:00:01+08:00",
        "payer": {"sub_openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 1234, "payer_total": 1234, "currency": "CNY", "payer_currency": "CNY"},
    }
    doc.update(changes)
    return doc


def refund_doc(out_refund_no: str = "JR202611250001", **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "refund_id": "50000000382019052709732678859",
        "out_refund_no": out_refund_no,
        "transaction_id": "4200000001202611250000000001",
        "out_trade_no": "JB202611250001",
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": "2026-11-25T23:10:00+08:00",
        "status": "PROCESSING",
        "funds_account": "AVAILABLE",
        "amount": {
            "total": 1234,
            "refund": 500,
            "payer_total": 1234,
            "payer_refund": 500,
            "currency": "CNY",
        },
    }
    doc.update(changes)
    return doc
