"""An Alipay refusal as the gateway answers it (always HTTP 200, under the method's key)."""

from __future__ import annotations

from typing import Any

__all__ = ["GatewayError", "business", "invalid_parameter"]

_MESSAGES = {
    "20000": "Service Currently Unavailable",
    "20001": "Insufficient Token Permissions",
    "40001": "Missing Required Arguments",
    "40002": "Invalid Arguments",
    "40003": "Insufficient Conditions",
    "40004": "Business Failed",
    "40005": "Call Limited",
    "40006": "Insufficient Permissions",
}


class GatewayError(Exception):
    """``signed=False`` for the refusals made before the caller's app is known."""

    def __init__(
        self,
        code: str,
        sub_code: str,
        sub_msg: str,
        *,
        signed: bool = True,
        under_error_key: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code} {sub_code}: {sub_msg}")
        self.code = code
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.signed = signed
        self.under_error_key = under_error_key
        self.extra = extra or {}

    def payload(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "msg": _MESSAGES.get(self.code, "Unknown Error"),
            "sub_code": self.sub_code,
            "sub_msg": self.sub_msg,
            **self.extra,
        }


def business(sub_code: str, sub_msg: str, **extra: Any) -> GatewayError:
    return GatewayError("40004", sub_code, sub_msg, extra=extra)


def invalid_parameter(sub_msg: str) -> GatewayError:
    return business("ACQ.INVALID_PARAMETER", f"参数有误：{sub_msg}")
