"""The Open API request envelope (reference 1.3) and the response envelopes (reference 3).

A request body is one JSON object of top-level ("common") parameters; ``biz_content`` inside it is
a string holding the business JSON. Parsing here is strict about shape and lenient about what real
SDKs send (numeric nonces, missing ``format``/``sign_method``/``version``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jubao.errors import InvalidParameter, SignatureError
from jubao.protocol import jsonwire

__all__ = [
    "SUCCESS_MESSAGE",
    "Envelope",
    "failure",
    "parse_biz",
    "parse_envelope",
    "success",
]

SUCCESS_MESSAGE = "成功"
_SUPPORTED_SIGN_METHODS = frozenset({"md5"})
_SUPPORTED_FORMATS = frozenset({"json"})


@dataclass(frozen=True, slots=True)
class Envelope:
    app_id: str
    method: str
    biz_content: str
    sign: str
    nonce: str
    version: str
    # Every received top-level parameter (except sign) as the text that was signed.
    signed_params: dict[str, str | None]


def parse_envelope(body: bytes) -> Envelope:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidParameter("请求体必须是 UTF-8 编码的 JSON", sub_code="INVALID_JSON") from exc
    text = text.removeprefix("\ufeff")
    try:
        raw = jsonwire.loads(text)
    except jsonwire.JsonError as exc:
        raise InvalidParameter(f"请求体不是合法的 JSON：{exc}", sub_code="INVALID_JSON") from exc
    if not isinstance(raw, dict):
        raise InvalidParameter("请求体必须是 JSON 对象", sub_code="INVALID_JSON")

    params: dict[str, str | None] = {}
    for key, value in raw.items():
        params[key] = _param_text(key, value)

    sign = params.pop("sign", None)
    if not sign:
        raise InvalidParameter("缺少参数 sign", sub_code="MISSING_PARAMETER")
    if not sign.isascii():
        raise SignatureError("参数 sign 含有非 ASCII 字符")
    app_id = _required(params, "app_id")
    method = _required(params, "method")
    if "biz_content" not in params or params["biz_content"] is None:
        raise InvalidParameter("缺少参数 biz_content", sub_code="MISSING_PARAMETER")
    sign_method = (params.get("sign_method") or "md5").lower()
    if sign_method not in _SUPPORTED_SIGN_METHODS:
        shown = jsonwire.preview(params["sign_method"] or "")
        raise InvalidParameter(
            f"不支持的签名方式 sign_method={shown}，仅支持 md5",
            sub_code="INVALID_SIGN_METHOD",
        )
    fmt = (params.get("format") or "json").lower()
    if fmt not in _SUPPORTED_FORMATS:
        shown = jsonwire.preview(params["format"] or "")
        raise InvalidParameter(f"不支持的格式 format={shown}，仅支持 json")
    return Envelope(
        app_id=app_id,
        method=method,
        biz_content=params["biz_content"] or "",
        sign=sign,
        nonce=params.get("nonce") or "",
        version=params.get("version") or "1.0",
        signed_params=params,
    )


def _param_text(key: str, value: Any) -> str | None:
    """The text a client signed for this value: strings verbatim, integers as digits."""
    if not key.isascii() or not key:
        raise InvalidParameter("参数名必须是非空 ASCII 字符串")
    if value is None or isinstance(value, str):
        if isinstance(value, str) and not jsonwire.is_utf8(value):
            raise InvalidParameter(f"参数 {key} 含有无效的 Unicode 字符")
        if isinstance(value, str) and "\x00" in value:  # PostgreSQL text cannot hold NUL
            raise InvalidParameter(f"参数 {key} 含有非法控制字符")
        return value
    if isinstance(value, bool):
        raise InvalidParameter(f"参数 {key} 必须是字符串")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if key == "biz_content":
        raise InvalidParameter("参数 biz_content 必须是 JSON 对象的字符串形式，而不是对象本身")
    raise InvalidParameter(f"参数 {key} 必须是字符串")


def _required(params: dict[str, str | None], key: str) -> str:
    value = params.get(key)
    if not value:
        raise InvalidParameter(f"缺少参数 {key}", sub_code="MISSING_PARAMETER")
    return value


def parse_biz(envelope: Envelope) -> dict[str, Any]:
    """Decode ``biz_content``: a JSON object string (``[]`` and blank count as empty)."""
    text = envelope.biz_content.strip()
    if not text:
        return {}
    try:
        value = jsonwire.loads(text)
    except jsonwire.JsonError as exc:
        raise InvalidParameter(f"biz_content 不是合法的 JSON：{exc}") from exc
    if value == []:
        return {}
    if not isinstance(value, dict):
        raise InvalidParameter("biz_content 必须是 JSON 对象")
    return value


def success(data: dict[str, Any]) -> dict[str, Any]:
    return {"result_code": 200, "result_message": SUCCESS_MESSAGE, "data": data}


def failure(message: str, sub_code: str, result_code: int = 400) -> dict[str, Any]:
    return {"result_code": result_code, "result_message": message, "sub_code": sub_code}
