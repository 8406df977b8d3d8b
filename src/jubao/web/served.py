"""``jubao serve``'s application as uvicorn's factory, so that ``--workers N`` can start it in
each process: ``uvicorn --factory jubao.web.served:app_from_environment``.

Each process reads its settings from the environment (``jubao serve`` exports the options it was
given there first) and builds its own runtime when uvicorn starts the app: a database pool and
channel clients belong to the process and the event loop that use them.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jubao import heap
from jubao.config import Settings
from jubao.observe.logs import configure_logging
from jubao.runtime import (
    build_runtime,
    production_channels,
    require_sealed_secrets,
    with_master_key,
)
from jubao.web.app import create_app
from jubao.web.lane import lane_paths_of

__all__ = ["ServedApp", "app_from_environment"]


class ServedApp:
    """The gateway app, built during uvicorn's lifespan startup, then served as ``create_app``
    serves it (its own lifespan starts and stops the runtime)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._app: ASGIApp | None = None

    @property
    def lane_paths(self) -> frozenset[bytes]:
        """The built app's lane paths (``web/lane.py``); none before it is built. uvicorn's
        protocol asks once per connection, and connections open after the lifespan started."""
        return lane_paths_of(self._app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            if scope["type"] != "lifespan":
                raise RuntimeError("jubao serve: a request arrived before the app was built")
            await self._start(scope, receive, send)
            return
        await self._app(scope, receive, send)

    async def _start(self, scope: Scope, receive: Receive, send: Send) -> None:
        first = await receive()  # lifespan.startup
        try:
            configured = self._settings
            runtime = await build_runtime(
                configured, *production_channels(configured), maintenance=False
            )
        except (Exception, SystemExit) as exc:  # SystemExit: a missing channel setting
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        self._app = create_app(runtime)
        heap.settle()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return first
            return await receive()

        await self._app(scope, replay, send)


def app_from_environment() -> ServedApp:
    """uvicorn's factory: production settings from ``JUBAO_*`` variables (and env files)."""
    settings = with_master_key(Settings.from_env())
    # a worker process uvicorn spawned has not run the CLI: its logging is set up here
    configure_logging(settings.log_level, settings.log_format)
    require_sealed_secrets(settings)
    return ServedApp(settings)
