"""Official-account web OAuth (reference part 2, §9 and §11): the authorize page, which consents
at once as the test payer (``snsapi_base`` is silent anyway), and the server-side code exchange.

    GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state
        -> 302 redirect_uri?code=CODE&state=STATE
    GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code
        -> {access_token, expires_in, refresh_token, openid, scope}, or {errcode, errmsg}

Codes are single-use, live 5 minutes and are bound to their appid. Errors of the exchange come
with HTTP 200, as WeChat's do. The base URLs stand for ``open.weixin.qq.com`` and
``api.weixin.qq.com``."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from jubao.channels.simulator.v3.openids import openid_for

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = ["OAuthCode", "oauth_routes"]

CODE_TTL_SECONDS = 300
SCOPES = ("snsapi_base", "snsapi_userinfo")
STATE = re.compile(r"[a-zA-Z0-9]{0,128}")


@dataclass
class OAuthCode:
    appid: str
    openid: str
    scope: str
    expires_at: float
    used: bool = False


def _known_appids(sim: Simulator) -> set[str]:
    appids: set[str] = set()
    for sp_mchid, subs in sim.state.bindings().items():
        found = sim.state.merchant(sp_mchid)
        if found is not None:
            appids.update(found[0].sp_appids)
        for sub_appids in subs.values():
            appids.update(sub_appids)
    return appids


def _refusal(message: str) -> Response:
    # WeChat shows an error page in the browser; the status says the request was wrong.
    return PlainTextResponse(message, status_code=400)


async def authorize(request: Request) -> Response:
    sim: Simulator = request.app.state.simulator
    query = request.query_params
    appid = query.get("appid", "")
    if appid not in _known_appids(sim):
        return _refusal(f"10003 redirect_uri 域名与后台配置不一致，或 appid {appid!r} 无效")
    if query.get("response_type") != "code":
        return _refusal("10004 response_type 须为 code")
    scope = query.get("scope", "")
    if scope not in SCOPES:
        return _refusal("10005 此公众号没有 scope 参数对应的授权作用域权限")
    state = query.get("state", "")
    if not STATE.fullmatch(state):
        return _refusal("state 须为 a-zA-Z0-9，最长128字节")
    redirect_uri = query.get("redirect_uri", "")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _refusal("10003 redirect_uri 参数错误")
    code = secrets.token_urlsafe(24)
    sim.oauth_codes[code] = OAuthCode(
        appid=appid,
        openid=openid_for(sim, appid),
        scope=scope,
        expires_at=sim.now() + CODE_TTL_SECONDS,
    )
    joiner = "&" if parts.query else "?"
    location = redirect_uri.split("#", 1)[0] + joiner + urlencode({"code": code, "state": state})
    return RedirectResponse(location, status_code=302)


def _json(payload: dict[str, Any]) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, 200, media_type="application/json")


def _error(errcode: int, errmsg: str) -> Response:
    return _json({"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(12)}"})


async def access_token(request: Request) -> Response:
    sim: Simulator = request.app.state.simulator
    query = request.query_params
    if query.get("grant_type") != "authorization_code":
        return _error(40002, "invalid grant_type")
    appid = query.get("appid", "")
    if appid not in _known_appids(sim):
        return _error(40013, "invalid appid")
    secret = sim.config.app_secrets.get(appid)
    if secret is not None and not secrets.compare_digest(secret, query.get("secret", "")):
        return _error(40125, "invalid appsecret")
    found = sim.oauth_codes.get(query.get("code", ""))
    if found is None or found.appid != appid or sim.now() >= found.expires_at:
        return _error(40029, "invalid code")
    if found.used:
        return _error(40163, "code been used")
    found.used = True
    return _json(
        {
            "access_token": secrets.token_urlsafe(48),
            "expires_in": 7200,
            "refresh_token": secrets.token_urlsafe(48),
            "openid": found.openid,
            "scope": found.scope,
        }
    )


def oauth_routes() -> list[Route]:
    return [
        Route("/connect/oauth2/authorize", authorize, methods=["GET"]),
        Route("/sns/oauth2/access_token", access_token, methods=["GET"]),
    ]
