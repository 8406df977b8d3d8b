"""The simulator's gateway pipeline as any Alipay client meets it, driven by a client written
here (its own signer, its own response verifier): refusals, GET requests, persistence, bills."""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jubao.channels.alipay_simulator import AlipaySimulator, create_alipay_simulator_app
from tests.alipay.support import (
    ISV_APP_ID,
    MERCHANT_PID,
    MERCHANT_TOKEN,
    OffsetClock,
    payment_code,
    sandbox_keys,
    simulator_config,
)
from tests.support.servers import serve_asgi


def _private(text: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(text.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _public(bare: str) -> rsa.RSAPublicKey:
    key = serialization.load_der_public_key(base64.b64decode(bare))
    assert isinstance(key, rsa.RSAPublicKey)
    return key


class Client:
    """A minimal independent Alipay client: GET with everything in the query (like
    python-alipay-sdk) or POST with the body."""

    def __init__(self, http: httpx.AsyncClient, url: str, clock: OffsetClock) -> None:
        self.http, self.url, self.clock = http, url, clock

    def params(self, method: str, biz: dict[str, Any], **extra: str) -> dict[str, str]:
        params = {
            "app_id": ISV_APP_ID,
            "method": method,
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": (self.clock() + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "app_auth_token": MERCHANT_TOKEN,
            "biz_content": json.dumps(biz, separators=(",", ":")),  # ASCII-escaped, like fzlee
            **extra,
        }
        content = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k])
        signature = _private(sandbox_keys().app_private_key).sign(
            content.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        params["sign"] = base64.b64encode(signature).decode()
        return params

    async def call(self, params: dict[str, str], *, get: bool = False) -> tuple[str, bytes]:
        if get:
            answer = await self.http.get(self.url, params=params)
        else:
            answer = await self.http.post(self.url, data=params)
        assert answer.status_code == 200
        assert answer.headers["trace_id"]
        return answer.text, answer.content

    async def signed(self, method: str, biz: dict[str, Any], *, get: bool = False) -> Any:
        text, raw = await self.call(self.params(method, biz), get=get)
        key = method.replace(".", "_") + "_response"
        marker = b'{"' + key.encode() + b'":'
        start = raw.index(marker) + len(marker)
        end = raw.rindex(b',"sign":"')
        signature = json.loads(text)["sign"]
        _public(sandbox_keys().alipay_public_key).verify(
            base64.b64decode(signature), raw[start:end], padding.PKCS1v15(), hashes.SHA256()
        )
        return json.loads(raw[start:end])


@pytest.fixture
async def client(tmp_path: Path) -> Any:
    clock = OffsetClock()
    sim = AlipaySimulator(simulator_config(tmp_path, clock))
    async with serve_asgi(create_alipay_simulator_app(sim)) as url, httpx.AsyncClient() as http:
        yield Client(http, url + "/gateway.do", clock)


async def test_get_with_everything_in_the_query(client: Client) -> None:
    biz = {
        "out_trade_no": "T1",
        "total_amount": "0.01",
        "subject": "测试",
        "auth_code": payment_code(),
    }
    answer = await client.signed("alipay.trade.pay", biz, get=True)
    assert (answer["code"], answer["msg"], answer["total_amount"]) == ("10000", "Success", "0.01")
    china_day = (client.clock() + timedelta(hours=8)).strftime("%Y%m%d")
    assert len(answer["trade_no"]) == 28 and answer["trade_no"].startswith(china_day + "22")


async def test_amounts_sent_as_json_numbers_are_exact(client: Client) -> None:
    biz = {"out_trade_no": "T2", "total_amount": 88.88, "subject": "x", "auth_code": payment_code()}
    answer = await client.signed("alipay.trade.pay", biz)
    assert answer["total_amount"] == "88.88"
    bad = {
        "out_trade_no": "T3",
        "total_amount": "0.001",
        "subject": "x",
        "auth_code": payment_code(),
    }
    refused = await client.signed("alipay.trade.pay", bad)
    assert (refused["code"], refused["sub_code"]) == ("40004", "ACQ.INVALID_PARAMETER")


@pytest.mark.parametrize(
    ("change", "key", "code", "sub_code", "signed"),
    [
        ({"method": ""}, "error_response", "40001", "isv.missing-method", False),
        ({"method": "alipay.trade.nope"}, "error_response", "40002", "isv.invalid-method", False),
        ({"app_id": "2021999999999999"}, None, "40002", "isv.invalid-app-id", False),
        ({"sign": ""}, None, "40001", "isv.missing-signature", True),
        ({"sign_type": "RSA"}, None, "40002", "isv.invalid-signature-type", True),
        ({"timestamp": "2026/01/01"}, None, "40002", "isv.invalid-timestamp", True),
        ({"biz_content": '{"out_trade_no":"X"}'}, None, "40002", "isv.invalid-signature", True),
        ({"app_auth_token": "unknown"}, None, "20001", "aop.invalid-app-auth-token", True),
    ],
)
async def test_gateway_refusals(
    client: Client,
    change: dict[str, str],
    key: str | None,
    code: str,
    sub_code: str,
    signed: bool,
) -> None:
    params = client.params("alipay.trade.query", {"out_trade_no": "T9"})
    if "app_auth_token" in change or "sign" in change:
        params = client.params("alipay.trade.query", {"out_trade_no": "T9"}, **change)
        if "sign" in change:
            params["sign"] = ""
    else:
        params.update(change)  # changed after signing
    text, _ = await client.call(params)
    document = json.loads(text)
    answer = document[key or "alipay_trade_query_response"]
    assert (answer["code"], answer["sub_code"]) == (code, sub_code)
    assert ("sign" in document) is signed


async def test_a_repeated_parameter_with_another_value_is_refused(client: Client) -> None:
    params = client.params("alipay.trade.query", {"out_trade_no": "T9"})
    answer = await client.http.post(client.url + "?app_id=2021999999999999", data=params)
    assert json.loads(answer.text)["error_response"]["sub_code"] == "isv.invalid-parameter"


async def test_trades_survive_a_restart(tmp_path: Path) -> None:
    clock = OffsetClock()
    first = AlipaySimulator(simulator_config(tmp_path, clock))
    async with serve_asgi(create_alipay_simulator_app(first)) as url, httpx.AsyncClient() as http:
        biz = {
            "out_trade_no": "P1",
            "total_amount": "1.00",
            "subject": "x",
            "auth_code": payment_code(),
        }
        paid = await Client(http, url + "/gateway.do", clock).signed("alipay.trade.pay", biz)
        await Client(http, url + "/gateway.do", clock).signed(
            "alipay.trade.refund",
            {"out_trade_no": "P1", "refund_amount": "0.40", "out_request_no": "R1"},
        )
    second = AlipaySimulator(simulator_config(tmp_path, clock))
    async with serve_asgi(create_alipay_simulator_app(second)) as url, httpx.AsyncClient() as http:
        again = Client(http, url + "/gateway.do", clock)
        queried = await again.signed("alipay.trade.query", {"out_trade_no": "P1"})
        assert (queried["trade_no"], queried["trade_status"]) == (paid["trade_no"], "TRADE_SUCCESS")
        refund = await again.signed(
            "alipay.trade.fastpay.refund.query", {"out_trade_no": "P1", "out_request_no": "R1"}
        )
        assert (refund["refund_status"], refund["refund_amount"]) == ("REFUND_SUCCESS", "0.40")


async def test_the_bill_is_in_alipays_layout(client: Client) -> None:
    day = (client.clock() + timedelta(hours=8)).date()
    biz = {
        "out_trade_no": "B1",
        "total_amount": "12.34",
        "subject": "账单",
        "auth_code": payment_code(),
    }
    paid = await client.signed("alipay.trade.pay", biz)
    await client.signed(
        "alipay.trade.refund",
        {"out_trade_no": "B1", "refund_amount": "2.34", "out_request_no": "R1"},
    )
    client.clock.advance(86400)
    answer = await client.signed(
        "alipay.data.dataservice.bill.downloadurl.query",
        {"bill_type": "trade", "bill_date": day.isoformat()},
    )
    url = answer["bill_download_url"]
    assert f"userId={MERCHANT_PID}0156" in url
    download = await client.http.get(url)
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    stem = f"{MERCHANT_PID}0156_{day:%Y%m%d}"
    assert sorted(archive.namelist()) == sorted(
        [f"{stem}_业务明细.csv", f"{stem}_业务明细(汇总).csv"]
    )
    text = archive.read(f"{stem}_业务明细.csv").decode("gbk")
    table = [row for row in csv.reader(x for x in text.splitlines() if not x.startswith("#"))]
    assert table[0][:3] == ["支付宝交易号", "商户订单号", "业务类型"] and len(table[0]) == 25
    rows = {row[2]: row for row in table[1:]}
    assert (rows["交易"][0], rows["交易"][11], rows["交易"][12]) == (
        paid["trade_no"],
        "12.34",
        "12.34",
    )
    assert (rows["退款"][12], rows["退款"][21]) == ("-2.34", "R1")

    client.clock.advance(31)  # the URL lives 30 seconds
    assert (await client.http.get(url)).status_code == 404


async def test_a_gbk_caller_is_verified_and_answered_in_gbk(client: Client) -> None:
    params = client.params("alipay.trade.pay", {}, charset="gbk")
    biz = {
        "out_trade_no": "G1",
        "total_amount": "1.00",
        "subject": "中文商品",
        "auth_code": payment_code(),
    }
    params["biz_content"] = json.dumps(biz, ensure_ascii=False)
    content = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k])
    signature = _private(sandbox_keys().app_private_key).sign(
        content.encode("gbk"), padding.PKCS1v15(), hashes.SHA256()
    )
    params["sign"] = base64.b64encode(signature).decode()
    answer = await client.http.post(
        client.url,
        content=urlencode(params, encoding="gbk"),
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=gbk"},
    )
    assert answer.headers["content-type"].endswith("charset=gbk")
    raw = answer.content
    marker = b'{"alipay_trade_pay_response":'
    inner = raw[len(marker) : raw.rindex(b',"sign":"')]
    _public(sandbox_keys().alipay_public_key).verify(
        base64.b64decode(json.loads(raw.decode("gbk"))["sign"]),
        inner,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert json.loads(inner.decode("gbk"))["code"] == "10000"


async def test_multipart_bodies_are_read(client: Client) -> None:
    params = client.params("alipay.trade.query", {"out_trade_no": "M1"})
    answer = await client.http.post(client.url, files={k: (None, v) for k, v in params.items()})
    document = json.loads(answer.text)["alipay_trade_query_response"]
    assert document["sub_code"] == "ACQ.TRADE_NOT_EXIST"


async def test_an_oversized_body_is_refused(client: Client) -> None:
    answer = await client.http.post(client.url, data={"biz_content": "x" * (1024 * 1024 + 1)})
    assert json.loads(answer.text)["error_response"]["sub_code"] == "isv.invalid-parameter"
