"""Request ids in every log line, and the log format (text, or one JSON object per line).

The request id lives in a context variable set by ``jubao.web.requestid`` for the whole request;
tasks the request starts inherit it (the gateway's detached work, channel calls), so every record
made on its behalf carries it. A log-record factory stamps it onto every record, whichever
handler formats it (uvicorn's, a test's capture, ours).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

from jubao.observe.turn_handler import TurnBufferedHandler

__all__ = [
    "LOG_FORMATS",
    "configure_logging",
    "current_request_id",
    "install_request_ids",
    "write_info_directly",
]

LOG_FORMATS = ("text", "json")

request_id_var: ContextVar[str] = ContextVar("jubao_request_id", default="-")

_installed = False
_handler: TurnBufferedHandler | None = None


def current_request_id() -> str:
    """The id of the request being served, ``-`` outside one."""
    return request_id_var.get()


def install_request_ids() -> None:
    """Stamp ``record.request_id`` on every log record from now on. Idempotent."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()
    if previous is logging.LogRecord:
        # the usual case: a subclass, without a wrapper call per record
        logging.setLogRecordFactory(_RequestLogRecord)
    else:

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            record.request_id = request_id_var.get()
            return record

        logging.setLogRecordFactory(factory)
    _installed = True


class _RequestLogRecord(logging.LogRecord):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_id = request_id_var.get()


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class _TextFormatter(logging.Formatter):
    """``TEXT_FORMAT`` with the stdlib's timestamp (``2026-11-30 09:00:00,123``), its date and
    time formatted once per second rather than once per line."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return self.stamp(record.created, record.msecs)

    def stamp(self, created: float, msecs: float) -> str:
        second = int(created)
        if second != self._second:
            self._stamp = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        return f"{self._stamp},{int(msecs):03d}"  # the stdlib's default_msec_format


def write_info_directly(logger: logging.Logger, message: str) -> bool:
    """Write ``message`` as an INFO record of ``logger`` would appear in the text format, straight
    to jubao's own handler, when no one else could see that record (jubao's handler alone on the
    root, no filter or other handler on the way, text format). The same line, without the record,
    the caller lookup and the handler chain: the gateway's request line, once per request
    (docs/benchmarks.md). False: log it the usual way."""
    handler = _handler
    if handler is None or handler.level > logging.INFO or handler.filters:
        return False
    formatter = handler.formatter
    if not isinstance(formatter, _TextFormatter) or logging.root.handlers != [handler]:
        return False
    current: logging.Logger | None = logger
    while current is not None and current is not logging.root:
        if current.filters or current.handlers or not current.propagate:
            return False
        current = current.parent
    if logging.root.filters:
        return False
    created = time.time()
    msecs = int((created - int(created)) * 1000) + 0.0  # as logging.LogRecord computes it
    stamp = formatter.stamp(created, msecs)
    line = f"{stamp} INFO {logger.name} [{request_id_var.get()}] {message}{handler.terminator}"
    handler.hold(line)
    return True


def _json_formatter() -> logging.Formatter:
    import structlog

    def request_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        record = event.get("_record")
        event.setdefault("request_id", getattr(record, "request_id", "-"))
        return event

    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            request_id,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )


def configure_logging(level: str, log_format: str = "text") -> None:
    """The process's root handler: ``text`` (the default, for people) or ``json`` (one object
    per line, for collectors), each with the request id."""
    global _handler
    install_request_ids()
    root = logging.getLogger()
    if any(handler is not _handler for handler in root.handlers):
        return  # configured already by whoever embeds jubao (or a test harness), as basicConfig
    handler = TurnBufferedHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_json_formatter())
    else:
        handler.setFormatter(_TextFormatter())
    # Neither format shows the thread or process: the logging HOWTO's "Optimization" switches,
    # which spare every record a thread and a process lookup.
    # The same section's last switch: no caller lookup (a walk up the stack, file name
    # normalising) for each record; neither format shows a record's file or line.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    _handler = handler
    root.setLevel(level)
    # httpx logs every request at INFO: noise here, and CPU on the hot path
    logging.getLogger("httpx").setLevel(logging.WARNING)
