"""``POST /gateway``: the Open API 1.0 endpoint. Thin: parse, verify, call one service method,
render. Every answer is HTTP 200 with a JSON envelope, whatever went wrong.

``SignedEndpoint`` is the pipeline every endpoint shares (``/gateway`` here, ``/gateway/agent`` in
``web/gateway_agent.py``); an endpoint says who may sign, who the caller then is, its method table
and how its failures look.

Order of checks: envelope -> app -> signature (constant time) -> rate limit -> strict nonce ->
method -> identical-request ledger (``security/idempotency.py``) -> business. Limits come after
the signature, so nobody without the app secret can spend an app's budget or burn its nonces;
unsigned junk costs one MD5 and a cached app lookup.
The whole request runs under ``request_timeout_seconds``: reading the body is cancelled at the
deadline; processing is not (a half-run payment step is never cut short), the caller gets
``TIMEOUT`` and the work finishes in the background, so an identical retry replays its outcome.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from jubao.channels.timed import upstream_seconds
from jubao.config import Settings
from jubao.errors import (
    AppNotFound,
    InvalidParameter,
    JubaoError,
    MethodNotSupported,
    RateLimited,
    RequestTimeout,
    SealingError,
    SignatureError,
)
from jubao.merchants.directory import MerchantDirectory
from jubao.merchants.models import App
from jubao.payments.service import PaymentService
from jubao.protocol import envelope as env
from jubao.protocol import jsonwire, methods, signing
from jubao.security.idempotency import RequestLedger
from jubao.security.ratelimit import RateLimiter
from jubao.security.replay import ReplayGuard
from jubao.storage.database import Database
from jubao.web import requestline
from jubao.web.bodies import read_bounded
from jubao.web.methods_v1 import HANDLERS

__all__ = ["Gateway", "SignedEndpoint", "Signer", "json_response"]

log = logging.getLogger("jubao.gateway")

# Methods that answer whatever biz_content holds (absent, empty, any JSON): Java sends {}, PHP [].
IGNORES_BIZ = frozenset({methods.GET_TIME})


def json_response(
    payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        jsonwire.dumps(payload).encode("utf-8"),
        status_code=status,
        media_type="application/json;charset=UTF-8",
        headers=headers,
    )


P = TypeVar("P")  # who signed (an App, a Vendor)
C = TypeVar("C")  # who the handlers are called for (an App, a Caller)
Handler = Callable[[PaymentService, C, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Signer(Generic[P]):
    """Whoever signed a request: ``key`` keeps its rate budget, nonces and stored answers apart
    from every other signer's."""

    key: str
    secret: str = field(repr=False)
    principal: P
    strict_nonce: bool = False
    # named in the message of a failed signature check (a field's name, not a secret)
    secret_name: str = "app_secret"  # noqa: S105


class SignedEndpoint(ABC, Generic[P, C]):
    """Envelope -> signer -> signature (constant time) -> rate limit -> strict nonce -> method ->
    caller -> identical-request ledger -> one handler of the method table."""

    vendors = False  # whether parse_envelope accepts a vendor_sn instead of an app_id

    def __init__(
        self,
        service: PaymentService,
        merchants: MerchantDirectory,
        settings: Settings,
        db: Database,
        handlers: Mapping[str, Handler[C]],
    ) -> None:
        self._service = service
        self._merchants = merchants
        self._handlers = handlers
        self._max_body = settings.max_body_bytes
        self._timeout = settings.request_timeout_seconds
        self._limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self._replay = ReplayGuard(db)
        self._answers = RequestLedger(db)
        self._detached: set[asyncio.Task[dict[str, Any]]] = set()

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        facts = requestline.begin()
        with upstream_seconds() as upstream:
            try:
                payload = env.success(await self._answer(request))
            except SealingError as exc:
                log.error("app secret cannot be opened: %s", exc.detail)
                payload = self.failure(exc)
            except JubaoError as exc:
                payload = self.failure(exc)
            except Exception:  # last line of defence: a clean envelope, details only in our log
                log.exception("unexpected error in gateway")
                payload = self.failure(JubaoError())
        total = time.perf_counter() - started
        requestline.finish(facts, payload, total, upstream[0])
        timing = {
            # time spent in jubao itself, without waiting on WeChat
            "X-Gateway-Time": f"{(total - upstream[0]) * 1000:.2f}ms",
            "X-Upstream-Time": f"{upstream[0] * 1000:.2f}ms",
        }
        return json_response(payload, headers=timing)

    async def _answer(self, request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")  # JSON, or a urlencoded form
        if self._timeout <= 0:
            return await self._process(await self._read_body(request), content_type)
        deadline = asyncio.get_running_loop().time() + self._timeout
        try:
            async with asyncio.timeout_at(deadline):
                body = await self._read_body(request)
        except TimeoutError:
            raise RequestTimeout("读取请求体超时") from None
        work = asyncio.ensure_future(self._process(body, content_type))
        remaining = deadline - asyncio.get_running_loop().time()
        done, _ = await asyncio.wait({work}, timeout=max(remaining, 0))
        if not done:
            self._detach(work)
            raise RequestTimeout()
        return work.result()

    def _detach(self, work: asyncio.Task[dict[str, Any]]) -> None:
        """Let timed-out work finish on its own; log it only if it fails unexpectedly."""
        self._detached.add(work)

        def finished(task: asyncio.Task[dict[str, Any]]) -> None:
            self._detached.discard(task)
            if task.cancelled():
                return
            error = task.exception()
            if error is not None and not isinstance(error, JubaoError):
                log.error("timed-out gateway request failed later", exc_info=error)

        work.add_done_callback(finished)

    # ---- what an endpoint decides ----------------------------------------------------------

    def failure(self, error: JubaoError) -> dict[str, Any]:
        """The failure envelope of this endpoint."""
        return env.failure(error.message, error.sub_code)

    @abstractmethod
    async def signer(self, envelope: env.Envelope) -> Signer[P]:
        """Whoever the envelope names as its signer, with the secret to verify it."""

    @abstractmethod
    async def caller(self, signer: Signer[P], biz: dict[str, Any]) -> C:
        """Whom the handler acts for (checked after the signature)."""

    # ---- the shared pipeline ---------------------------------------------------------------

    async def _process(self, body: bytes, content_type: str = "") -> dict[str, Any]:
        envelope = env.parse_envelope(body, content_type, vendors=self.vendors)
        requestline.note_envelope(envelope.method, envelope.credential)
        signer = await self.signer(envelope)
        if not signing.verify(
            envelope.signed_params, signer.secret, envelope.sign, php_params=envelope.php_params
        ):
            raise SignatureError(f"签名验证失败，请检查 {signer.secret_name} 与签名算法")
        if not self._limiter.allow(signer.key):
            wait = self._limiter.retry_after(signer.key)
            raise RateLimited(f"请求过于频繁，请 {max(wait, 0.01):.2f} 秒后重试")
        await self._replay.check_key(signer.key, envelope.nonce, strict=signer.strict_nonce)
        handler = self._handlers.get(envelope.method)
        if handler is None:
            raise MethodNotSupported(f"不支持的接口方法 method={envelope.method[:64]}")
        biz = {} if envelope.method in IGNORES_BIZ else env.parse_biz(envelope)
        requestline.note_biz(biz)
        caller = await self.caller(signer, biz)
        # A byte-identical state-changing request gets the first answer, never a second run.
        return await self._answers.once(
            signer.key,
            envelope.method,
            envelope.signed_params,
            lambda: handler(self._service, caller, biz),
        )

    async def _read_body(self, request: Request) -> bytes:
        body = await read_bounded(request, self._max_body)
        if not body:
            raise InvalidParameter("请求体为空", sub_code="INVALID_JSON")
        return body


class Gateway(SignedEndpoint[App, App]):
    """``POST /gateway``: Open API 1.0, signed by a merchant's app."""

    def __init__(
        self,
        service: PaymentService,
        merchants: MerchantDirectory,
        settings: Settings,
        db: Database,
    ) -> None:
        super().__init__(service, merchants, settings, db, HANDLERS)

    async def signer(self, envelope: env.Envelope) -> Signer[App]:
        app = await self._merchants.app(envelope.app_id)
        if app is None:
            raise AppNotFound(f"app_id {envelope.app_id[:32]} 不存在")
        return Signer(app.app_id, app.app_secret, app, app.strict_nonce)

    async def caller(self, signer: Signer[App], biz: dict[str, Any]) -> App:
        return signer.principal
