"""What every command shares: the global options (before or after the command's name), settings
with the master key resolved as the sandbox resolves it, a database, and clean errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from jubao.config import Settings
from jubao.config_check import SettingsGroup
from jubao.errors import JubaoError, SealingError
from jubao.merchants.directory import MerchantDirectory
from jubao.runtime import with_master_key
from jubao.security.keys import sealer_for
from jubao.storage.database import Database, open_database

__all__ = [
    "JubaoGroup",
    "accept_global_options",
    "as_json_option",
    "chosen_options",
    "chosen_settings",
    "directory",
    "echo_rows",
    "opened",
    "run_async",
    "settings",
]

P = ParamSpec("P")
R = TypeVar("R")

_CHOSEN = "jubao.global_options"  # key in the root context's meta


def as_json_option(fn: Callable[P, R]) -> Callable[P, R]:
    """``--json``: a list command prints one JSON array instead of its text lines."""
    return click.option("--json", "as_json", is_flag=True, help="print a JSON array")(fn)


def echo_rows(
    as_json: bool, rows: list[dict[str, Any]], text: Callable[[dict[str, Any]], str]
) -> None:
    """``rows`` as a JSON array (``--json``), else one ``text(row)`` line each."""
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(text(row))


def run_async(fn: Callable[P, Awaitable[R]]) -> Callable[P, R]:
    """An ``async def`` command body, run to completion."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return asyncio.run(fn(*args, **kwargs))  # type: ignore[arg-type]

    return wrapper


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and param.name is not None:
        chosen = ctx.find_root().meta.setdefault(_CHOSEN, {})
        chosen[param.name] = value
        if isinstance(ctx.obj, Settings):  # given after a command: its settings follow
            ctx.obj = Settings.from_env(**chosen)
    return value


def chosen_options(ctx: click.Context) -> dict[str, Any]:
    """The global options given so far (``--data-dir`` ...), by setting name."""
    return dict(ctx.find_root().meta.get(_CHOSEN, {}))


def chosen_settings(ctx: click.Context) -> Settings:
    """Defaults, ``JUBAO_*`` variables (and env files), then the global options given so far."""
    return Settings.from_env(**ctx.find_root().meta.get(_CHOSEN, {}))


def _global_options() -> list[click.Parameter]:
    return [
        click.Option(
            ["--data-dir"],
            type=click.Path(path_type=Path),
            default=None,
            expose_value=False,
            callback=_remember,
            help="default .jubao (JUBAO_DATA_DIR)",
        ),
        click.Option(
            ["--database-url"],
            default=None,
            expose_value=False,
            callback=_remember,
            help="sqlite:///FILE or postgresql://... (JUBAO_DATABASE_URL)",
        ),
        click.Option(
            ["--env-file"],
            default=None,
            expose_value=False,
            callback=_remember,
            help="also read JUBAO_* settings from this file (e.g. DATA_DIR/channel.env); "
            "or JUBAO_ENV_FILE",
        ),
    ]


def accept_global_options(command: click.Command) -> None:
    """Give ``command`` and every command below it the global options, so that
    ``jubao --data-dir D app list`` and ``jubao app list --data-dir D`` mean the same (where both
    are given, the later one wins)."""
    command.params.extend(_global_options())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_global_options(sub)


def settings(ctx: click.Context, **overrides: Any) -> Settings:
    """Defaults, ``JUBAO_*`` variables, the global options, then ``overrides``; the master key from
    ``JUBAO_MASTER_KEY`` or else ``DATA_DIR/keys/master_key``, as the sandbox keeps it."""
    chosen: dict[str, Any] = ctx.find_root().meta.get(_CHOSEN, {})
    return with_master_key(Settings.from_env(**chosen, **overrides))


def directory(db: Database, configured: Settings) -> MerchantDirectory:
    """A directory that seals and opens app secrets under the resolved master key."""
    return MerchantDirectory(db, sealer=sealer_for(configured))


@contextlib.asynccontextmanager
async def opened(configured: Settings) -> AsyncIterator[Database]:
    db = await open_database(configured.resolved_database_url)
    try:
        yield db
    finally:
        await db.close()


class JubaoGroup(SettingsGroup):
    """The root group: a bad setting ends the command with exit status 2 (``SettingsGroup``), an
    error jubao raises on purpose with its message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SealingError as exc:
            raise click.ClickException(exc.detail) from None
        except JubaoError as exc:
            raise click.ClickException(exc.message) from None
