"""An independent merchant for the simulator tests: its own request signer, response verifier,
notification decryption and paySign (written here, not imported from jubao.channels.wechatpay)."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.applications import Starlette
from starlette.routing import Mount

from jubao.channels.simulator import Simulator, SimulatorConfig, SpMerchant, create_simulator_app

SP_MCHID = "1900000001"
SP_APPID = "wxsp00000000000001"
SUB_MCHID = "1900000101"
SUB_APPID = "wxsub0000000000001"
OTHER_SUB_MCHID = "1900000102"
SERIAL_NO = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
APIV3_KEY = "0123456789abcdefghijABCDEFGHIJ01"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
PREFIX = "/sim/wechatpay"
NOTIFY_URL = "https://merchant.example/wechat/notify"
TEST_SCHEDULE = (15, 15, 30)


@functools.cache
def sp_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sp_public_pem() -> bytes:
    return (
        sp_private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def rsa_sign(message: str | bytes) -> str:
    data = message.encode() if isinstance(message, str) else message
    signature = sp_private_key().sign(data, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def rsa_verify(public_pem: bytes, message: bytes, signature_b64: str) -> None:
    key = serialization.load_pem_public_key(public_pem)
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(base64.b64decode(signature_b64), message, padding.PKCS1v15(), hashes.SHA256())


class FakeClock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@dataclass
class Receiver:
    """The merchant's notify_url: records each POST; answers ``statuses`` in turn, then 200."""

    statuses: list[int] = field(default_factory=list)
    received: list[httpx.Request] = field(default_factory=list)
    gate: asyncio.Event | None = None
    unreachable: int = 0
    """How many of the first POSTs fail to connect."""
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        if self.unreachable > 0:
            self.unreachable -= 1
            raise httpx.ConnectError("connection refused", request=request)
        self.received.append(request)
        async with self.changed:
            self.changed.notify_all()
        if self.gate is not None:
            await self.gate.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        if status >= 300:
            return httpx.Response(status, json={"code": "FAIL", "message": "rejected"})
        return httpx.Response(status)

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5), self.changed:
            await self.changed.wait_for(lambda: len(self.received) >= count)


def sp_merchant(**overrides: Any) -> SpMerchant:
    values: dict[str, Any] = {
        "sp_mchid": SP_MCHID,
        "sp_appids": [SP_APPID],
        "api_public_key_pem": sp_public_pem(),
        "api_serial_no": SERIAL_NO,
        "apiv3_key": APIV3_KEY,
        "sub_merchants": {SUB_MCHID: [SUB_APPID], OTHER_SUB_MCHID: []},
    }
    values.update(overrides)
    return SpMerchant(**values)


def make_simulator(
    receiver: Receiver, data_dir: Path | None = None, clock: FakeClock | None = None, **config: Any
) -> Simulator:
    settings: dict[str, Any] = {
        "notify_schedule": TEST_SCHEDULE,
        "time_scale": 0.001,
        "refund_delay_seconds": 2.0,
    }
    settings.update(config)
    http = httpx.AsyncClient(transport=httpx.MockTransport(receiver.handle))
    return Simulator(
        SimulatorConfig(data_dir=data_dir, merchants=[sp_merchant()], clock=clock, **settings),
        http_client=http,
    )


def host_app(sim: Simulator) -> Starlette:
    """The simulator mounted the way jubao mounts it."""
    return Starlette(routes=[Mount(PREFIX, app=create_simulator_app(sim))])


@dataclass
class Merchant:
    """Signs v3 requests the way a service provider's server does."""

    http: httpx.AsyncClient
    now: Callable[[], datetime]
    prefix: str = PREFIX

    async def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | bytes | None = None,
        *,
        mchid: str = SP_MCHID,
        serial_no: str = SERIAL_NO,
        timestamp: int | None = None,
        signed_path: str | None = None,
        signed_body: bytes | None = None,
        authorization: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        raw = (
            body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        )
        url = self.prefix + path
        ts = str(timestamp if timestamp is not None else int(self.now().timestamp()))
        nonce = secrets.token_hex(16).upper()
        message = (
            f"{method}\n{signed_path or url}\n{ts}\n{nonce}\n".encode()
            + (signed_body if signed_body is not None else raw)
            + b"\n"
        )
        header = authorization or (
            f'WECHATPAY2-SHA256-RSA2048 mchid="{mchid}",nonce_str="{nonce}",'
            f'signature="{rsa_sign(message)}",timestamp="{ts}",serial_no="{serial_no}"'
        )
        return await self.http.request(
            method,
            url,
            content=raw,
            headers={
                "Authorization": header,
                "Content-Type": "application/json",
                "Accept": "application/json",
                **(headers or {}),
            },
        )

    async def prepay(self, out_trade_no: str = "order-0001", **changes: Any) -> httpx.Response:
        return await self.call(
            "POST", "/v3/pay/partner/transactions/jsapi", prepay_body(out_trade_no, **changes)
        )

    async def query(self, out_trade_no: str, sub_mchid: str = SUB_MCHID) -> httpx.Response:
        return await self.call(
            "GET",
            f"/v3/pay/partner/transactions/out-trade-no/{out_trade_no}"
            f"?sp_mchid={SP_MCHID}&sub_mchid={sub_mchid}",
        )

    async def close(self, out_trade_no: str) -> httpx.Response:
        return await self.call(
            "POST",
            f"/v3/pay/partner/transactions/out-trade-no/{out_trade_no}/close",
            {"sp_mchid": SP_MCHID, "sub_mchid": SUB_MCHID},
        )

    async def refund(
        self, out_trade_no: str, out_refund_no: str, refund: int, total: int = 100, **extra: Any
    ) -> httpx.Response:
        body = {
            "sub_mchid": SUB_MCHID,
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "amount": {"refund": refund, "total": total, "currency": "CNY"},
            **extra,
        }
        return await self.call("POST", "/v3/refund/domestic/refunds", body)

    async def query_refund(self, out_refund_no: str) -> httpx.Response:
        return await self.call(
            "GET", f"/v3/refund/domestic/refunds/{out_refund_no}?sub_mchid={SUB_MCHID}"
        )

    async def pay(self, prepay_id: str, openid: str = OPENID, **tamper: str) -> httpx.Response:
        params = sign_params(prepay_id, int(self.now().timestamp()))
        params.update(tamper)
        return await self.http.post(
            f"{self.prefix}/request-payment", json={"sign_params": params, "openid": openid}
        )

    async def paid_order(self, out_trade_no: str = "order-0001", total: int = 100) -> str:
        """Prepay and pay; returns the transaction_id."""
        answer = await self.prepay(out_trade_no, amount={"total": total, "currency": "CNY"})
        assert answer.status_code == 200, answer.text
        paid = await self.pay(answer.json()["prepay_id"])
        assert paid.status_code == 200, paid.text
        transaction_id: str = paid.json()["transaction_id"]
        return transaction_id


def prepay_body(out_trade_no: str = "order-0001", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sp_appid": SP_APPID,
        "sp_mchid": SP_MCHID,
        "sub_appid": SUB_APPID,
        "sub_mchid": SUB_MCHID,
        "description": "测试商品",
        "out_trade_no": out_trade_no,
        "notify_url": NOTIFY_URL,
        "amount": {"total": 100, "currency": "CNY"},
        "payer": {"sub_openid": OPENID},
    }
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def sign_params(prepay_id: str, timestamp: int, app_id: str = SUB_APPID) -> dict[str, str]:
    params = {
        "appId": app_id,
        "timeStamp": str(timestamp),
        "nonceStr": secrets.token_hex(16),
        "package": f"prepay_id={prepay_id}",
        "signType": "RSA",
    }
    message = "".join(f"{params[name]}\n" for name in ("appId", "timeStamp", "nonceStr", "package"))
    params["paySign"] = rsa_sign(message)
    return params


def verify_signed(headers: httpx.Headers, body: bytes, sim: Simulator) -> None:
    """Verifies a response or notification the way a merchant must."""
    assert headers["Wechatpay-Serial"] == sim.public_key_id
    assert headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    message = (
        f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n".encode() + body + b"\n"
    )
    rsa_verify(sim.platform_public_key_pem, message, headers["Wechatpay-Signature"])


def decrypt_notification(body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Returns (envelope, plaintext)."""
    envelope: dict[str, Any] = json.loads(body)
    resource = envelope["resource"]
    assert resource["algorithm"] == "AEAD_AES_256_GCM"
    plaintext = AESGCM(APIV3_KEY.encode()).decrypt(
        resource["nonce"].encode(),
        base64.b64decode(resource["ciphertext"]),
        resource["associated_data"].encode(),
    )
    return envelope, json.loads(plaintext)
