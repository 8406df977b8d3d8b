"""A third-party WeChat Pay v3 client (``wechatpayv3`` from PyPI) talks to the simulator
unchanged: only its gateway address is pointed at a real uvicorn server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from jubao.channels.simulator import Simulator, SimulatorConfig, create_simulator_app
from tests.simulator.support import (
    APIV3_KEY,
    OPENID,
    SERIAL_NO,
    SP_APPID,
    SP_MCHID,
    SUB_APPID,
    SUB_MCHID,
    sp_merchant,
    sp_private_key,
)

wechatpayv3 = pytest.importorskip("wechatpayv3")
pytest.importorskip("wechatpayv3.core")  # patched below; WeChatPay() imports it, the package not


class Served:
    def __init__(self, sim: Simulator, url: str) -> None:
        self.sim = sim
        self.url = url
        self.notifications: list[tuple[dict[str, str], bytes]] = []


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serving(tmp_path) as running:
        yield running


@contextlib.contextmanager
def serving(tmp_path: Path, **overrides: Any) -> Iterator[Served]:
    sim = Simulator(SimulatorConfig(data_dir=tmp_path, merchants=[sp_merchant()], **overrides))
    notifications: list[tuple[dict[str, str], bytes]] = []

    async def notify(request: Request) -> Response:
        notifications.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    simulator_app = create_simulator_app(sim)
    # The simulator at the root, as WeChat serves it, plus the merchant's notify_url; the
    # simulator's own lifespan runs as the host's.
    host = Starlette(
        routes=[Route("/merchant/notify", notify, methods=["POST"]), Mount("", simulator_app)],
        lifespan=simulator_app.router.lifespan_context,
    )
    config = uvicorn.Config(app=host, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    socket = config.bind_socket()
    served = Served(sim, f"http://127.0.0.1:{socket.getsockname()[1]}")
    served.notifications = notifications
    thread = threading.Thread(target=lambda: asyncio.run(server.serve([socket])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(10)
        socket.close()


def _private_pem() -> str:
    return (
        sp_private_key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def _pay_as_payer(served: Served, client: Any, prepay_id: str) -> httpx.Response:
    """The payer, with sign_params made by the third-party client's own paySign."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    package = f"prepay_id={prepay_id}"
    sign_params = {
        "appId": SUB_APPID,
        "timeStamp": timestamp,
        "nonceStr": nonce,
        "package": package,
        "signType": "RSA",
        "paySign": client.sign([SUB_APPID, timestamp, nonce, package]),
    }
    paid = httpx.post(
        f"{served.url}/request-payment",
        json={"sign_params": sign_params, "openid": OPENID},
        timeout=10,
    )
    assert paid.status_code == 200, paid.text
    return paid


def _first_notification(served: Served) -> tuple[dict[str, str], bytes]:
    deadline = time.monotonic() + 10
    while not served.notifications:
        assert time.monotonic() < deadline, "no notification arrived"
        time.sleep(0.01)
    return served.notifications[0]


def _client(served: Served) -> Any:
    client = wechatpayv3.WeChatPay(
        wechatpay_type=wechatpayv3.WeChatPayType.MINIPROG,
        mchid=SP_MCHID,
        private_key=_private_pem(),
        cert_serial_no=SERIAL_NO,
        appid=SP_APPID,
        apiv3_key=APIV3_KEY,
        notify_url=f"{served.url}/merchant/notify",
        partner_mode=True,
        public_key=served.sim.platform_public_key_pem.decode(),
        public_key_id=served.sim.public_key_id,
    )
    client._core._gate_way = served.url  # configuration: where "WeChat" is
    return client


def test_wechatpayv3_prepay_pay_query_and_callback(served: Served) -> None:
    client = _client(served)
    code, text = client.pay(
        description="第三方客户端",
        out_trade_no="wpv3-0001",
        amount={"total": 1},
        payer={"sub_openid": OPENID},
        sub_mchid=SUB_MCHID,
        sub_appid=SUB_APPID,
    )
    assert code == 200, text
    prepay_id = json.loads(text)["prepay_id"]

    code, text = client.query(out_trade_no="wpv3-0001", sub_mchid=SUB_MCHID)
    assert code == 200, text
    assert json.loads(text)["trade_state"] == "NOTPAY"

    paid = _pay_as_payer(served, client, prepay_id)

    code, text = client.query(out_trade_no="wpv3-0001", sub_mchid=SUB_MCHID)
    assert code == 200, text
    assert json.loads(text)["trade_state"] == "SUCCESS"

    headers, body = _first_notification(served)
    decoded = client.callback(headers, body)
    assert decoded is not None, "wechatpayv3 could not verify the notification"
    assert decoded["event_type"] == "TRANSACTION.SUCCESS"
    assert decoded["resource"]["out_trade_no"] == "wpv3-0001"
    assert decoded["resource"]["transaction_id"] == paid.json()["transaction_id"]

    code, text = client.close(out_trade_no="wpv3-0001", sub_mchid=SUB_MCHID)
    assert code == 400
    assert json.loads(text)["code"] == "ORDERPAID"


def test_wechatpayv3_in_platform_certificate_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a public key, wechatpayv3 downloads ``/v3/certificates`` as it starts, decrypts
    them with the APIv3 key and verifies every answer and notification by the certificate its
    ``Wechatpay-Serial`` names; after a rotation it downloads them again."""
    with serving(tmp_path, platform_mode="certificate") as served:
        download = wechatpayv3.core.Core._init_certificates

        def pointed_at_the_simulator(core: Any) -> None:
            # Configuration only: its constructor downloads the certificates, from WeChat's
            # hard-coded address unless told where "WeChat" is first.
            core._gate_way = served.url
            download(core)

        monkeypatch.setattr(wechatpayv3.core.Core, "_init_certificates", pointed_at_the_simulator)
        client = wechatpayv3.WeChatPay(
            wechatpay_type=wechatpayv3.WeChatPayType.MINIPROG,
            mchid=SP_MCHID,
            private_key=_private_pem(),
            cert_serial_no=SERIAL_NO,
            appid=SP_APPID,
            apiv3_key=APIV3_KEY,
            notify_url=f"{served.url}/merchant/notify",
            partner_mode=True,
        )
        (listed,) = served.sim.platform_certificates()
        assert [f"{c.serial_number:X}" for c in client._core._certificates] == [listed["serial_no"]]

        code, text = client.pay(
            description="证书模式",
            out_trade_no="wpv3-cert-1",
            amount={"total": 1},
            payer={"sub_openid": OPENID},
            sub_mchid=SUB_MCHID,
            sub_appid=SUB_APPID,
        )
        assert code == 200, text  # its answer verified with the downloaded certificate
        prepay_id = json.loads(text)["prepay_id"]
        _pay_as_payer(served, client, prepay_id)
        headers, body = _first_notification(served)
        assert headers["wechatpay-serial"] == listed["serial_no"]
        decoded = client.callback(headers, body)
        assert decoded is not None, "wechatpayv3 could not verify the notification"
        assert decoded["resource"]["out_trade_no"] == "wpv3-cert-1"

        rotated = served.sim.rotate_platform_certificate()
        code, text = client.query(out_trade_no="wpv3-cert-1", sub_mchid=SUB_MCHID)
        assert code == 200, text  # an unknown serial: it downloaded the certificates again
        assert json.loads(text)["trade_state"] == "SUCCESS"
        serials = {f"{c.serial_number:X}" for c in client._core._certificates}
        assert rotated["serial_no"] in serials
