"""The web console (``/console``): server-rendered pages for operators, behind the admin token."""

from jubao.web.console.routes import console_routes

__all__ = ["console_routes"]
