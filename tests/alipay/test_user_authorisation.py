"""Alipay user authorisation (auth_base): the channel sends the buyer to the authorise page, the
simulator consents as its authorising buyer and returns an auth_code, and the channel exchanges
it with ``alipay.system.oauth.token`` for the buyer's user id: single use, this app only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from jubao.channels.alipay import DEFAULT_OAUTH_AUTHORIZE_URL, AlipayChannel, AlipayConfig
from jubao.channels.alipay_simulator.payer import buyer_for
from jubao.channels.base import PayerAuthorisation
from jubao.errors import ChannelError, ChannelErrorKind
from tests.alipay.support import ISV_APP_ID, World, channel_config, sandbox_keys
from tests.alipay.test_simulator_gateway import Client

RETURN = "https://shop.example/qr/abc/alipay?x=1"


@pytest.fixture
async def channel(alipay: World) -> AsyncIterator[AlipayChannel]:
    config = channel_config(
        f"{alipay.base_url}/gateway.do",
        oauth_authorize_url=f"{alipay.base_url}/oauth2/publicAppAuthorize.htm",
    )
    async with httpx.AsyncClient() as http:
        yield AlipayChannel(config, http_client=http)


async def _authorise(alipay: World, channel: AlipayChannel, state: str = "s1") -> dict[str, str]:
    """What the browser does: follow the authorise URL; return the query it comes back with."""
    answer = await alipay.http.get(channel.payer_authorize_url(RETURN, state))
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith("https://shop.example/qr/abc/alipay?x=1&")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def test_the_authorise_url_is_alipays_public_app_authorize_by_default() -> None:
    keys = sandbox_keys()
    channel = AlipayChannel(
        AlipayConfig(
            app_id=ISV_APP_ID,
            app_private_key=keys.app_private_key,
            alipay_public_key=keys.alipay_public_key,
        )
    )
    assert isinstance(channel, PayerAuthorisation)
    url = urlsplit(channel.payer_authorize_url(RETURN, "st"))
    assert f"{url.scheme}://{url.netloc}{url.path}" == DEFAULT_OAUTH_AUTHORIZE_URL
    assert parse_qs(url.query) == {
        "app_id": [ISV_APP_ID],
        "scope": ["auth_base"],
        "redirect_uri": [RETURN],
        "state": ["st"],
    }


async def test_an_auth_code_becomes_the_buyers_user_id_once(
    alipay: World, channel: AlipayChannel
) -> None:
    back = await _authorise(alipay, channel, "state-1")
    assert back["state"] == "state-1"
    assert back["app_id"] == ISV_APP_ID
    assert back["scope"] == "auth_base"
    user_id = await channel.payer_id_from_code(back["auth_code"])
    assert user_id == buyer_for("test-buyer").user_id
    assert user_id.startswith("2088") and len(user_id) == 16
    with pytest.raises(ChannelError) as used:
        await channel.payer_id_from_code(back["auth_code"])
    assert used.value.sub_code == "isv.code-invalid"
    assert used.value.kind is ChannelErrorKind.REJECTED


async def test_an_unknown_or_expired_code_is_refused(alipay: World, channel: AlipayChannel) -> None:
    with pytest.raises(ChannelError) as unknown:
        await channel.payer_id_from_code("not-a-code")
    assert unknown.value.sub_code == "isv.code-invalid"
    back = await _authorise(alipay, channel)
    alipay.clock.advance(181)  # codes live 3 minutes
    with pytest.raises(ChannelError) as expired:
        await channel.payer_id_from_code(back["auth_code"])
    assert expired.value.sub_code == "isv.code-invalid"


async def test_the_simulator_refuses_a_bad_authorise_request(alipay: World) -> None:
    page = f"{alipay.base_url}/oauth2/publicAppAuthorize.htm"
    good = {"app_id": ISV_APP_ID, "scope": "auth_base", "redirect_uri": RETURN, "state": "s"}
    for bad in ({"app_id": "2021999"}, {"scope": "auth_everything"}, {"redirect_uri": "ftp://x"}):
        answer = await alipay.http.get(page, params={**good, **bad})
        assert answer.status_code == 400, bad
    assert (await alipay.http.get(page, params=good)).status_code == 302


async def test_the_token_exchange_on_the_wire(alipay: World, channel: AlipayChannel) -> None:
    """The simulator's answer has no ``code`` on success (as Alipay's), and the error of a bad
    grant_type comes signed under ``error_response``."""
    back = await _authorise(alipay, channel)
    client = Client(alipay.http, f"{alipay.base_url}/gateway.do", alipay.clock)
    params = client.params(
        "alipay.system.oauth.token", {}, grant_type="authorization_code", code=back["auth_code"]
    )
    text, _ = await client.call(params)
    inner = json.loads(text)["alipay_system_oauth_token_response"]
    assert "code" not in inner
    assert inner["user_id"] == buyer_for("test-buyer").user_id
    assert inner["access_token"] and inner["expires_in"] > 0
    params = client.params("alipay.system.oauth.token", {}, grant_type="password", code="x")
    refused = json.loads((await client.call(params))[0])
    assert refused["error_response"]["sub_code"] == "isv.grant-type-invalid"
    assert refused["sign"]
