"""The command line (``jubao``), above every package it uses: one module per command group,
assembled in ``jubao.cli.main``. Nothing in jubao imports this package."""

from jubao.cli.main import main

__all__ = ["main"]
