"""The parameters of a ``gateway.do`` call: query and body merged, the body read within a bound
and decoded in the call's own ``charset`` (UTF-8 or GBK), urlencoded or multipart."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import Message

from jubao.channels.alipay_simulator.errors import GatewayError

__all__ = ["MAX_BODY_BYTES", "read_params"]

MAX_BODY_BYTES = 1024 * 1024
_CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gbk", "gb2312": "gbk"}


def _refused(message: str) -> GatewayError:
    return GatewayError(
        "40002", "isv.invalid-parameter", message, signed=False, under_error_key=True
    )


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise _refused("请求体过大")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _refused("请求体过大")
        chunks.append(chunk)
    return b"".join(chunks)


def _charset(query: bytes, body: bytes, media: str) -> str:
    """The ``charset`` parameter (ASCII wherever it is), else UTF-8."""
    sources = [query] + ([body] if media == "application/x-www-form-urlencoded" else [])
    for source in sources:
        for key, value in parse_qsl(source.decode("latin-1"), keep_blank_values=True):
            if key == "charset":
                charset = _CHARSETS.get(value.lower())
                if charset is None:
                    raise GatewayError(
                        "40002", "isv.invalid-charset", "字符集错误", under_error_key=True
                    )
                return charset
    return "utf-8"


async def _multipart(request: Request, body: bytes) -> list[tuple[str, str]]:
    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]  # files are not signed


async def read_params(request: Request) -> dict[str, str]:
    """Java puts the common parameters in the query, python-alipay-sdk everything, smartwalle
    nothing: all are merged; one name with two different values is refused."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await _body(request) if request.method == "POST" else b""
    query = request.scope.get("query_string", b"")
    charset = _charset(query, body, media)
    try:
        pairs = parse_qsl(
            query.decode("latin-1"), keep_blank_values=True, encoding=charset, errors="strict"
        )
        if media == "application/x-www-form-urlencoded":
            pairs += parse_qsl(
                body.decode("latin-1"), keep_blank_values=True, encoding=charset, errors="strict"
            )
        elif media == "multipart/form-data":
            pairs += await _multipart(request, body)
    except UnicodeDecodeError:
        raise GatewayError(
            "40002", "isv.invalid-charset", f"参数不是 {charset} 编码", under_error_key=True
        ) from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if params.get(name, value) != value:
            raise _refused(f"参数 {name} 重复且取值不同")
        params[name] = value
    return params
