"""The gRPC health service, open for load balancers, closed for anyone listing the relay's merchants.

``""`` (the server as a whole) and any name outside ``onlineconnect.tenant.`` answer everybody, as the reference
servicer does: load balancers and Kubernetes probes send no credentials. ``onlineconnect.tenant.<name>`` tells
whether a merchant's ERP is connected, which is that merchant's business, so it takes ``authorization: Bearer
<key>`` metadata:

* a shop key of that tenant: the tenant's status;
* an operator token (``[[operators]]`` in the gateway's config): any tenant's status;
* anything else (no key, an unknown key, another tenant's shop key, an agent token): ``NOT_FOUND``, the very
  answer a tenant the gateway does not serve gets. Without credentials a real and a made-up name cannot be told
  apart, and nobody learns a merchant's uptime.

``Watch`` follows the same rule: an unauthorised watch of a tenant gets ``SERVICE_UNKNOWN`` and then nothing, as
a watch of an unknown name does. Statuses are still set with :meth:`set` (the registry, drain and cluster do),
and credentials are read from the configuration in force, so a reload applies to the next check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

from .auth import bearer
from .config import GatewayConfig, hash_secret
from .registry import tenant_health_name

TENANT_PREFIX = tenant_health_name("")
# Never set by the gateway (health names set are "" and TENANT_PREFIX + tenant): what an unauthorised caller
# watches or checks instead, so it gets exactly what an unknown name gets.
_UNKNOWN = health_pb2.HealthCheckRequest(service="\0unknown")


class GatewayHealth(HealthServicer):  # type: ignore[misc]
    """``grpc.health.v1.Health`` with per-tenant statuses visible only to that tenant's shops and to operators.

    Args:
        config: Returns the configuration in force (it changes on reload).
    """

    def __init__(self, config: Callable[[], GatewayConfig]) -> None:
        super().__init__()
        self._config = config

    def may_see(self, service: str, metadata: Any) -> bool:
        """True if a caller with ``metadata`` may learn the status of ``service``.

        Args:
            service: The health service name asked for.
            metadata: The call's invocation metadata.
        """
        if not service.startswith(TENANT_PREFIX):
            return True
        secret = bearer(metadata)
        if secret is None:
            return False
        config = self._config()
        digest = hash_secret(secret)
        if digest in config.operators:
            return True
        shop = config.shops.get(digest)
        return shop is not None and service == tenant_health_name(shop.tenant)

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        """The status of ``request.service``, or ``NOT_FOUND`` (unknown, or not the caller's to see)."""
        if not self.may_see(request.service, context.invocation_metadata()):
            request = _UNKNOWN
        response: health_pb2.HealthCheckResponse = await super().Check(request, context)
        return response

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext) -> None:
        """Streams the status of ``request.service``; ``SERVICE_UNKNOWN`` if unknown or not the caller's to see."""
        if not self.may_see(request.service, context.invocation_metadata()):
            request = _UNKNOWN
        await super().Watch(request, context)
