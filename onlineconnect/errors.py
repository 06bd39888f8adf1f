"""The one exception tree of Online Connect.

Every error that is expected in operation derives from :class:`OnlineConnectError` and carries the gRPC status code
a shop receives for it::

    OnlineConnectError                     (INTERNAL unless a subclass says otherwise)
    ├── InvalidArgument                    INVALID_ARGUMENT  bad request field; message names the field
    ├── NotFound                           NOT_FOUND         unknown or foreign order, document, SKU
    ├── Unauthenticated                    UNAUTHENTICATED   missing or wrong shop key / agent token
    ├── PermissionDenied                   PERMISSION_DENIED credential valid but not for this tenant or RPC
    ├── ResourceExhausted                  RESOURCE_EXHAUSTED rate limit or in-flight cap
    ├── Unavailable                        UNAVAILABLE       no agent, tunnel dropped, ERP database down
    ├── DeadlineExceeded                   DEADLINE_EXCEEDED the caller's deadline passed
    ├── ConfigError                        (startup only)    configuration invalid; message names file and key
    └── EnvelopeError                      (tunnel only)     a sealed frame failed authentication or ordering

Foreign exceptions (``grpc.aio.AioRpcError``, SQLAlchemy and pyodbc errors) are mapped into this tree once, where
they enter: the gateway's tunnel boundary and the agent's database layer.
"""

from __future__ import annotations

import grpc


class OnlineConnectError(Exception):
    """Base class. Unexpected: a bug or an unmapped failure; shops see INTERNAL."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(OnlineConnectError):
    """Expected: a request field is missing or malformed. The message names the field."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(OnlineConnectError):
    """Expected: the thing asked for does not exist or does not belong to the caller (indistinguishable)."""

    code = grpc.StatusCode.NOT_FOUND


class Unauthenticated(OnlineConnectError):
    """Expected: no credential, or one the gateway does not know."""

    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(OnlineConnectError):
    """Expected: a known credential used outside its scope (tenant, RPC)."""

    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(OnlineConnectError):
    """Expected: a rate limit or a cap on requests in flight was hit; retry later."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(OnlineConnectError):
    """Expected: no path to the ERP right now (no agent, tunnel dropped, database down); safe to retry."""

    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(OnlineConnectError):
    """Expected: the answer did not come within the caller's deadline."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class ConfigError(OnlineConnectError):
    """Expected at startup: a configuration or mapping file is invalid. The message names file, key and problem."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class EnvelopeError(OnlineConnectError):
    """Expected under attack or corruption: a sealed frame was forged, tampered, replayed or reordered.

    The tunnel that carried it is closed; the peer must open a new session.
    """

    code = grpc.StatusCode.DATA_LOSS


STATUS_BY_CODE: dict[int, grpc.StatusCode] = {c.value[0]: c for c in grpc.StatusCode}


def status_from_int(code: int) -> grpc.StatusCode:
    """Maps a numeric gRPC status code (as carried on the tunnel) to ``grpc.StatusCode``; unknown ones to UNKNOWN."""
    return STATUS_BY_CODE.get(code, grpc.StatusCode.UNKNOWN)
