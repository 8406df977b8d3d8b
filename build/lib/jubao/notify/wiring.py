"""Attaches a notification dispatcher to a ``Runtime`` (sandbox, ``jubao worker``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jubao.notify.dispatcher import Dispatcher

if TYPE_CHECKING:
    from jubao.web.app import Runtime

__all__ = ["attach_dispatcher", "find_dispatcher"]


def find_dispatcher(runtime: Runtime) -> Dispatcher | None:
    return runtime.dispatcher


def attach_dispatcher(runtime: Runtime) -> Dispatcher:
    """The runtime's dispatcher, created and hooked to its start/stop if it has none yet.
    Idempotent, so ``build_runtime`` and ``jubao worker`` can both ask for one."""
    existing = find_dispatcher(runtime)
    if existing is not None:
        return existing
    dispatcher = Dispatcher(runtime.db, runtime.settings)
    runtime.dispatcher = dispatcher
    runtime.on_start.append(dispatcher.start)
    runtime.on_stop.append(dispatcher.stop)
    return dispatcher
