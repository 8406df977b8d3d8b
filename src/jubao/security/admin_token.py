"""The admin token against guessing: a minimum strength checked when ``serve`` starts, and a
throttle on failed attempts shared by the console login and the admin API.

The throttle keeps two token buckets of *failures* (``security/ratelimit.py``): one per client
address and one for everybody. While either is empty every attempt from that client is refused
with 429, the right token included: otherwise a guesser would still learn, at full speed, which
guess is right. Successful attempts cost nothing. In process memory, like the rate limiter.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable

from jubao.security.ratelimit import RateLimiter

__all__ = [
    "MIN_ADMIN_TOKEN_DISTINCT",
    "MIN_ADMIN_TOKEN_LENGTH",
    "GuessThrottle",
    "admin_token_problem",
    "refuse_weak_admin_token",
    "shared_throttle",
]

log = logging.getLogger("jubao.security")

MIN_ADMIN_TOKEN_LENGTH = 24
MIN_ADMIN_TOKEN_DISTINCT = 10  # "aaaa...a" and "123412341234..." are long but not secret

# Per client: 10 failures at once, then one every 6 s. Everybody together: 100, then 1 a second.
CLIENT_FAILURES_PER_SECOND, CLIENT_FAILURE_BURST = 1 / 6, 10
GLOBAL_FAILURES_PER_SECOND, GLOBAL_FAILURE_BURST = 1.0, 100
_EVERYBODY = "\x00everybody"


def admin_token_problem(token: str) -> str | None:
    """Why ``token`` is too weak to guard the console and admin API; None when it is fine.
    An empty token is fine: it disables both."""
    if not token:
        return None
    if len(token) < MIN_ADMIN_TOKEN_LENGTH:
        return f"JUBAO_ADMIN_TOKEN is shorter than {MIN_ADMIN_TOKEN_LENGTH} characters"
    if len(set(token)) < MIN_ADMIN_TOKEN_DISTINCT:
        return f"JUBAO_ADMIN_TOKEN has fewer than {MIN_ADMIN_TOKEN_DISTINCT} distinct characters"
    return None


def refuse_weak_admin_token(token: str) -> None:
    """Stop start-up (exit status 1, the reason on stderr) when the admin token is weak."""
    problem = admin_token_problem(token)
    if problem is not None:
        raise SystemExit(
            f"refusing to start: {problem}; make one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'` "
            "(or leave it empty to disable the console and admin API)"
        )


class GuessThrottle:
    def __init__(
        self,
        *,
        client_rate: float = CLIENT_FAILURES_PER_SECOND,
        client_burst: float = CLIENT_FAILURE_BURST,
        global_rate: float = GLOBAL_FAILURES_PER_SECOND,
        global_burst: float = GLOBAL_FAILURE_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = RateLimiter(client_rate, client_burst, clock=clock)
        self._everybody = RateLimiter(global_rate, global_burst, clock=clock)

    def retry_after(self, client: str) -> float:
        """Seconds this client must wait before its next attempt (0: it may try now)."""
        return max(self._clients.retry_after(client), self._everybody.retry_after(_EVERYBODY))

    def failed(self, client: str, surface: str) -> None:
        """Count a wrong token; logged with the client address, never the token."""
        self._clients.allow(client)
        self._everybody.allow(_EVERYBODY)
        log.warning("wrong admin token from %s (%s)", client, surface)


_SHARED: weakref.WeakKeyDictionary[object, GuessThrottle] = weakref.WeakKeyDictionary()


def shared_throttle(owner: object) -> GuessThrottle:
    """One throttle per ``owner`` (a runtime's database), so the console and the admin API of
    one process count failures together."""
    throttle = _SHARED.get(owner)
    if throttle is None:
        throttle = _SHARED[owner] = GuessThrottle()
    return throttle


def client_address(host: str | None) -> str:
    return host or "unknown"
