"""The Open API request envelope (reference 1.3) and the response envelopes (reference 3).

A request body is one JSON object of top-level ("common") parameters, or the same parameters as an
``application/x-www-form-urlencoded`` form; ``biz_content`` inside it is a string holding the
business JSON. Parsing here is strict about shape and lenient about what real SDKs send (numeric
nonces, booleans and floats from PHP, missing ``format``/``sign_method``/``version``).

No top-level value but ``biz_content`` may contain ``&`` or ``=`` (nor may any key): the signed
string joins ``key=value`` pairs with them, so allowing them would let one signed string stand for
two different requests (``nonce=N&sign_method=md5`` as one nonce, or as a nonce and a parameter).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from jubao.errors import InvalidParameter, SignatureError
from jubao.protocol import jsonwire

__all__ = [
    "FORM_CONTENT_TYPE",
    "NONCE_CHARACTERS",
    "SUCCESS_MESSAGE",
    "Data",
    "Envelope",
    "failure",
    "parse_biz",
    "parse_envelope",
    "success",
]

SUCCESS_MESSAGE = "成功"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
NONCE_CHARACTERS = "A-Z a-z 0-9 - _ ."
_NONCE = re.compile(r"[A-Za-z0-9._-]+")
_SUPPORTED_SIGN_METHODS = frozenset({"md5"})
_SUPPORTED_FORMATS = frozenset({"json"})
_PHP_PRECISION = 14  # php.ini "precision": how PHP turns a float into a string

Data = dict[str, Any] | list[dict[str, Any]]
"""A success's ``data``: an object, or for ``openapi.store.category`` an array (reference 3.1)."""


@dataclass(frozen=True, slots=True)
class Envelope:
    app_id: str  # empty when a vendor signs (2.0 service-provider level)
    method: str
    biz_content: str | None  # None: absent or null (only openapi.get.time does without)
    sign: str
    nonce: str
    version: str
    # Every received top-level parameter (except sign) as the text that was signed.
    signed_params: dict[str, str | None]
    # The same, as PHP prints the values (differs only for booleans and floats).
    php_params: dict[str, str | None]
    vendor_sn: str = ""  # the service provider's credential (2.0), when app_id is absent

    @property
    def credential(self) -> str:
        """The id of whoever signed: the app, or the vendor."""
        return self.app_id or self.vendor_sn


def parse_envelope(body: bytes, content_type: str = "", *, vendors: bool = False) -> Envelope:
    """``vendors``: a ``vendor_sn`` may sign instead of an ``app_id`` (Open API 2.0); an
    ``app_id``, when not empty, is the credential (reference 11.2)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        code = "INVALID_FORM" if _is_form(content_type) else "INVALID_JSON"
        raise InvalidParameter("请求体必须是 UTF-8 编码", sub_code=code) from exc
    text = text.removeprefix("\ufeff")
    raw = _form(text) if _is_form(content_type) else _json_object(text)

    usual = _usual(raw)
    if usual:  # nothing the checks of each parameter could refuse or change
        params: dict[str, str | None] = dict(raw)
        php_params: dict[str, str | None] = dict(raw)
    else:
        params, php_params = _each_checked(raw)

    sign = params.pop("sign", None)
    php_params.pop("sign", None)
    if not sign:
        raise InvalidParameter("缺少参数 sign", sub_code="MISSING_PARAMETER")
    if not sign.isascii():
        raise SignatureError("参数 sign 含有非 ASCII 字符")
    if not usual:
        for key, value in params.items():
            if key != "biz_content" and value and ("&" in value or "=" in value):
                raise InvalidParameter(f"参数 {key} 不能含有 & 或 =")
    vendor_sn = ""
    if vendors and not params.get("app_id"):
        app_id = ""
        if not params.get("vendor_sn"):
            raise InvalidParameter("缺少参数 app_id 或 vendor_sn", sub_code="MISSING_PARAMETER")
        vendor_sn = _required(params, "vendor_sn")
    else:
        app_id = _required(params, "app_id")
    method = _required(params, "method")
    nonce = params.get("nonce") or ""
    if nonce and not _NONCE.fullmatch(nonce):
        shown = jsonwire.preview(nonce)
        raise InvalidParameter(f"参数 nonce 只能由字母、数字和 - _ . 组成：{shown}")
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
        biz_content=params.get("biz_content"),
        sign=sign,
        nonce=nonce,
        version=params.get("version") or "1.0",
        signed_params=params,
        php_params=php_params,
        vendor_sn=vendor_sn,
    )


def _is_form(content_type: str) -> bool:
    return content_type.partition(";")[0].strip().lower() == FORM_CONTENT_TYPE


def _json_object(text: str) -> dict[str, Any]:
    try:
        raw = jsonwire.loads(text)
    except jsonwire.JsonError as exc:
        raise InvalidParameter(f"请求体不是合法的 JSON：{exc}", sub_code="INVALID_JSON") from exc
    if not isinstance(raw, dict):
        raise InvalidParameter("请求体必须是 JSON 对象", sub_code="INVALID_JSON")
    return raw


def _form(text: str) -> dict[str, Any]:
    """A urlencoded form: the same parameters as the JSON object, every value a string."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidParameter(
            "请求体不是合法的 application/x-www-form-urlencoded 表单", sub_code="INVALID_FORM"
        ) from exc
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidParameter(f"重复的字段 {jsonwire.preview(key)}", sub_code="INVALID_FORM")
        result[key] = value
    return result


def _usual(raw: dict[str, Any]) -> bool:
    """The usual envelope, checked at once over all its keys and values: keys non-empty
    lower-case ASCII without ``&`` or ``=`` (so no two differ only in case), values strings of
    encodable text without NUL, ``&`` or ``=``. Anything else goes through ``_each_checked``
    and the ``&``/``=`` check of each value, which name the offending parameter."""
    keys = "".join(raw)
    if "" in raw or not keys.isascii() or keys != keys.lower() or "&" in keys or "=" in keys:
        return False
    try:
        values = "".join(raw.values())
    except TypeError:  # a value that is not a string
        return False
    if "&" in values or "=" in values or "\x00" in values:
        return False
    return jsonwire.is_utf8(values)


def _each_checked(raw: dict[str, Any]) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The signed text of each parameter, and as PHP prints it; refuses what cannot be signed."""
    params: dict[str, str | None] = {}
    php_params: dict[str, str | None] = {}
    lowered: set[str] = set()
    for key, value in raw.items():
        _check_key(key, lowered)
        if type(value) is str:  # the usual parameter: signed, and printed by PHP, as it is
            params[key] = php_params[key] = _checked_text(key, value)
            continue
        params[key] = signed = _param_text(key, value)
        php_params[key] = _php_text(value) if isinstance(value, _PHP_DIFFERS) else signed
    return params, php_params


def _check_key(key: str, lowered: set[str]) -> None:
    if not key or not key.isascii():
        raise InvalidParameter("参数名必须是非空 ASCII 字符串")
    if "&" in key or "=" in key:
        raise InvalidParameter(f"参数名不能含有 & 或 =：{jsonwire.preview(key)}")
    # Keys are also signed lower-cased (the PHP SDK's variant): two keys that differ only in
    # case would make that string ambiguous.
    folded = key.lower()
    if folded in lowered:
        raise InvalidParameter(f"参数名重复（不区分大小写）：{jsonwire.preview(key)}")
    lowered.add(folded)


# Values PHP prints differently from their signed text (a tuple: ``bool | Decimal`` would build
# a union object on every check)
_PHP_DIFFERS = (bool, Decimal)


def _param_text(key: str, value: Any) -> str | None:
    """The text a client signed for this value: strings verbatim, integers as digits, floats in
    their exact JSON text, booleans as PHP prints them."""
    if value is None:
        return None
    if isinstance(value, str):
        return _checked_text(key, value)
    if isinstance(value, bool):
        return _php_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if key == "biz_content":
        raise InvalidParameter("参数 biz_content 必须是 JSON 对象的字符串形式，而不是对象本身")
    raise InvalidParameter(f"参数 {key} 必须是字符串")


def _checked_text(key: str, value: str) -> str:
    """A string parameter as it was signed, once it is text PostgreSQL can store."""
    if not jsonwire.is_utf8(value):
        raise InvalidParameter(f"参数 {key} 含有无效的 Unicode 字符")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL
        raise InvalidParameter(f"参数 {key} 含有非法控制字符")
    return value


def _php_text(value: bool | Decimal) -> str:
    """PHP's string conversion: ``true`` -> ``1``, ``false`` -> empty, a float with 14 significant
    digits (``1.0`` -> ``1``, ``1e25`` -> ``1.0E+25``)."""
    if isinstance(value, bool):
        return "1" if value else ""
    number = float(value)
    if not math.isfinite(number):  # beyond a double: no PHP client sent it
        return format(value, "f")
    text = f"{number:.{_PHP_PRECISION}G}"
    mantissa, exponent_mark, exponent = text.partition("E")
    if not exponent_mark:
        return text
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{exponent[0]}{exponent[1:].lstrip('0') or '0'}"


def _required(params: dict[str, str | None], key: str) -> str:
    value = params.get(key)
    if not value:
        raise InvalidParameter(f"缺少参数 {key}", sub_code="MISSING_PARAMETER")
    return value


def parse_biz(envelope: Envelope) -> dict[str, Any]:
    """Decode ``biz_content``: a JSON object string (``[]`` and blank count as empty)."""
    if envelope.biz_content is None:
        raise InvalidParameter("缺少参数 biz_content", sub_code="MISSING_PARAMETER")
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


def success(data: Data) -> dict[str, Any]:
    return {"result_code": 200, "result_message": SUCCESS_MESSAGE, "data": data}


def failure(message: str, sub_code: str, result_code: int = 400) -> dict[str, Any]:
    return {"result_code": result_code, "result_message": message, "sub_code": sub_code}
