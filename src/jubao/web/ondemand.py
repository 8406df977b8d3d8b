"""Routes under one prefix, built on the first request that reaches them.

The console's pages, templates and jinja2 are ~50 ms of a gateway's start (docs/benchmarks.md,
"Round seven"), and after a crash the first duty of a restarted gateway is ``/gateway``, not a
page an operator may open later. The built routes then serve exactly as if they had been
mounted at start: the same scope, the same 404s and slash redirects (an inner ``Router``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.routing import BaseRoute, Match, NoMatchFound, Router
from starlette.types import Receive, Scope, Send

__all__ = ["OnDemand"]


class OnDemand(BaseRoute):
    """``path`` and everything under ``path/``, served by the routes ``build()`` returns."""

    def __init__(self, path: str, build: Callable[[], Sequence[BaseRoute]]) -> None:
        self.path = path  # as a Route's: tests and tools find the console by it
        self._under = path + "/"
        self._build = build
        self._router: Router | None = None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == self.path or path.startswith(self._under):
                return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._router is None:  # no await before this: two first requests build once
            self._router = Router(routes=list(self._build()))
        await self._router(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # the console builds its links by hand
