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
``TIMEOUT`` at the deadline and the work finishes in the request's own task, its answer dropped,
so an identical retry replays its outcome. One timer per request does this (``_Deadline``), not a
task and ``asyncio.wait`` (a tenth of the CPU of an ``order.query``, docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from starlette.types import Receive, Scope

from jubao.channels.outbound import upstream_seconds
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
from jubao.protocol import methods, signing
from jubao.security.idempotency import RequestLedger
from jubao.security.ratelimit import RateLimiter
from jubao.security.replay import ReplayGuard
from jubao.storage.database import Database
from jubao.web import requestline
from jubao.web.answer import Header, Reply
from jubao.web.bodies import receive_bounded
from jubao.web.methods_v1 import HANDLERS

__all__ = ["Gateway", "SignedEndpoint", "Signer", "signing_app"]

log = logging.getLogger("jubao.gateway")

# Methods that answer whatever biz_content holds (absent, empty, any JSON): Java sends {}, PHP [].
IGNORES_BIZ = frozenset({methods.GET_TIME})


P = TypeVar("P")  # who signed (an App, a Vendor)
C = TypeVar("C")  # who the handlers are called for (an App, a Caller)
Handler = Callable[[PaymentService, C, dict[str, Any]], Awaitable[env.Data]]


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
    handlers: Mapping[str, Handler[C]]  # the endpoint's method table

    def __init__(
        self,
        service: PaymentService,
        merchants: MerchantDirectory,
        settings: Settings,
        db: Database,
    ) -> None:
        self._service = service
        self._merchants = merchants
        self._max_body = settings.max_body_bytes
        self._timeout = settings.request_timeout_seconds
        self._limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self._replay = ReplayGuard(db)
        self._answers = RequestLedger(db)

    async def handle(self, scope: Scope, receive: Receive, reply: Reply) -> None:
        """Answer one POST (``web/fastpath.py`` calls this with its request id set)."""
        started = time.perf_counter()
        facts = requestline.begin()
        with upstream_seconds() as upstream:
            deadline: _Deadline | None = None
            if self._timeout > 0:

                def expire() -> Awaitable[None]:
                    payload = self.failure(RequestTimeout())
                    return reply.json(payload, _finish(facts, payload, started, upstream[0]))

                deadline = _Deadline(self._timeout, expire)
            try:
                payload = await self._outcome(scope, receive, deadline)
            finally:
                if deadline is not None:
                    deadline.timer.cancel()
            if deadline is not None and deadline.answering is not None:
                # The caller has had TIMEOUT (or is getting it): this outcome is dropped here; the
                # ledger keeps it for an identical retry, as it keeps every stored answer.
                await deadline.answering
                return
            await reply.json(payload, _finish(facts, payload, started, upstream[0]))

    async def _outcome(
        self, scope: Scope, receive: Receive, deadline: _Deadline | None
    ) -> dict[str, Any]:
        try:
            content_type, declared = _headers(scope)
            if deadline is None:
                body = await self._read_body(receive, declared)
            else:
                body = await deadline.reading(self._read_body(receive, declared))
            return env.success(await self._process(body, content_type))
        except SealingError as exc:
            log.error("app secret cannot be opened: %s", exc.detail)
            return self.failure(exc)
        except JubaoError as exc:
            return self.failure(exc)
        except Exception:  # last line of defence: a clean envelope, details only in our log
            if deadline is not None and deadline.answering is not None:
                log.exception("timed-out gateway request failed later")
            else:
                log.exception("unexpected error in gateway")
            return self.failure(JubaoError())

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

    async def _process(self, body: bytes, content_type: str = "") -> env.Data:
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
        handler = self.handlers.get(envelope.method)
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

    async def _read_body(self, receive: Receive, declared: bytes | None) -> bytes:
        body = await receive_bounded(receive, declared, self._max_body)
        if not body:
            raise InvalidParameter("请求体为空", sub_code="INVALID_JSON")
        return body


def _headers(scope: Scope) -> tuple[str, bytes | None]:
    """The body's content type (JSON, or a urlencoded form) and its declared length."""
    content_type, declared = b"", None
    for key, value in scope["headers"]:
        if key == b"content-type":
            if not content_type:
                content_type = value
        elif key == b"content-length" and declared is None:
            declared = value
    return content_type.decode("latin-1"), declared


def _finish(
    facts: requestline.GatewayFacts, payload: dict[str, Any], started: float, upstream: float
) -> list[Header]:
    """The request line and metrics, then the timing headers of the answer."""
    total = time.perf_counter() - started
    requestline.finish(facts, payload, total, upstream)
    return [
        # time spent in jubao itself, without waiting on WeChat
        (b"x-gateway-time", b"%.2fms" % ((total - upstream) * 1000)),
        (b"x-upstream-time", b"%.2fms" % (upstream * 1000)),
    ]


class _Deadline:
    """A request's deadline, one timer and no task of its own: while the body is read the timer
    cancels the read (``RequestTimeout``); after that it starts ``expire``'s answer (``TIMEOUT``)
    at once while the work carries on in the request's task, undisturbed."""

    __slots__ = ("_expire", "_reading", "_task", "answering", "timer")

    def __init__(self, seconds: float, expire: Callable[[], Awaitable[None]]) -> None:
        self._task = asyncio.current_task()
        self._expire = expire
        self._reading = False
        self.answering: asyncio.Future[None] | None = None  # the TIMEOUT answer, once started
        self.timer = asyncio.get_running_loop().call_later(seconds, self._fire)

    def _fire(self) -> None:
        if self._reading:
            self._reading = False
            if self._task is not None:
                self._task.cancel()
            return
        self.answering = asyncio.ensure_future(self._expire())

    async def reading(self, read: Awaitable[bytes]) -> bytes:
        self._reading = True
        try:
            return await read
        except asyncio.CancelledError:
            if self._reading or self._task is None or self._task.uncancel() > 0:
                raise  # not (only) the deadline's cancellation
            raise RequestTimeout("读取请求体超时") from None
        finally:
            self._reading = False


async def signing_app(merchants: MerchantDirectory, app_id: str) -> App:
    """The app an envelope names as its signer (1.0 always, 2.0 when it names one)."""
    app = await merchants.app(app_id)
    if app is None:
        raise AppNotFound(f"app_id {app_id[:32]} 不存在")
    return app


class Gateway(SignedEndpoint[App, App]):
    """``POST /gateway``: Open API 1.0, signed by a merchant's app."""

    handlers = HANDLERS

    async def signer(self, envelope: env.Envelope) -> Signer[App]:
        app = await signing_app(self._merchants, envelope.app_id)
        return Signer(app.app_id, app.app_secret, app, app.strict_nonce)

    async def caller(self, signer: Signer[App], biz: dict[str, Any]) -> App:
        return signer.principal
