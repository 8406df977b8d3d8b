"""What a v3 operation receives once the request is authenticated, and what it answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jubao.channels.simulator.rules import parse_json_object, require_query

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = ["Answer", "Call", "Download", "DownloadHandler", "Handler"]

Answer = tuple[int, dict[str, Any] | None]
"""HTTP status and JSON body (``None``: empty body, e.g. 204)."""


@dataclass(frozen=True)
class Call:
    mchid: str
    """The provider that signed the request (the Authorization header's mchid, verified)."""
    body: bytes
    path: Mapping[str, str]
    """The route's path parameters."""
    query: Mapping[str, str]
    root_url: str = ""
    """The simulator's root as the client reached it (``http://host/sim/wechatpay``): links the
    simulator hands out (a bill's ``download_url``) start with it."""

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or 400 PARAM_ERROR."""
        return parse_json_object(self.body)

    def require(self, *names: str) -> list[str]:
        """Required query parameters, or 400 PARAM_ERROR naming the first missing one."""
        return require_query(self.query, *names)


Handler = Callable[["Simulator", Call], Answer]


@dataclass(frozen=True)
class Download:
    """A file WeChat serves as it is: no JSON, no signature headers (the bill's hash vouches)."""

    content: bytes
    media_type: str


DownloadHandler = Callable[["Simulator", Call], Download]
