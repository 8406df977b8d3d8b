"""Platform certificates as an independent v3 client sees them: ``GET /v3/certificates`` (each
certificate AES-256-GCM-encrypted with the APIv3 key), answers and notifications signed with the
certificate in effect, rotation and persistence."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jubao.channels.simulator import Simulator
from tests.simulator.conftest import World, open_world
from tests.simulator.support import (
    APIV3_KEY,
    rsa_verify,
)

CERTIFICATES = "/v3/certificates"


@pytest.fixture
async def certified() -> AsyncIterator[World]:
    async for world in open_world(platform_mode="certificate"):
        yield world


def decrypt(entry: dict[str, Any]) -> x509.Certificate:
    sealed = entry["encrypt_certificate"]
    assert sealed["algorithm"] == "AEAD_AES_256_GCM"
    assert sealed["associated_data"] == "certificate"
    assert len(sealed["nonce"]) == 12
    pem = AESGCM(APIV3_KEY.encode()).decrypt(
        sealed["nonce"].encode(), base64.b64decode(sealed["ciphertext"]), b"certificate"
    )
    return x509.load_pem_x509_certificate(pem)


def verify_with(certificate: x509.Certificate, headers: httpx.Headers, body: bytes) -> None:
    """What a merchant in certificate mode does with an answer or a notification."""
    message = (
        f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n".encode() + body + b"\n"
    )
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    public = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    rsa_verify(public, message, headers["Wechatpay-Signature"])


async def certificates(world: World) -> tuple[httpx.Response, list[Any]]:
    answer = await world.merchant.call("GET", CERTIFICATES)
    assert answer.status_code == 200, answer.text
    return answer, answer.json()["data"]


async def test_the_certificates_encrypted_and_the_answer_signed_by_one(certified: World) -> None:
    answer, data = await certificates(certified)
    (entry,) = data
    certificate = decrypt(entry)
    assert (
        f"{certificate.serial_number:X}" == entry["serial_no"] == answer.headers["Wechatpay-Serial"]
    )
    assert len(entry["serial_no"]) == 40
    assert entry["effective_time"].endswith("+08:00") and entry["expire_time"].endswith("+08:00")
    effective = datetime.fromisoformat(entry["effective_time"])
    expire = datetime.fromisoformat(entry["expire_time"])
    assert expire - effective == timedelta(days=1825)
    assert certificate.not_valid_after_utc == expire
    verify_with(certificate, answer.headers, answer.content)


async def test_notifications_and_answers_are_signed_with_the_certificate(certified: World) -> None:
    _, (entry,) = await certificates(certified)
    certificate = decrypt(entry)
    await certified.merchant.paid_order()
    await certified.receiver.wait_for(1)
    note = certified.receiver.received[0]
    assert note.headers["Wechatpay-Serial"] == entry["serial_no"]
    verify_with(certificate, note.headers, note.content)
    query = await certified.merchant.query("order-0001")
    assert query.headers["Wechatpay-Serial"] == entry["serial_no"]
    verify_with(certificate, query.headers, query.content)


async def test_answers_follow_the_serial_a_request_names(certified: World) -> None:
    sim: Simulator = certified.sim
    answer = await certified.merchant.call(
        "GET", CERTIFICATES, headers={"Wechatpay-Serial": sim.public_key_id}
    )
    assert answer.headers["Wechatpay-Serial"] == sim.public_key_id


async def test_rotation_and_expiry(certified: World) -> None:
    sim = certified.sim
    _, (first,) = await certificates(certified)
    rotated = await certified.http.post(
        "/sim/wechatpay/control/platform-certificates",
        json={"effective_in_seconds": 3600, "days": 2},
    )
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["serial_no"]
    answer, data = await certificates(certified)
    assert [item["serial_no"] for item in data] == [first["serial_no"], second]
    assert answer.headers["Wechatpay-Serial"] == first["serial_no"]  # not yet in effect
    certified.clock.advance(3601)
    answer, _ = await certificates(certified)
    assert answer.headers["Wechatpay-Serial"] == second
    listing = (await certified.http.get("/sim/wechatpay/control/platform-certificates")).json()
    assert listing["mode"] == "certificate" and len(listing["certificates"]) == 2
    certified.clock.advance(2 * 86400)  # the second expired: only the first is listed
    _, data = await certificates(certified)
    assert [item["serial_no"] for item in data] == [first["serial_no"]]
    assert sim.platform_certificates()[0]["serial_no"] == first["serial_no"]
    bad = await certified.http.post(
        "/sim/wechatpay/control/platform-certificates", json={"days": 0}
    )
    assert bad.status_code == 400


async def test_public_key_mode_serves_certificates_to_certificate_clients(world: World) -> None:
    """Whoever downloads the certificates verifies with them: the answer is signed by one, in
    either mode; a client naming the public key gets the public key's signature."""
    answer, (entry,) = await certificates(world)
    assert answer.headers["Wechatpay-Serial"] == entry["serial_no"]
    verify_with(decrypt(entry), answer.headers, answer.content)
    declared = await world.merchant.call(
        "GET", CERTIFICATES, headers={"Wechatpay-Serial": world.sim.public_key_id}
    )
    assert declared.headers["Wechatpay-Serial"] == world.sim.public_key_id
    # A client holding a certificate gets certificate-signed answers; notifications stay in
    # the configured mode.
    await world.merchant.paid_order()
    query = await world.merchant.call(
        "GET",
        "/v3/pay/partner/transactions/out-trade-no/order-0001?sp_mchid=1900000001&sub_mchid=1900000101",
        headers={"Wechatpay-Serial": entry["serial_no"]},
    )
    assert query.headers["Wechatpay-Serial"] == entry["serial_no"]
    await world.receiver.wait_for(1)
    assert world.receiver.received[0].headers["Wechatpay-Serial"] == world.sim.public_key_id


async def test_certificates_survive_a_restart(tmp_path: Path) -> None:
    async for world in open_world(tmp_path, platform_mode="certificate"):
        _, (entry,) = await certificates(world)
    async for world in open_world(tmp_path, platform_mode="certificate"):
        answer, data = await certificates(world)
        assert [item["serial_no"] for item in data] == [entry["serial_no"]]
        assert answer.headers["Wechatpay-Serial"] == entry["serial_no"]
