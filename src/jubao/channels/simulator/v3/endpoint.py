"""What every v3 request goes through: the configured latency, an injected fault, the signature
check, the operation, and an answer signed like WeChat's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from jubao.channels.simulator.auth import authenticate
from jubao.channels.simulator.errors import ApiError
from jubao.channels.simulator.ids import new_request_id
from jubao.channels.simulator.signing import wechatpay_headers
from jubao.channels.simulator.v3.call import Call, DownloadHandler, Handler

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = [
    "signed_url",
    "signed_urls",
    "v3_download_endpoint",
    "v3_endpoint",
    "wechat_response",
]

_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def signed_url(scope: dict[str, Any] | Any) -> str:
    """The URL as it arrived: the path (mount prefix included) plus ``?query``.

    ``raw_path`` is the undecoded path; without it, rebuild from root_path and the decoded path."""
    return signed_urls(scope)[0]


def signed_urls(scope: dict[str, Any] | Any) -> tuple[str, ...]:
    """The URLs a client may have signed, each plus ``?query`` exactly as received: the path as it
    arrived (what a client signs when it signs its base URL's whole path, as jubao's channel does)
    and, when the simulator is mounted under a prefix, the path relative to that mount point
    (what a client signs when given the simulator's URL as its API root, as it would sign
    ``/v3/...`` at WeChat). Both name the same resource, so accepting either lets no signature
    stand for a different request."""
    raw_path = scope.get("raw_path")
    root = scope.get("root_path", "")
    if raw_path:
        path = bytes(raw_path).decode("latin-1").split("?", 1)[0]
    else:
        decoded = scope["path"]
        path = quote(decoded if decoded.startswith(root) else root + decoded, safe=_PATH_SAFE)
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    paths = [path]
    prefix = quote(root, safe=_PATH_SAFE)
    if prefix and path.startswith(prefix + "/"):
        paths.append(path[len(prefix) :])
    return tuple(f"{item}?{query}" if query else item for item in paths)


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def wechat_response(
    sim: Simulator,
    status: int,
    payload: dict[str, Any] | None,
    internal: int = 0,
    request_serial: str | None = None,
    certificate_signed: bool = False,
) -> Response:
    """Every answer is signed like WeChat's (clients verify 2xx; signing errors costs nothing),
    with the key of the mode the request's ``Wechatpay-Serial`` names (``sim.answer_signer``)."""
    body = b"" if payload is None else _json(payload)
    key, serial = sim.answer_signer(request_serial, certificate_signed)
    headers = wechatpay_headers(key, serial, int(sim.now()), body)
    headers["Request-ID"] = new_request_id(internal)
    headers["Content-Type"] = "application/json"
    return Response(body, status_code=status, headers=headers)


async def _authenticated_call(sim: Simulator, request: Request) -> Call:
    """Latency, an injected fault, then the signature check: what every v3 request goes through
    before its operation runs (raises ``ApiError``)."""
    if sim.controls.latency_ms > 0:
        await asyncio.sleep(sim.controls.latency_ms / 1000)
    fault = sim.controls.take_fault()
    if fault is not None:
        raise fault
    body = await request.body()
    merchant = authenticate(
        header=request.headers.get("authorization"),
        method=request.method,
        urls=signed_urls(request.scope),
        body=body,
        now=sim.now(),
        lookup=sim.merchant,
    )
    return Call(
        merchant.sp_mchid, body, request.path_params, request.query_params, _root_url(request)
    )


def _root_url(request: Request) -> str:
    """The URL of the simulator's root: the request's URL without the route's own path."""
    url = str(request.url.replace(query=None, fragment=None))
    route_path = request.scope.get("path", "")
    root = request.scope.get("root_path", "")
    if root and route_path.startswith(root):
        route_path = route_path[len(root) :]
    return url[: -len(route_path)] if route_path and url.endswith(route_path) else url


def v3_endpoint(
    handler: Handler, certificate_signed: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sim: Simulator = request.app.state.simulator
        serial = request.headers.get("wechatpay-serial")
        try:
            call = await _authenticated_call(sim, request)
            status, payload = handler(sim, call)
        except ApiError as error:
            return wechat_response(
                sim, error.status, error.body(), error.internal, serial, certificate_signed
            )
        # Only the RSA signature leaves the loop (it releases the GIL); state changed above.
        return await asyncio.to_thread(
            wechat_response, sim, status, payload, 0, serial, certificate_signed
        )

    return endpoint


def v3_download_endpoint(handler: DownloadHandler) -> Callable[[Request], Awaitable[Response]]:
    """A signed request whose success is a file answered unsigned (``/v3/billdownload/file``);
    errors are WeChat's usual JSON."""

    async def endpoint(request: Request) -> Response:
        sim: Simulator = request.app.state.simulator
        serial = request.headers.get("wechatpay-serial")
        try:
            download = handler(sim, await _authenticated_call(sim, request))
        except ApiError as error:
            return wechat_response(sim, error.status, error.body(), error.internal, serial)
        headers = {"Request-ID": new_request_id(0)}
        return Response(download.content, media_type=download.media_type, headers=headers)

    return endpoint
