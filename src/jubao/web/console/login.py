"""Login, logout and the language switch."""

from __future__ import annotations

import asyncio
import math

from starlette.requests import Request
from starlette.responses import Response

from jubao.errors import InvalidParameter
from jubao.security.admin_token import GuessThrottle, client_address
from jubao.web.bodies import read_form
from jubao.web.console.auth import LOGIN_COOKIE, ConsoleAuth
from jubao.web.console.common import Ctx, Renderer, redirect, safe_next, too_large, translator
from jubao.web.console.i18n import LANG_COOKIE, LANGUAGES

__all__ = ["LoginPages"]

_FAILED_LOGIN_DELAY = 0.25  # seconds; a cheap brake on guessing


class LoginPages:
    def __init__(
        self, auth: ConsoleAuth, renderer: Renderer, max_body: int, throttle: GuessThrottle
    ) -> None:
        self.auth = auth
        self.renderer = renderer
        self.max_body = max_body
        self.throttle = throttle

    def _form(
        self, request: Request, next_path: object, *, error: str = "", status: int = 200
    ) -> Response:
        t = translator(request)
        token = self.auth.login_token(request)
        response = self.renderer.html(
            request,
            t,
            "console_login.html",
            status=status,
            login_csrf=token,
            next=safe_next(next_path if isinstance(next_path, str) else None),
            disabled=not self.auth.enabled,
            error=error,
        )
        self.auth.set_cookie(response, request, LOGIN_COOKIE, token, 3600)
        return response

    async def show(self, request: Request) -> Response:
        if await self.auth.session(request) is not None:
            return redirect("/")
        return self._form(request, request.query_params.get("next"))

    async def submit(self, request: Request) -> Response:
        t = translator(request)
        try:
            form = await read_form(request, self.max_body)
        except InvalidParameter:  # too large, or the client left mid-body
            return too_large(request, t, self.renderer)
        destination = form.get("next")
        if not self.auth.enabled:
            return self._form(request, destination, error=t("login.disabled"), status=403)
        presented = request.cookies.get(LOGIN_COOKIE, "")
        if len(presented) < 16 or not self.auth.csrf_matches(presented, form.get("csrf")):
            return self._form(request, destination, error=t("csrf.failed"), status=403)
        client = client_address(request.client.host if request.client else None)
        wait = math.ceil(self.throttle.retry_after(client))
        if wait > 0:
            response = self._form(
                request, destination, error=t("login.throttled", seconds=wait), status=429
            )
            response.headers["Retry-After"] = str(wait)
            return response
        token = form.get("token")
        if not isinstance(token, str) or not self.auth.token_matches(token):
            self.throttle.failed(client, "console login")
            await asyncio.sleep(_FAILED_LOGIN_DELAY)
            return self._form(request, destination, error=t("login.wrong"), status=401)
        response = redirect("/")
        response.headers["location"] = safe_next(
            destination if isinstance(destination, str) else None
        )
        self.auth.start_session(response, request)
        return response

    async def logout(self, ctx: Ctx) -> Response:
        await self.auth.end(ctx.session)
        response = redirect("/login")
        self.auth.end_session(response)
        return response

    async def language(self, request: Request) -> Response:
        lang = request.path_params["lang"]
        response = redirect("/")
        response.headers["location"] = safe_next(request.query_params.get("next"))
        if lang in LANGUAGES:
            self.auth.set_cookie(response, request, LANG_COOKIE, lang, 365 * 86400)
        return response
