"""The simulator's answer for a refused request: WeChat's HTTP status, ``code`` and message.

``internal`` is WeChat's numeric internal error, which real WeChat appends to ``Request-ID``
after the last ``-`` (0 when there is nothing to say)."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "InternalCode", "param_error"]


class InternalCode:
    """Internal error numbers seen in WeChat's troubleshooting table."""

    OK = 0
    ORDER_PAID = 268449538
    ORDER_NOT_EXIST = 268512771
    SIGN_ERROR = 268443699
    ORDER_EXPIRED = 268447914
    PARAMS_CHANGED = 268498688
    EXTRA_PARAMETER = 270924358
    OPENID_REQUIRED = 268501013
    GENERIC = 268435456


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        detail: dict[str, Any] | None = None,
        internal: int = InternalCode.GENERIC,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.internal = internal

    def body(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            payload["detail"] = self.detail
        return payload


def param_error(message: str, field: str | None = None, *, internal: int = 0) -> ApiError:
    detail = {"field": field, "location": "body"} if field else None
    return ApiError(
        400, "PARAM_ERROR", message, detail=detail, internal=internal or InternalCode.GENERIC
    )
