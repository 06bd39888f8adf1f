"""Structured logging for both roles: structlog events, JSON in production, readable console in development.

Events are named ``area.what`` (``tunnel.opened``, ``request.answered``) and carry ids, never secrets or payloads.
A ``request_id`` bound per call follows a shop's call through the gateway and the tunnel into the agent's lines.
"""

from __future__ import annotations

import logging
import sys

import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure(*, fmt: str = "console", level: str = "info", role: str = "") -> None:
    """Configures structlog (and stdlib logging, for grpc and SQLAlchemy) once per process.

    Args:
        fmt: ``console`` (readable, coloured on a TTY) or ``json`` (one object per line).
        level: ``debug``, ``info``, ``warning`` or ``error``.
        role: ``gateway`` or ``agent``; added to every event.
    """
    lvl = _LEVELS.get(level, logging.INFO)
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if role:
        processors.insert(0, lambda _l, _m, ev: {**ev, "role": role} if "role" not in ev else ev)
    if fmt == "json":
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        processors += [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(
        level=max(lvl, logging.WARNING), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
