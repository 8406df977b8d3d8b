"""``jubao config check``, ``--env-file`` and the CLI's handling of bad settings (exit 2, the
problems named by variable, no traceback)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import fields
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click

from jubao.config import SECRET_FIELDS, ConfigError, Settings, env_var

__all__ = ["SettingsGroup", "config", "effective_settings", "env_file_option", "warnings_for"]

# Exit status of a bad setting (as for a bad command line).
EXIT_BAD_SETTINGS = 2

# Needed by `jubao serve` and `jubao worker` (not by the sandbox, which makes its own).
CHANNEL_FIELDS = (
    "sp_mchid",
    "sp_appid",
    "sp_serial_no",
    "sp_private_key_file",
    "apiv3_key",
    "wechat_public_key_file",
    "wechat_public_key_id",
)

# The Alipay channel is on when any of these is set, and then needs them all.
ALIPAY_FIELDS = ("alipay_app_id", "alipay_private_key_file", "alipay_public_key_file")

env_file_option = click.option(
    "--env-file",
    default=None,
    help="also read JUBAO_* settings from this file (e.g. DATA_DIR/channel.env); or JUBAO_ENV_FILE",
)


class SettingsGroup(click.Group):
    """A group whose commands turn a ``ConfigError`` into its message and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(str(exc), err=True)
            ctx.exit(EXIT_BAD_SETTINGS)


def effective_settings(settings: Settings) -> list[tuple[str, str]]:
    """Every setting as (variable, shown value); secrets redacted."""
    rows = []
    for item in fields(Settings):
        value = getattr(settings, item.name)
        rows.append((env_var(item.name), _shown(item.name, value)))
    return rows


def _shown(name: str, value: Any) -> str:
    if name in SECRET_FIELDS:
        return "<redacted>" if value else "(not set)"
    if name == "database_url":
        return _without_password(str(value)) if value else "(not set)"
    if isinstance(value, tuple):
        return ",".join(f"{part:g}" for part in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value != "" else "(not set)"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":<redacted>@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def warnings_for(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """Things that are valid but probably not meant."""
    source = os.environ if environ is None else environ
    known = {env_var(item.name) for item in fields(Settings)}
    known |= {f"{env_var(name)}_FILE" for name in SECRET_FIELDS}
    notes = [
        f"{name} is not a jubao setting (ignored)"
        for name in sorted(source)
        if name.upper().startswith("JUBAO_") and name.upper() not in known
    ]
    # Certificate mode downloads WeChat's certificates: it needs no public key.
    needed = (
        CHANNEL_FIELDS[:5] if settings.wechat_platform_mode == "certificate" else CHANNEL_FIELDS
    )
    missing = [env_var(name) for name in needed if not getattr(settings, name)]
    wechat_wanted = len(missing) < len(needed) or not settings.alipay_app_id
    if missing and wechat_wanted:  # Alipay alone is a complete configuration
        notes.append(f"jubao serve / worker need WeChat Pay settings: {', '.join(missing)} unset")
    alipay = [env_var(name) for name in ALIPAY_FIELDS if not getattr(settings, name)]
    if alipay and len(alipay) < len(ALIPAY_FIELDS):
        notes.append(f"the Alipay channel needs: {', '.join(alipay)} unset")
    if not settings.master_key:
        notes.append(
            "JUBAO_MASTER_KEY unset: app secrets are stored in plaintext (docs/security.md)"
        )
    return notes


@click.group()
def config() -> None:
    """The settings in effect (JUBAO_* variables, .env, --env-file)."""


@config.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Print the effective settings (secrets redacted); exit 2 on any bad setting."""
    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()
    rows = effective_settings(settings)
    width = max(len(variable) for variable, _ in rows)
    for variable, shown in rows:
        click.echo(f"{variable:<{width}}  {shown}")
    for note in warnings_for(settings):
        click.echo(f"warning: {note}", err=True)
    click.echo("settings OK", err=True)
