"""Authentication of shops (API keys) and agents (tokens) from ``authorization: Bearer …`` metadata.

Only SHA-256 hashes of keys and tokens are stored; an incoming secret is hashed and looked up. The credential
tables are replaced as a whole on reload, so a revoked key stops working at the next call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from onlineconnect.errors import PermissionDenied, Unauthenticated

from .config import AgentCredential, GatewayConfig, ShopCredential, hash_secret


def bearer(metadata: Sequence[Any] | None) -> str | None:
    """Extracts the bearer secret from gRPC invocation metadata, or None."""
    for item in metadata or ():
        if item.key == "authorization":
            value = item.value if isinstance(item.value, str) else item.value.decode("latin-1")
            scheme, _, secret = value.partition(" ")
            if scheme.lower() == "bearer" and secret.strip():
                return secret.strip()
            return None
    return None


class Authenticator:
    """Looks up shop keys and agent tokens in the current configuration."""

    def __init__(self, config: GatewayConfig) -> None:
        self.update(config)

    def update(self, config: GatewayConfig) -> None:
        """Swaps in the credentials of a reloaded configuration."""
        self._shops = dict(config.shops)
        self._agents = dict(config.agents)

    def shop(self, metadata: Sequence[Any] | None, method: str) -> ShopCredential:
        """Returns the calling shop's credential.

        Raises:
            Unauthenticated: no or unknown key.
            PermissionDenied: the key may not call ``method``.
        """
        secret = bearer(metadata)
        if secret is None:
            raise Unauthenticated("missing shop API key: send metadata 'authorization: Bearer <key>'")
        cred = self._shops.get(hash_secret(secret))
        if cred is None:
            raise Unauthenticated("invalid shop API key")
        if not cred.allows(method):
            raise PermissionDenied(f"this shop key may not call {method}")
        return cred

    def agent(self, metadata: Sequence[Any] | None, tenant: str) -> AgentCredential:
        """Returns the connecting agent's credential if it may serve ``tenant``.

        Raises:
            Unauthenticated: no or unknown token.
            PermissionDenied: the token does not cover ``tenant``.
        """
        secret = bearer(metadata)
        if secret is None:
            raise Unauthenticated("missing agent token: send metadata 'authorization: Bearer <token>'")
        cred = self._agents.get(hash_secret(secret))
        if cred is None:
            raise Unauthenticated("invalid agent token")
        if tenant not in cred.tenants:
            raise PermissionDenied(f"this agent token may not serve tenant {tenant!r}")
        return cred
