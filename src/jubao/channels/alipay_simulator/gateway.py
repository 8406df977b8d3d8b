"""The ``gateway.do`` pipeline (reference §9): identify the method and the app, check the
common parameters, verify the caller's RSA2 signature, resolve the merchant, read
``biz_content``, run the method, and sign the answer. Always HTTP 200, like Alipay, except for
an injected ``http_500`` fault."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from jubao.channels.alipay_simulator.errors import GatewayError, business
from jubao.channels.alipay_simulator.operations import METHODS, Call
from jubao.channels.alipay_simulator.rules import parse_biz
from jubao.channels.alipay_simulator.simulator import AlipaySimulator
from jubao.channels.alipay_simulator.wire import render_answer, rsa2_verify, sign_string

__all__ = ["GatewayAnswer", "handle"]

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gbk", "gb2312": "gbk"}


@dataclass(frozen=True)
class GatewayAnswer:
    status: int
    body: bytes
    trace_id: str
    charset: str = "utf-8"


def _key(method: str) -> str:
    return method.replace(".", "_") + "_response"


def _check_common(sim: AlipaySimulator, params: dict[str, str], encoding: str) -> None:
    app_id = params.get("app_id", "")
    if not app_id:
        raise GatewayError("40001", "isv.missing-app-id", "缺少AppID参数", signed=False)
    if app_id != sim.config.app_id:
        raise GatewayError("40002", "isv.invalid-app-id", "无效的AppID参数", signed=False)
    if not params.get("sign"):
        raise GatewayError("40001", "isv.missing-signature", "缺少签名参数")
    sign_type = params.get("sign_type", "")
    if not sign_type:
        raise GatewayError("40001", "isv.missing-signature-type", "缺少签名类型参数")
    if sign_type != "RSA2":
        raise GatewayError("40002", "isv.invalid-signature-type", "无效的签名类型（仅支持 RSA2）")
    timestamp = params.get("timestamp", "")
    if not timestamp:
        raise GatewayError("40001", "isv.missing-timestamp", "缺少时间戳参数")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise GatewayError("40002", "isv.invalid-timestamp", "非法的时间戳参数")
    if not params.get("version"):
        raise GatewayError("40001", "isv.missing-version", "缺少版本参数")
    if params.get("format", "json").lower() != "json":
        raise GatewayError("40002", "isv.invalid-format", "无效的数据格式")
    content = sign_string(params, ("sign",))
    if not rsa2_verify(sim.app_key, content, params["sign"], encoding):
        # Alipay echoes the string it verified, HTML-escaped, to help the caller debug.
        raise GatewayError(
            "40002",
            "isv.invalid-signature",
            "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："
            + content.replace("&", "&amp;"),
        )


def _fault_answer(kind: str) -> GatewayError | None:
    if kind == "unavailable":
        return GatewayError("20000", "isp.unknow-error", "系统繁忙")
    if kind == "system_error":
        return business("ACQ.SYSTEM_ERROR", "系统错误")
    if kind == "limited":
        return GatewayError("40005", "isv.app-call-limited", "调用频次超限")
    return None


def handle(sim: AlipaySimulator, params: dict[str, str], base_url: str) -> GatewayAnswer:
    """Answers in the caller's charset (UTF-8 or GBK), signed over those bytes."""
    trace_id = secrets.token_hex(15)
    method = params.get("method", "")
    encoding = _ENCODINGS.get(params.get("charset", "utf-8").lower(), "")

    def answer(key: str, payload: dict[str, Any], signed: bool) -> GatewayAnswer:
        signer = sim.signer if signed else None
        body = render_answer(key, payload, signer, encoding or "utf-8")
        return GatewayAnswer(200, body, trace_id, encoding or "utf-8")

    try:
        if not method:
            raise GatewayError(
                "40001", "isv.missing-method", "缺少方法名参数", signed=False, under_error_key=True
            )
        if method not in METHODS:
            raise GatewayError(
                "40002", "isv.invalid-method", "不存在的方法名", signed=False, under_error_key=True
            )
        if not encoding:
            raise GatewayError("40002", "isv.invalid-charset", "字符集错误", signed=False)
        _check_common(sim, params, encoding)
        fault = sim.take_fault(method)
        if fault == "http_500":
            return GatewayAnswer(
                500, b"<html><body>500 Internal Server Error</body></html>", trace_id
            )
        injected = _fault_answer(fault) if fault else None
        if injected is not None:
            raise injected
        seller = sim.seller(params.get("app_auth_token", ""))
        biz = parse_biz(params.get("biz_content", ""))
        if fault == "retry_flag" and method == "alipay.trade.cancel":
            retry = {"code": "10000", "msg": "Success", "retry_flag": "Y"}
            retry["out_trade_no"] = str(biz.get("out_trade_no") or "")
            return answer(_key(method), retry, True)
        call = Call(
            method, params["app_id"], seller, params.get("notify_url", ""), base_url, params
        )
        code, fields = METHODS[method](sim, call, biz)
        # a method answering without a code (alipay.system.oauth.token) has only its fields
        payload: dict[str, Any] = {"code": code, "msg": "Success", **fields} if code else fields
        if code == "10003":
            payload["msg"] = "order success pay inprocess"
    except GatewayError as error:
        if error.under_error_key:
            return answer("error_response", error.payload(), error.signed)
        return answer(_key(method), error.payload(), error.signed)
    done = answer(_key(method), payload, True)
    if fault == "bad_sign":
        spoiled = done.body.replace(b'"sign":"', b'"sign":"AAAA', 1)
        return GatewayAnswer(200, spoiled, trace_id, done.charset)
    return done
