"""Structured logging for both roles: structlog events, JSON in production, readable console in development.

Events are named ``area.what`` (``tunnel.opened``, ``request.answered``) and carry ids, never secrets or payloads.
A ``request_id`` bound per call follows a shop's call through the gateway and the tunnel into the agent's lines.

One pipeline renders every line a process writes: our own events go through structlog's processors; the records of
standard-library loggers (grpc, SQLAlchemy, NATS, uvicorn, hypercorn, asyncio) and of ``warnings.warn`` go through
the same processors and renderer by structlog's ``ProcessorFormatter``; uncaught and unraisable exceptions are
logged as events. With ``format = "json"`` every line is one JSON object with ``level``, ``event`` and ``timestamp``
(and ``logger``, the standard-library logger's name). Each line is written with a single ``write()``, so lines from
the event loop and from worker threads never interleave. Only what C code prints itself bypasses the pipeline:
gRPC core's errors, and more when an operator sets ``GRPC_VERBOSITY``/``GRPC_TRACE`` (``onlineconnect/__init__.py``
sets ``GRPC_VERBOSITY=ERROR`` unless it is set: newer gRPC releases print informational lines by default).
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class _RootHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root logger's handler installed by :func:`configure` (found again and replaced by a second call)."""


def configure(*, fmt: str = "console", level: str = "info", role: str = "") -> None:
    """Configures structlog and the standard-library loggers once per process.

    Args:
        fmt: ``console`` (readable, coloured on a TTY) or ``json`` (one object per line).
        level: ``debug``, ``info``, ``warning`` or ``error``. Standard-library loggers report from ``warning`` up
            whatever the level: their info lines (grpc, SQLAlchemy, uvicorn) are not events of ours.
        role: ``gateway`` or ``agent``; added to every event.
    """
    lvl = _LEVELS.get(level, logging.INFO)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if role:
        shared.insert(0, _RoleAdder(role))
    rendering: list[Processor]
    if fmt == "json":
        rendering = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        rendering = [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    structlog.configure(
        processors=[*shared, *rendering],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        # WriteLogger writes message and newline in one call, as the standard-library handler below does.
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = _RootHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _RootHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(lvl, logging.WARNING))
    logging.captureWarnings(True)  # warnings.warn (SAWarning, ResourceWarning) as records of logger "py.warnings"
    sys.excepthook = _log_uncaught
    sys.unraisablehook = _log_unraisable
    threading.excepthook = _log_uncaught_in_thread


class _RoleAdder:
    """Adds ``role`` to an event that has none."""

    def __init__(self, role: str) -> None:
        self.role = role

    def __call__(self, _logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
        event.setdefault("role", self.role)
        return event


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    structlog.get_logger().critical("process.uncaught_exception", exc_info=(kind, exc, tb))


def _log_unraisable(args: sys.UnraisableHookArgs) -> None:
    # An exception Python cannot raise (in __del__, in a callback of the garbage collector).
    exc_info = (args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
    message = args.err_msg or "Exception ignored in"
    structlog.get_logger().error(
        "process.unraisable_exception", message=message, object=repr(args.object), exc_info=exc_info
    )


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    thread = args.thread.name if args.thread is not None else ""
    exc_info = (args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
    structlog.get_logger().error("thread.uncaught_exception", thread=thread, exc_info=exc_info)
