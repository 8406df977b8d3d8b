"""The HTTP exchange with ``gateway.do``: one signed form POST per call, and the answer trusted
only once Alipay's signature over the exact bytes of its ``*_response`` object verifies.

Each call puts the common parameters in the query and ``biz_content`` plus ``app_auth_token`` in
the body, as the Java SDK sends them. ``10000`` (and ``10003`` where asked) returns the answer;
anything else raises what it means (``mapping.answer_error``); non-200, timeouts, transport
errors, unsigned, unverifiable or malformed answers are ``ChannelUnavailable``.

Calls go over the lean client, or over the ``httpx.AsyncClient`` tests inject, with the same bytes
on the wire; bills over a plain httpx client, streamed under a bound (``channels/outbound.py``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.channels.alipay import mapping, signing, statement
from jubao.channels.alipay.config import AlipayConfig
from jubao.channels.base import ChannelBinding
from jubao.channels.offload import offload
from jubao.channels.outbound import ChannelHttp
from jubao.errors import ChannelUnavailable
from jubao.http1 import AnswerLike, AnswerTooLarge, Outbound
from jubao.httppool import parsed_url

__all__ = ["Transport"]

log = logging.getLogger("jubao.channels.alipay")

_MAX_ANSWER_BYTES = 1024 * 1024
_FORM = (("Content-Type", "application/x-www-form-urlencoded;charset=utf-8"),)


class Transport:
    """``http_client`` replaces the lean client and the bills' one (tests inject one here)."""

    def __init__(
        self,
        config: AlipayConfig,
        *,
        app_key: rsa.RSAPrivateKey,
        alipay_key: rsa.RSAPublicKey,
        clock: Callable[[], datetime],
        http_client: httpx.AsyncClient | None,
    ) -> None:
        self._config = config
        self._app_key = app_key
        self._alipay_key = alipay_key
        self.rsa = offload(config.rsa_threads)
        self._clock = clock
        # 128 connections, as many as the sixteen httpx pools of eight it replaced allowed.
        self._http = ChannelHttp(
            http_client,
            connections=128,
            max_answer_bytes=_MAX_ANSWER_BYTES,
            timeout=config.timeout,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _params(
        self,
        method: str,
        biz: Mapping[str, Any] | None,
        binding: ChannelBinding | None,
        notify_url: str | None,
        app_params: Mapping[str, str] | None = None,
    ) -> tuple[dict[str, str], dict[str, str]]:
        query = {
            "app_id": self._config.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": mapping.china_time(self._clock()),
            "version": "1.0",
        }
        if notify_url:
            query["notify_url"] = notify_url
        # Serialised once: these exact characters are both signed and sent. A method with its
        # own top-level parameters (alipay.system.oauth.token: grant_type, code) has no biz.
        body = dict(app_params or {})
        if biz is not None:
            body["biz_content"] = json.dumps(biz, ensure_ascii=False, separators=(",", ":"))
        if binding is not None and binding.auth_token:
            body["app_auth_token"] = binding.auth_token
        return query, body

    async def call(
        self,
        method: str,
        biz: Mapping[str, Any] | None,
        *,
        binding: ChannelBinding | None,
        notify_url: str | None = None,
        waiting_ok: bool = False,
        app_params: Mapping[str, str] | None = None,
        codeless: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        """One signed call; returns ``(code, the *_response object)`` for 10000 (and 10003 when
        ``waiting_ok``), raises the mapped error otherwise. ``app_params``: the method's own
        top-level parameters, sent in the body beside ``biz_content`` (or instead of it).
        ``codeless``: the method answers success without a ``code`` (alipay.system.oauth.token);
        its failures still come with one."""
        query, body = self._params(method, biz, binding, notify_url, app_params)
        query["sign"] = await self.rsa(
            signing.sign, self._app_key, signing.request_content({**query, **body})
        )
        # The query encoded as httpx encodes ``params=``: the wire is the same on both clients.
        request = Outbound(
            "POST",
            parsed_url(self._config.gateway_url).copy_merge_params(query),
            _FORM,
            urlencode(body).encode("ascii"),
            self._config.timeout,
        )
        try:
            response = await self._http.send(request)
        except httpx.TimeoutException:
            raise ChannelUnavailable("支付宝：请求超时") from None
        except AnswerTooLarge:  # an injected client's is refused below
            raise ChannelUnavailable("支付宝：应答过大") from None
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"支付宝：网络错误（{type(exc).__name__}）") from None
        doc = await self.rsa(self._verified, method, response)
        code = str(doc.get("code", ""))
        if codeless and "code" not in doc:
            return mapping.SUCCESS, doc
        if code == mapping.SUCCESS or (waiting_ok and code == mapping.WAITING):
            return code, doc
        raise mapping.answer_error(doc)

    def page_url(
        self,
        method: str,
        biz: Mapping[str, Any],
        *,
        binding: ChannelBinding | None,
        notify_url: str | None,
        return_url: str | None,
    ) -> str:
        """A page request (``alipay.trade.wap.pay``): nothing is sent from here; the payer's
        browser opens this signed ``gateway.do`` address (GET, every parameter in the query)."""
        query, body = self._params(method, biz, binding, notify_url)
        if return_url:
            query["return_url"] = return_url
        params = {**query, **body}
        params["sign"] = signing.sign(self._app_key, signing.request_content(params))
        return f"{self._config.gateway_url}?{urlencode(params)}"

    def _verified(self, method: str, response: AnswerLike) -> dict[str, Any]:
        trace = response.headers.get("trace_id", "-")
        if response.status_code != 200:
            log.warning(
                "alipay %s answered HTTP %s (trace %s)", method, response.status_code, trace
            )
            raise ChannelUnavailable(f"支付宝：系统繁忙（HTTP {response.status_code}）")
        if len(response.content) > _MAX_ANSWER_BYTES:
            raise ChannelUnavailable("支付宝：应答过大")
        try:
            parts = signing.response_parts(response.content)
            key = method.replace(".", "_") + "_response"
            inner = parts.get(key) or parts.get("error_response")
            if inner is None:
                raise signing.ResponseShapeError(f"no {key}")
            raw_sign = parts.get("sign")
            signature = json.loads(raw_sign) if raw_sign is not None else None
            doc = json.loads(inner)
        except ValueError as exc:
            log.warning("alipay %s: malformed answer (trace %s): %s", method, trace, exc)
            raise ChannelUnavailable("支付宝：应答格式不正确") from None
        if not isinstance(doc, dict):
            raise ChannelUnavailable("支付宝：应答格式不正确")
        if not isinstance(signature, str) or not signing.verify(self._alipay_key, inner, signature):
            log.warning(
                "alipay %s: answer not verifiable (trace %s, code %s %s)",
                method,
                trace,
                doc.get("code"),
                doc.get("sub_code"),
            )
            raise ChannelUnavailable("支付宝：应答签名验证失败")
        return doc

    async def download(self, url: str) -> bytes:
        client = self._http.downloads()
        try:
            async with client.stream("GET", url, timeout=self._config.timeout) as response:
                if response.status_code != 200:
                    raise ChannelUnavailable(f"支付宝：账单下载失败（HTTP {response.status_code}）")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > statement.MAX_BILL_BYTES:
                        raise ChannelUnavailable("支付宝：账单文件过大")
                    chunks.append(chunk)
        except httpx.TimeoutException:
            raise ChannelUnavailable("支付宝：账单下载超时") from None
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"支付宝：账单下载失败（{type(exc).__name__}）") from None
        return b"".join(chunks)
