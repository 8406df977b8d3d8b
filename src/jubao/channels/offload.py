"""Where a channel's RSA work runs.

On a worker thread (``asyncio.to_thread``: the signature releases the GIL, so it runs on another
core beside the event loop) or inline on the loop. Threads pay when one process must use several
cores (the sandbox serves its simulator too); ``jubao serve`` runs one process per core, where the
two hand-offs per signature cost more than they give: inline signing took 11 % off the gateway's
CPU per order (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import ParamSpec, Protocol, TypeVar

__all__ = ["Offload", "inline", "offload"]

P = ParamSpec("P")
T = TypeVar("T")


class Offload(Protocol):
    def __call__(
        self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Awaitable[T]: ...


async def inline(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    return fn(*args, **kwargs)


def offload(threads: bool) -> Offload:
    return asyncio.to_thread if threads else inline
