"""What every console handler shares: templates, the language, the session guard."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from jubao.clock import CHINA
from jubao.errors import InvalidParameter
from jubao.money import fen_to_yuan_text
from jubao.web.bodies import read_form
from jubao.web.console import PREFIX
from jubao.web.console.auth import ConsoleAuth, Session
from jubao.web.console.i18n import LANG_COOKIE, Translator, choose_language

__all__ = ["PREFIX", "Ctx", "Guard", "Renderer", "redirect", "translator"]

_PATH_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")  # the shape of every id a console path names
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _datetime_text(ms: int | None) -> str:
    if not ms:
        return "—"
    return datetime.fromtimestamp(ms / 1000, tz=CHINA).strftime("%Y-%m-%d %H:%M:%S")


def _yuan(fen: int | None) -> str:
    return fen_to_yuan_text(fen or 0)


def translator(request: Request) -> Translator:
    return Translator(
        choose_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    )


@dataclass(frozen=True, slots=True)
class Ctx:
    """One authenticated request: its language and session (for the CSRF token)."""

    request: Request
    t: Translator
    session: Session
    form: FormData | None = None

    def field(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""


class Renderer:
    def __init__(self, *, sandbox: bool) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["yuan"] = _yuan
        self.env.filters["dt"] = _datetime_text
        self.env.globals["prefix"] = PREFIX
        self.env.globals["sandbox"] = sandbox

    def html(
        self,
        request: Request,
        t: Translator,
        name: str,
        *,
        session: Session | None = None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        body = self.env.get_template(name).render(
            t=t,
            lang=t.lang,
            csrf=session.csrf if session else "",
            logged_in=session is not None,
            here=path,
            **context,
        )
        return HTMLResponse(body, status_code=status, headers=_SECURITY_HEADERS)

    def page(self, ctx: Ctx, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        return self.html(ctx.request, ctx.t, name, session=ctx.session, status=status, **context)


def redirect(path: str, **query: str) -> Response:
    """303 to a console path (after a POST, or to the login page)."""
    url = PREFIX + path
    pairs = {key: value for key, value in query.items() if value}
    if pairs:
        url += "?" + urlencode(pairs)
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def safe_next(value: str | None) -> str:
    """A post-login destination inside the console (never another site), percent-encoded so any
    text (Chinese, control characters) makes a valid ``Location`` header."""
    if not value or not value.startswith(PREFIX + "/") or "\\" in value:
        return PREFIX + "/"
    path = value.partition("?")[0]
    if any(segment in (".", "..") for segment in path.split("/")):
        return PREFIX + "/"
    return quote(value, safe="/?&=:@!$'()*+,;~-._%")  # % kept: the query part arrives encoded


def too_large(request: Request, t: Translator, renderer: Renderer) -> Response:
    """A form post over ``JUBAO_CONSOLE_MAX_BODY_BYTES`` (no console form comes near it)."""
    return renderer.html(request, t, "console_error.html", status=413, message=t("form.too_large"))


PageHandler = Callable[[Ctx], Awaitable[Response]]


def _text_path_params(request: Request) -> list[str]:
    return [value for value in request.path_params.values() if isinstance(value, str)]


class Guard:
    """Wraps page handlers: a valid session is required; every POST must carry its CSRF token."""

    def __init__(self, auth: ConsoleAuth, renderer: Renderer, max_body: int) -> None:
        self.auth = auth
        self.renderer = renderer
        self.max_body = max_body

    def __call__(self, handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            t = translator(request)
            session = await self.auth.session(request)
            if session is None:
                if request.method == "GET":
                    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return redirect("/login", next=here)
                return self._refused(request, t)
            form = None
            if request.method == "POST":
                try:
                    form = await read_form(request, self.max_body)
                except InvalidParameter:  # too large, or the client left mid-body
                    return too_large(request, t, self.renderer)
                if not self.auth.csrf_matches(session.csrf, form.get("csrf")):
                    return self._refused(request, t)
            if not all(map(_PATH_ID.fullmatch, _text_path_params(request))):
                # no order, app or vendor has such an id (and PostgreSQL refuses a NUL in text)
                return self.renderer.html(
                    request, t, "console_error.html", status=404, message=t("common.not_found")
                )
            return await handler(Ctx(request, t, session, form))

        return endpoint

    def _refused(self, request: Request, t: Translator) -> Response:
        return self.renderer.html(
            request, t, "console_error.html", status=403, message=t("csrf.failed")
        )
