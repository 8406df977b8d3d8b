"""Typed readers for business fields. Each names the field and the problem in Chinese.

Real SDKs send numbers as JSON numbers or numeric strings (reference 2.3); both are accepted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jubao.errors import InvalidParameter
from jubao.money import Fen, MoneyError, parse_yuan
from jubao.protocol import jsonwire
from jubao.protocol.identifiers import refuse_unsafe_identifier

__all__ = ["INT10_MAX", "integer", "money", "text", "url"]

_MAX_INT = 2**53 - 1
INT10_MAX = 10**10 - 1  # the reference's "int(10)": at most ten digits


def _missing(name: str) -> InvalidParameter:
    return InvalidParameter(f"缺少参数 {name}", sub_code="MISSING_PARAMETER")


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def text(
    biz: dict[str, Any],
    name: str,
    *,
    max_len: int,
    required: bool = False,
    min_len: int = 1,
    strip_check: bool = False,
    multiline: bool = False,
) -> str | None:
    """``multiline``: free text (a description, a merchant's note) that may hold CR, LF and tab;
    identifiers never do."""
    value = biz.get(name)
    if value is None or value == "":
        if required:
            raise _missing(name)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidParameter(f"参数 {name} 必须是字符串")
    result = str(value)
    if strip_check and result != result.strip():
        raise InvalidParameter(f"参数 {name} 前后不允许带空格")
    # printable ASCII, the usual value: no control, format or separator character, valid UTF-8
    plain = result.isascii() and result.isprintable()
    if strip_check:  # an identifier the merchant chose: no control or bidi characters
        refuse_unsafe_identifier(name, result)
    if len(result) > max_len:
        raise InvalidParameter(f"参数 {name} 长度不能超过 {max_len}")
    if len(result) < min_len:
        raise InvalidParameter(f"参数 {name} 长度不能少于 {min_len}")
    if plain:
        return result
    if any(ch in result for ch in ("\x00" if multiline else "\x00\r\n")):
        raise InvalidParameter(f"参数 {name} 含有非法控制字符")
    if not jsonwire.is_utf8(result):  # a lone surrogate: no database can store it
        raise InvalidParameter(f"参数 {name} 含有无效的 Unicode 字符")
    return result


def integer(
    biz: dict[str, Any],
    name: str,
    *,
    required: bool = False,
    minimum: int = 0,
    maximum: int = _MAX_INT,
) -> int | None:
    value = biz.get(name)
    if _absent(value):
        if required:
            raise _missing(name)
        return None
    if isinstance(value, bool):
        raise InvalidParameter(f"参数 {name} 必须是整数")
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise InvalidParameter(f"参数 {name} 必须是整数")
        value = int(value)
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped.isascii() or not stripped.lstrip("-").isdigit():
            raise InvalidParameter(f"参数 {name} 必须是整数")
        value = int(stripped)
    if not isinstance(value, int):
        raise InvalidParameter(f"参数 {name} 必须是整数")
    if value < minimum or value > maximum:
        raise InvalidParameter(f"参数 {name} 超出取值范围")
    return value


def money(biz: dict[str, Any], name: str, *, required: bool = False) -> Fen | None:
    value = biz.get(name)
    if _absent(value):
        if required:
            raise _missing(name)
        return None
    try:
        return parse_yuan(value, field=f"参数 {name}")
    except MoneyError as exc:
        raise InvalidParameter(str(exc), sub_code="INVALID_AMOUNT") from exc


def url(biz: dict[str, Any], name: str) -> str | None:
    """An address jubao will call or send a browser to: http or https, at most 256 characters."""
    value = text(biz, name, max_len=256)
    if value is not None and not value.startswith(("http://", "https://")):
        raise InvalidParameter(f"参数 {name} 必须是 http 或 https 地址")
    return value
