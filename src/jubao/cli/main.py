"""``jubao``: the root command. ``jubao --help`` lists the commands."""

from __future__ import annotations

import click

from jubao import __version__
from jubao.cli.common import JubaoGroup, accept_global_options, chosen_settings
from jubao.cli.merchants import app, cashier, merchant, store
from jubao.cli.notify import notify
from jubao.cli.payer import pay
from jubao.cli.secrets import secrets
from jubao.cli.servers import migrate, sandbox, serve, simulator, worker
from jubao.cli.vendors import vendor
from jubao.config_check import config
from jubao.observe.logs import configure_logging

__all__ = ["main"]


@click.group(cls=JubaoGroup)
@click.version_option(__version__, prog_name="jubao")
@click.pass_context
def main(ctx: click.Context) -> None:
    """jubao: a self-hosted aggregated payment gateway speaking the Fubei Open API."""
    ctx.obj = chosen_settings(ctx)  # a bad setting stops every command here (exit 2)
    configure_logging(ctx.obj.log_level, ctx.obj.log_format)


for _command in (sandbox, simulator, serve, worker, migrate, merchant, app, store, cashier, pay):
    main.add_command(_command)
for _command in (vendor, notify, secrets, config):
    main.add_command(_command)
accept_global_options(main)
