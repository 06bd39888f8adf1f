"""Errors on the HTTP listener, mapped once: the relay chain's errors to Connect codes, HTTP statuses and JSON.

The chain raises :class:`~onlineconnect.errors.OnlineConnectError` subclasses carrying a gRPC status; the
Connect protocol names the same codes in lower case and assigns each an HTTP status (``not_found`` 404,
``resource_exhausted`` 429, ``unavailable`` 503, ``deadline_exceeded`` 504 …). The message is the one a gRPC
caller gets, so a foreign order and a missing one stay indistinguishable on both doors. A refusal by a rate
limit or budget also carries ``Retry-After`` in whole seconds.
"""

from __future__ import annotations

import json
import math

import grpc
from connectrpc.code import Code
from connectrpc.errors import ConnectError

from onlineconnect.errors import OnlineConnectError

from .ratelimit import RateLimited

# gRPC status → Connect code (the same names in lower case; CANCELLED loses an L).
CODES: dict[grpc.StatusCode, Code] = {
    s: Code.CANCELED if s == grpc.StatusCode.CANCELLED else Code(s.name.lower())
    for s in grpc.StatusCode
    if s != grpc.StatusCode.OK
}
# Connect code → gRPC status, for reporting calls that connectrpc itself ended (a timeout, a disconnect).
STATUSES: dict[Code, grpc.StatusCode] = {c: s for s, c in CODES.items()}
# Connect code → HTTP status, as the Connect protocol specifies, for answers written without connectrpc.
HTTP_STATUS: dict[Code, int] = {
    Code.CANCELED: 499,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
    Code.UNAUTHENTICATED: 401,
}
# HTTP status of an answer → gRPC status, for the metrics of calls whose handler never reported.
BY_HTTP_STATUS: dict[int, grpc.StatusCode] = {
    200: grpc.StatusCode.OK,
    400: grpc.StatusCode.INVALID_ARGUMENT,
    405: grpc.StatusCode.UNIMPLEMENTED,
    408: grpc.StatusCode.DEADLINE_EXCEEDED,
    415: grpc.StatusCode.UNIMPLEMENTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    499: grpc.StatusCode.CANCELLED,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}


def retry_after(exc: OnlineConnectError) -> str | None:
    """The ``Retry-After`` value (whole seconds, at least 1) for a refused call, or None."""
    if isinstance(exc, RateLimited):
        return str(max(1, math.ceil(exc.retry_after)))
    return None


def connect_error(exc: OnlineConnectError) -> ConnectError:
    """The Connect error for an error of the relay chain: same code, same message as on gRPC."""
    return ConnectError(CODES.get(exc.code, Code.INTERNAL), exc.message)


def error_json(code: Code, message: str) -> bytes:
    """A Connect error as the JSON body of an answer: ``{"code": "not_found", "message": "…"}``."""
    return json.dumps({"code": code.value, "message": message}, ensure_ascii=False).encode()


def error_answer(exc: OnlineConnectError) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """HTTP status, JSON body and extra headers (``retry-after``) for an error of the chain."""
    code = CODES.get(exc.code, Code.INTERNAL)
    headers = [] if (seconds := retry_after(exc)) is None else [(b"retry-after", seconds.encode())]
    return HTTP_STATUS[code], error_json(code, exc.message), headers
