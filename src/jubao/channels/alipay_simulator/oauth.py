"""User authorisation (网页授权, reference: Alipay's ``publicAppAuthorize.htm`` and
``alipay.system.oauth.token``): a page opened inside Alipay sends the buyer to the authorise page,
which consents at once as the simulator's authorising test buyer (``auth_base`` is silent anyway)
and returns the browser with a one-time ``auth_code``; the ISV exchanges it server-side.

    GET /oauth2/publicAppAuthorize.htm?app_id&scope&redirect_uri&state
        -> 302 redirect_uri?app_id&source=alipay_wallet&scope&auth_code&state
    gateway.do method=alipay.system.oauth.token grant_type=authorization_code code=AUTH_CODE
        -> {user_id, access_token, expires_in, refresh_token, re_expires_in, auth_start}
           (no ``code`` on success, as Alipay answers), or error_response 40002
           isv.code-invalid / isv.grant-type-invalid

Codes are single-use, live 3 minutes and belong to the app that asked."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from jubao.channels.alipay_simulator.errors import GatewayError
from jubao.channels.alipay_simulator.payer import buyer_for
from jubao.channels.alipay_simulator.rules import china_text

if TYPE_CHECKING:
    from jubao.channels.alipay_simulator.operations import Call
    from jubao.channels.alipay_simulator.simulator import AlipaySimulator

__all__ = ["AuthGrant", "oauth_routes", "oauth_token"]

CODE_TTL_SECONDS = 180
SCOPES = ("auth_base", "auth_user")
ACCESS_TOKEN_SECONDS = 1_296_000  # 15 days
REFRESH_TOKEN_SECONDS = 2_592_000  # 30 days


@dataclass
class AuthGrant:
    app_id: str
    user_id: str
    expires_at: float
    used: bool = False


def _refusal(message: str) -> Response:
    # Alipay shows an error page in the wallet; the status says the request was wrong.
    return PlainTextResponse(message, status_code=400)


async def authorize(request: Request) -> Response:
    sim: AlipaySimulator = request.app.state.simulator
    query = request.query_params
    app_id = query.get("app_id", "")
    if app_id != sim.config.app_id:
        return _refusal(f"无效的 app_id {app_id!r}")
    scope = query.get("scope", "")
    if any(part not in SCOPES for part in scope.split(",")):
        return _refusal("scope 参数无效（auth_base 或 auth_user）")
    redirect_uri = query.get("redirect_uri", "")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(redirect_uri) > 1024:
        return _refusal("redirect_uri 参数错误")
    state = query.get("state", "")
    if len(state) > 100:
        return _refusal("state 最长 100 个字符")
    code = secrets.token_hex(16)
    buyer = buyer_for(sim.config.authorising_buyer)
    sim.auth_grants[code] = AuthGrant(app_id, buyer.user_id, sim.now() + CODE_TTL_SECONDS)
    back = {"app_id": app_id, "source": "alipay_wallet", "scope": scope, "auth_code": code}
    if state:
        back["state"] = state
    joiner = "&" if parts.query else "?"
    return RedirectResponse(
        redirect_uri.split("#", 1)[0] + joiner + urlencode(back), status_code=302
    )


def _invalid(sub_code: str, sub_msg: str) -> GatewayError:
    return GatewayError("40002", sub_code, sub_msg, under_error_key=True)


def oauth_token(
    sim: AlipaySimulator, call: Call, biz: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """``alipay.system.oauth.token``; its parameters are top-level, not in biz_content."""
    grant_type = call.params.get("grant_type", "")
    if grant_type != "authorization_code":
        raise _invalid("isv.grant-type-invalid", "grant_type 参数不正确")
    grant = sim.auth_grants.get(call.params.get("code", ""))
    if grant is None or grant.used or grant.app_id != call.app_id or sim.now() >= grant.expires_at:
        raise _invalid("isv.code-invalid", "授权码code无效")
    grant.used = True
    return "", {
        "user_id": grant.user_id,
        "access_token": f"authbseB{secrets.token_hex(16)}",
        "expires_in": ACCESS_TOKEN_SECONDS,
        "refresh_token": f"authbseB{secrets.token_hex(16)}",
        "re_expires_in": REFRESH_TOKEN_SECONDS,
        "auth_start": china_text(sim.now()),
    }


def oauth_routes() -> list[Route]:
    return [Route("/oauth2/publicAppAuthorize.htm", authorize, methods=["GET"])]
