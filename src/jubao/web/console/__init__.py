"""The web console (``/console``): server-rendered pages for operators, behind the admin token.

Light on purpose: the app mounts the console by its prefix and imports ``routes`` (with the pages,
templates and jinja2) on the first request under it (``web/ondemand.py``)."""

PREFIX = "/console"

__all__ = ["PREFIX"]
